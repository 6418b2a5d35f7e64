/**
 * process-exit (kernel-spec §1.1, §4.1): the target exits while a monitor reads its cmdline. A read
 * in flight holds an mm_users reference, so exit_mmap cannot run under it: the directed schedule
 * lets the target exit in the middle of the monitor's second read, and the monitor's own mmput --
 * the last reference -- runs exit_mmap. Reads before and during the exit return argv; reads after
 * return 0 (the task has no mm).
 */
import type { ObservedEvent } from '../sim/directed.js';
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { exit_mm } from '../linux/kernel/fork.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { PROT_READ, PROT_WRITE } from '../linux/mm/mmap.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { map_filled, outsider, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

const AREA = 0x50000000;
const W_THINK = name('think time');

/** The monitor is inside its second read (it has begun copying). */
const inSecondRead = () => {
  let begun = 0;
  return (e: ObservedEvent) => {
    if (e.task !== 'monitor') return false;
    if (e.kind === 'request_begin') begun++;
    return begun === 2 && e.kind === 'copy';
  };
};

export const processExit: Workload = {
  name: 'process-exit',
  description: 'the target exits during a cmdline read; the reader\'s mmput runs exit_mmap',
  params: { reads: intParam(4, 0, 100000, 'cmdline reads by the monitor') },
  schedule: () => [
    { task: 'main', until: inSecondRead() },
    { task: 'monitor', after: inSecondRead(), until: (e) => e.task === 'main' && e.kind === 'task_exit' },
  ],
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(proc, 'main', function* (self) {
      yield* map_filled(proc, AREA, 4, PROT_READ | PROT_WRITE, 'X');
      yield* complete_all(ready);
      // exit_group: this thread, then the process's own reference.
      yield* exit_mm(self);
      yield* exit_mm(proc.task);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      for (let i = 0; i < num(ctx, 'reads'); i++) {
        yield* proc_pid_cmdline_read(proc.task, 4096);
        yield* sim().sleep(200, W_THINK);
      }
    });
  },
};
