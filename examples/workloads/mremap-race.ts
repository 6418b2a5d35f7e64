/**
 * A remote read racing mremap() of the VMA it is reading. The target maps two pages of 'M's at
 * AREA; a monitor reads both; a thread of the target moves the mapping to NEW (MREMAP_MAYMOVE |
 * MREMAP_FIXED) right after the monitor copied from the first page.
 *
 *  - gup: the read holds mmap_lock for read throughout; mremap waits for it: 8192 'M's.
 *  - fast (v1): the read holds the VMA's lock while it copies, and mremap write-locks that VMA, so
 *    it waits for the read too: the same bytes. The diff reports only `aging` (v1 does not mark
 *    what it reads accessed, GUP's FOLL_TOUCH does; --variant=touch adds it).
 *
 *   npx mmtrace record ./examples/workloads/mremap-race.ts --path=gup,fast
 *   npx mmtrace diff traces/mremap-race.db#gup traces/mremap-race.db#fast
 */
import { MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_READ, sys_mremap } from 'mmtrace/linux';
import {
  Completion, type Gate, type Gen, TARGET_ARGV, TARGET_ENVP, type Workload, by, complete_all, map_filled, outsider,
  remote_read, spawn_process, thread, wait_for_completion,
} from 'mmtrace/workload';

const AREA = 0x30000000;
const NEW = 0x40000000;
const PAGES = 2;

const copiedFromArea = by('reader', 'copy', (e) => e.addr >= AREA && e.addr < AREA + PAGE_SIZE);

const mremapRace: Workload = {
  name: 'mremap-race',
  description: 'a remote read of two pages while the target mremap()s them elsewhere',
  params: {},
  schedule(): Gate[] {
    return [
      { task: 'mover', until: copiedFromArea },
      { task: 'reader', after: copiedFromArea, until: by('mover', 'task_exit') },
    ];
  },
  *boot(): Gen {
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      yield* map_filled(target, AREA, PAGES, PROT_READ, 'M');
      yield* complete_all(ready);
    });
    thread(target, 'mover', function* () {
      yield* wait_for_completion(ready);
      yield* sys_mremap(target.mm, AREA, PAGES * PAGE_SIZE, PAGES * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, NEW);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, AREA, PAGES * PAGE_SIZE);
    });
  },
};

export default mremapRace;
