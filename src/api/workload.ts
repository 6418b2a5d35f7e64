/**
 * `mmtrace/workload`: the public API for writing a workload module (docs/writing-workloads.md).
 * A module default-exports a `Workload` -- the interface the built-in workloads implement -- and
 * builds its scenario from what is here: processes and threads, syscalls and user accesses
 * (mmtrace/linux), remote reads and writes as requests, ptrace, completions, and the directed
 * gates that force an interleaving.
 *
 * mmtrace loads a module with this specifier resolved to this very file, so the module and
 * mmtrace share one kernel model. Everything here is re-exported from where the built-ins get it.
 */

// The workload interface and its parameters.
export {
  type AccessPath, type ParamSpec, type ParamValue, type Workload, type WorkloadContext, intParam, num, switchParam,
} from '../workloads/workload.js';

// Processes, threads, outsiders (monitors, debuggers), and the requests they make.
export {
  type Process, intern_names, map_filled, outsider, poll, remote_read, remote_write, spawn_process, thread,
} from '../workloads/lib.js';
export { TARGET_ARGV, TARGET_ENVP } from '../workloads/cmdline-poll.js';
export { type RequestResult, request } from '../linux/kernel/request.js';
export { proc_pid_cmdline_read, proc_pid_environ_read } from '../linux/fs/proc/base.js';
export { ptrace_peekdata } from '../linux/kernel/ptrace.js';
export { TaskStruct, fatal_signal_pending } from '../linux/kernel/sched.js';

// Ordering tasks: completions (kernel/sched/completion.c) and directed gates.
export { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
export { type EventPredicate, type Gate, type ObservedEvent, type ObservedOf, by } from '../sim/directed.js';

// The simulator: generators, the running simulation (sleeps in virtual time), interned names.
export type { Gen, Task } from '../sim/task.js';
export { type Name, name, sim } from '../sim/sim.js';
