/** Task helpers for ad-hoc test workloads (they return the sim Task, which lib.ts's helpers do not). */
import { name, sim } from '../../src/sim/sim.js';
import type { Gen, Task } from '../../src/sim/task.js';
import { TaskStruct } from '../../src/linux/kernel/sched.js';
import type { Process } from '../../src/workloads/lib.js';

const W_POLL = name('test poll');

/** A task outside the target process (a monitor, a debugger). */
export function spawnOutsider(taskName: string, body: (self: TaskStruct) => Gen): Task {
  const ts = new TaskStruct(1, taskName, null);
  return sim().spawn(taskName, () => body(ts), { data: ts });
}

/** A thread of `proc` (shares its mm). */
export function spawnThread(proc: Process, taskName: string, body: (self: TaskStruct) => Gen): Task {
  const ts = new TaskStruct(proc.pid, taskName, proc.mm);
  return sim().spawn(taskName, () => body(ts), { data: ts });
}

/** Sleep one tick at a time until `cond()` holds (a deterministic poll on kernel state). */
export function* waitUntil(cond: () => boolean): Gen {
  while (!cond()) yield* sim().sleep(1, W_POLL);
}

/** The argv area as /proc/PID/cmdline returns it: each string NUL-terminated. */
export function cmdlineBytes(argv: string[]): Uint8Array {
  return new TextEncoder().encode(argv.map((s) => s + '\0').join(''));
}
