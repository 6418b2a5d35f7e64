/** Helpers shared by workloads: processes, threads and the requests monitors make. */
import { name, sim } from '../sim/sim.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { request, type RequestResult } from '../linux/kernel/request.js';
import { FOLL_WRITE } from '../linux/mm/gup.js';
import { access_process_vm } from '../linux/mm/access_remote.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { kernel } from '../linux/kernel.js';
import type { Gen, Task } from '../sim/task.js';
import { exec_mm, type ExecImage } from '../linux/fs/exec.js';
import { create_file } from '../linux/mm/filemap.js';
import { TaskStruct } from '../linux/kernel/sched.js';
import type { MmStruct } from '../linux/mm/mm_types.js';

export interface Process {
  readonly pid: number;
  readonly comm: string;
  readonly mm: MmStruct;
  /** The main thread's task_struct (what /proc/PID and ptrace name). */
  readonly task: TaskStruct;
}

/** pid allocation (kernel/pid.c), per emulated kernel so every run numbers processes alike. */
function alloc_pid(): number {
  const pids = kernel().subsystem('pids', () => ({ next: 100 }));
  return pids.next++;
}

/**
 * Intern `texts` now, in this order. A run numbers its names by first use; a workload interns the
 * names its schedule watches (a syscall, a wait class) at boot, so they get their ids there, the same
 * on every path, whichever path would use them first.
 */
export function intern_names(...texts: string[]): void {
  for (const text of texts) sim().intern(text);
}

/** execve() a new process; its threads are spawned with `thread()`. */
export function* spawn_process(comm: string, argv: string[], envp: string[]): Gen<Process> {
  const pid = alloc_pid();
  const exe = yield* create_file(`/usr/bin/${comm}`, new TextEncoder().encode(`\x7fELF ${comm} text`.padEnd(8192, '\0')));
  const image: ExecImage = { pid, argv, envp, exe };
  const mm = yield* exec_mm(image);
  return { pid, comm, mm, task: new TaskStruct(pid, comm, mm) };
}

/** A thread of `proc` (shares its mm). Returns the sim task (for schedules and tests). */
export function thread(proc: Process, name: string, body: (self: TaskStruct) => Gen): Task {
  const ts = new TaskStruct(proc.pid, name, proc.mm);
  proc.mm.mm_users++; // copy_mm(CLONE_VM): the thread uses the mm
  return sim().spawn(name, () => body(ts), { data: ts });
}

const W_POLL = name('poll');

/** Sleep one tick at a time until `cond()` holds (a deterministic poll of kernel state). */
export function* poll(cond: () => boolean): Gen {
  while (!cond()) yield* sim().sleep(1, W_POLL);
}

/** A task outside the target (a monitor like ps, a debugger). Returns the sim task. */
export function outsider(name: string, body: (self: TaskStruct) => Gen): Task {
  const ts = new TaskStruct(1, name, null);
  return sim().spawn(name, () => body(ts), { data: ts });
}

/** Map `pages` anonymous pages at `addr` (MAP_FIXED) and fill each with `fillChar`. */
export function* map_filled(proc: Process, addr: number, pages: number, prot: number, fillChar: string): Gen {
  yield* sys_mmap(proc.mm, { addr, len: pages * PAGE_SIZE, prot: prot | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  const page = new Uint8Array(PAGE_SIZE).fill(fillChar.charCodeAt(0));
  for (let p = 0; p < pages; p++) yield* user_access(proc.mm, addr + p * PAGE_SIZE, page, true);
  // Drop write permission afterwards if the caller did not ask for it.
  if (!(prot & PROT_WRITE)) yield* sys_mprotect(proc.mm, addr, pages * PAGE_SIZE, prot);
}

/** A remote read of another process's memory as one request (access_process_vm, like /proc/PID/mem). */
export function* remote_read(target: Process, addr: number, len: number, gup_flags = 0): Gen<RequestResult> {
  return yield* request(OP_REMOTE_READ, addr, len, gup_flags, function* () {
    const buf = new Uint8Array(len);
    const result = yield* access_process_vm(target.task, addr, buf, len, gup_flags);
    return { result, data: buf };
  });
}

/** A remote write (FOLL_WRITE is added) as one request: the result is the bytes written. */
export function* remote_write(target: Process, addr: number, data: Uint8Array, gup_flags = 0): Gen<RequestResult> {
  const flags = gup_flags | FOLL_WRITE;
  return yield* request(OP_REMOTE_WRITE, addr, data.length, flags, function* () {
    const buf = data.slice();
    const result = yield* access_process_vm(target.task, addr, buf, buf.length, flags);
    return { result, data: buf };
  });
}

const OP_REMOTE_READ = name('access_process_vm');
const OP_REMOTE_WRITE = name('access_process_vm_write');
