/**
 * A workload module for mmtrace (docs/writing-workloads.md): a scenario of your own, run on the
 * emulated kernel like the built-in workloads. Record it on both paths and compare them:
 *
 *   npx mmtrace record ./__FILE__ --path=gup,fast
 *   npx mmtrace diff traces/__NAME__.db#gup traces/__NAME__.db#fast
 *
 * As it stands: a monitor reads two pages of a target process while a thread of the target
 * unmaps the second page; the directed schedule unmaps right after the first page was copied.
 * Everything runs inside the simulation: no clocks, random numbers, timers or I/O (the tasks'
 * order comes from the seeded strategy and the gates below).
 */
import { PAGE_SIZE, PROT_READ, sys_munmap } from 'mmtrace/linux';
import {
  Completion, type Gate, type Gen, TARGET_ARGV, TARGET_ENVP, type Workload, type WorkloadContext, by, complete_all,
  map_filled, num, outsider, remote_read, spawn_process, switchParam, thread, wait_for_completion,
} from 'mmtrace/workload';

/** Where the target maps the pages the monitor reads: fixed, page-aligned, away from the rest. */
const AREA = 0x20000000;
const PAGES = 2;

const workload: Workload = {
  name: '__NAME__',
  description: 'a remote read of two pages while a thread of the target unmaps the second',
  params: {
    directed: switchParam(1, '1: unmap right after the reader copied the first page; 0: leave the order to the strategy'),
  },

  /**
   * The interleaving this scenario is about, forced on top of the seeded strategy: a gate holds a
   * task back from its `after` event (default: the start) until its `until` event.
   */
  schedule(ctx: WorkloadContext): Gate[] {
    if (!num(ctx, 'directed')) return [];
    const copiedFirstPage = by('reader', 'copy', (e) => e.addr >= AREA && e.addr < AREA + PAGE_SIZE);
    return [
      // The unmapper starts only once the reader has copied from the first page ...
      { task: 'unmapper', until: copiedFirstPage },
      // ... and the reader goes on only once the unmapper is done.
      { task: 'reader', after: copiedFirstPage, until: by('unmapper', 'task_exit') },
    ];
  },

  /** Runs as the first task of a fresh kernel: make the processes, spawn the tasks. */
  *boot(): Gen {
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      yield* map_filled(target, AREA, PAGES, PROT_READ, 'A');
      yield* complete_all(ready);
    });
    thread(target, 'unmapper', function* () {
      yield* wait_for_completion(ready);
      yield* sys_munmap(target.mm, AREA + PAGE_SIZE, PAGE_SIZE);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, AREA, PAGES * PAGE_SIZE);
    });
  },
};

export default workload;
