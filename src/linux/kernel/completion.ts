/** struct completion (kernel/sched/completion.c): wait until another task says "done". */
import { name, sim } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import { kernel } from '../kernel.js';

const W_COMPLETION = name('wait_for_completion');

export class Completion {
  readonly id = kernel().newId();
  done = 0;
  readonly waiters: Task[] = [];
}

export function* wait_for_completion(x: Completion): Gen {
  const s = sim();
  while (x.done === 0) {
    x.waiters.push(s.running!);
    yield* s.block(x.id, W_COMPLETION);
  }
  if (x.done !== Infinity) x.done--;
}

/** complete_all(): release every present and future waiter. */
export function* complete_all(x: Completion): Gen {
  x.done = Infinity;
  for (const t of x.waiters.splice(0)) yield* sim().wake(t);
}
