/** Helpers shared by workloads: processes, threads and the requests monitors make. */
import { sim } from '../sim/sim.js';
import { kernel } from '../linux/kernel.js';
import type { Gen } from '../sim/task.js';
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

/** execve() a new process; its threads are spawned with `thread()`. */
export function* spawn_process(comm: string, argv: string[], envp: string[]): Gen<Process> {
  const pid = alloc_pid();
  const exe = yield* create_file(`/usr/bin/${comm}`, new TextEncoder().encode(`\x7fELF ${comm} text`.padEnd(8192, '\0')));
  const image: ExecImage = { pid, argv, envp, exe };
  const mm = yield* exec_mm(image);
  return { pid, comm, mm, task: new TaskStruct(pid, comm, mm) };
}

/** A thread of `proc` (shares its mm). */
export function thread(proc: Process, name: string, body: (self: TaskStruct) => Gen): void {
  const ts = new TaskStruct(proc.pid, name, proc.mm);
  sim().spawn(name, () => body(ts), { data: ts });
}

/** A task outside the target (a monitor like ps, a debugger). */
export function outsider(name: string, body: (self: TaskStruct) => Gen): void {
  const ts = new TaskStruct(1, name, null);
  sim().spawn(name, () => body(ts), { data: ts });
}
