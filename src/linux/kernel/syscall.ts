/** A system call's entry and exit as events around its body (what the trace shows as a syscall). */
import { emit } from '../../trace/vocab/index.js';
import type { Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { framed } from '../../sim/frame.js';

/**
 * Run `body` as system call `nr` with up to three arguments shown; returns its result. A frame
 * (sim/frame.ts): the workload's loop above a system call is not resumed for each of its events.
 */
export const syscall = framed(function* syscall(nr: Name, a0: number, a1: number, a2: number, body: () => Gen<number>): Gen<number> {
  yield emit.syscall_begin({ nr: nr.id, a0, a1, a2 });
  const ret = yield* body();
  yield emit.syscall_end({ nr: nr.id, ret });
  return ret;
});
