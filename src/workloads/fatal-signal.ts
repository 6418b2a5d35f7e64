/**
 * fatal-signal (kernel-spec §12.14, §1.2, §8.1): a target thread holds mmap_lock for write for a long
 * virtual time (a MAP_FIXED remap of a populated range zaps every page under the write lock, as in
 * stuck-writer); once it holds the lock, a monitor starts reading /proc/PID/cmdline, and a killer
 * sends the monitor SIGKILL as soon as the monitor sleeps on mmap_lock -- or, if it never does, as
 * soon as its first read has returned. The monitor then reads again (`reads` reads in all), with
 * the fatal signal pending.
 *
 *  - gup: the first read sleeps in mmap_read_lock_killable; SIGKILL wakes it and the rwsem wait
 *    fails with -EINTR (`rwsem_fail` err -4): __access_remote_vm returns 0, the read returns 0
 *    bytes. Later reads return 0 too: either the killable wait fails at once (the writer still
 *    holds the lock) or GUP sees the pending signal (-EINTR in __get_user_pages).
 *  - fast: the reads never touch mmap_lock (the stack VMA is not write-locked by the remap, and the
 *    argv pages are present), so the first read completes with the full argv while the writer
 *    holds the lock, and later reads do too, signal pending or not: nothing waits killably.
 */
import { sim } from '../sim/sim.js';
import { TaskState, type Gen } from '../sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { fatal_signal_pending } from '../linux/kernel/sched.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, poll, spawn_process } from './lib.js';
import { spawn_remap_writer } from './stuck-writer.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

export const fatalSignal: Workload = {
  name: 'fatal-signal',
  description: 'SIGKILL for a monitor whose cmdline read waits on mmap_lock behind a long writer',
  params: {
    pages: intParam(64, 1, 4096, 'pages the writer populates and then zaps under the write lock'),
    reads: intParam(2, 0, 100000, 'cmdline reads by the monitor (the 2nd and later with SIGKILL pending)'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const pages = num(ctx, 'pages');
    const populated = new Completion();
    const reading = new Completion();
    const firstDone = new Completion();
    spawn_remap_writer(proc, pages, populated);
    const monitor = outsider('monitor', function* () {
      yield* wait_for_completion(populated);
      // The writer's next mmap_lock operation is the remap's write lock: start once it holds it.
      yield* poll(() => mm.mmap_lock.writer !== null);
      yield* complete_all(reading);
      for (let i = 0; i < num(ctx, 'reads'); i++) {
        yield* proc_pid_cmdline_read(proc.task, 4096);
        if (i === 0) {
          yield* complete_all(firstDone);
          // Later reads run with the fatal signal pending.
          yield* poll(() => fatal_signal_pending());
        }
      }
    });
    outsider('killer', function* () {
      yield* wait_for_completion(reading);
      yield* poll(() =>
        (monitor.state === TaskState.Blocked && monitor.blockedOn === mm.mmap_lock.id) || firstDone.done !== 0 ||
        monitor.state === TaskState.Done);
      yield* sim().sendFatalSignal(monitor);
    });
  },
};
