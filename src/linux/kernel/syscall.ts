/** A system call's entry and exit as events around its body (what the trace shows as a syscall). */
import { K } from '../../trace/events.js';
import { ev, type Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';


/** Run `body` as system call `nr` with up to three arguments shown; returns its result. */
export function* syscall(nr: Name, a0: number, a1: number, a2: number, body: () => Gen<number>): Gen<number> {
  yield ev(K.syscall_begin, nr.id, a0, a1, a2);
  const ret = yield* body();
  yield ev(K.syscall_end, nr.id, ret);
  return ret;
}
