/** ptrace(PTRACE_PEEKDATA) (kernel/ptrace.c, kernel-spec §8.2): FOLL_FORCE reads. */
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { EIO } from '../include/errno.js';
import { FOLL_FORCE } from '../mm/gup.js';
import { access_remote_vm } from '../mm/access_remote.js';
import { get_task_mm, mmput } from './fork.js';
import { traced } from './ftrace.js';
import { request, type RequestResult } from './request.js';
import type { TaskStruct } from './sched.js';

const OP_PEEK = name('ptrace_peekdata');

/** ptrace_access_vm(): the tracer is always allowed in the model (ptracer_access_allowed). */
export const ptrace_access_vm = traced('ptrace_access_vm', function* (
  tsk: TaskStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number> {
  const mm = get_task_mm(tsk);
  if (!mm) return 0;
  const ret = yield* access_remote_vm(mm, addr, buf, len, gup_flags);
  yield* mmput(mm);
  return ret;
});

/** generic_ptrace_peekdata(): one word, or -EIO when fewer bytes came back. */
export function* ptrace_peekdata(tsk: TaskStruct, addr: number): Gen<RequestResult> {
  return yield* request(OP_PEEK, addr, 8, FOLL_FORCE, function* () {
    const word = new Uint8Array(8);
    const copied = yield* ptrace_access_vm(tsk, addr, word, 8, FOLL_FORCE);
    return { result: copied === 8 ? 8 : -EIO, data: word };
  });
}
