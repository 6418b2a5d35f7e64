/**
 * smp_call_function(func, info, wait=1) for an empty function (kernel/smp.c), as
 * tlb_remove_table_sync_one() uses it (kernel-spec §4.2): an IPI to every other CPU, complete once
 * each has taken it. A CPU with IRQs disabled takes it only when it enables them, so the broadcast
 * waits for every IRQ-off region in progress -- and for nothing else: an RCU read-side section with
 * IRQs enabled does not hold it up (it is not an RCU grace period). One CPU per task here, so "a
 * CPU with IRQs off" is a task with TaskStruct.irqs_disabled > 0.
 */
import { emit } from '../../trace/vocab/index.js';
import { current, name, sim } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { task_of } from './sched.js';

const W_IPI = name('smp_call_function');

interface IpiWait {
  readonly sender: Task;
  /** CPUs (tasks) that have not taken the IPI yet: IRQs were off when it was sent. */
  readonly pending: Set<Task>;
}

function waits(): IpiWait[] {
  return kernel().subsystem('ipi', () => [] as IpiWait[]);
}

/**
 * Send the empty IPI to all other CPUs and wait for it: blocks while some task that had IRQs
 * disabled at the time has not enabled them. The ipi_sync event says how many it waited for.
 */
export function* smp_call_function_sync(): Gen {
  const me = current();
  const pending = new Set<Task>();
  for (const t of sim().tasks) if (t !== me && t.started && task_of(t).irqs_disabled > 0) pending.add(t);
  yield emit.ipi_sync({ waited: pending.size });
  if (pending.size === 0) return;
  const w: IpiWait = { sender: me, pending };
  waits().push(w);
  while (w.pending.size > 0) yield* sim().block(0, W_IPI);
}

/**
 * The IPI is delivered when IRQs come back on: called by local_irq_enable() once the task's IRQ-off
 * depth is 0; wakes senders that waited only for it.
 */
export function* smp_irqs_enabled(t: Task): Gen {
  const list = kernel().subsystems.get('ipi') as IpiWait[] | undefined;
  if (!list || list.length === 0) return;
  for (const w of [...list]) {
    if (!w.pending.delete(t) || w.pending.size > 0) continue;
    list.splice(list.indexOf(w), 1);
    yield* sim().wake(w.sender);
  }
}
