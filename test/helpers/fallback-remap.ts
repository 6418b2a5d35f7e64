/**
 * A directed workload the checker and diff tests share: the fast path's fallback part-way through a
 * one-VMA read, with the VMA replaced before the mmap_lock path reads the rest.
 */
import type { Gen } from '../../src/sim/task.js';
import { by, type Gate } from '../../src/sim/directed.js';
import { Completion, complete_all, wait_for_completion } from '../../src/linux/kernel/completion.js';
import { user_access } from '../../src/linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../../src/linux/mm/mm_types.js';
import { map_filled, outsider, remote_read, spawn_process, thread } from '../../src/workloads/lib.js';
import type { Workload } from '../../src/workloads/workload.js';

/**
 * A two-page VMA with only its first page touched, read whole by `reader` while `writer` maps it
 * again (MAP_FIXED) once the reader's fast path has fallen back at the second page.
 */
export const FALLBACK_AREA = 0x7000_0000;
export const fallbackRemap: Workload = {
  name: 'fallback-remap',
  description: 'the VMA is replaced between the fast part of a read and its fallback',
  params: {},
  // The writer waits for the reader's fallback; the reader then waits for the writer to finish.
  schedule: (): Gate[] => [
    { task: 'writer', until: by('reader', 'fast_path_fallback') },
    { task: 'reader', after: by('reader', 'fast_path_fallback'), until: by('writer', 'task_exit') },
  ],
  *boot(): Gen {
    const target = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      // Two pages, one VMA: only the first is touched, so the fast path stops at the second.
      yield* sys_mmap(target.mm, { addr: FALLBACK_AREA, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(target.mm, FALLBACK_AREA, new Uint8Array(PAGE_SIZE).fill(0x4f), true);
      yield* complete_all(ready);
    });
    thread(target, 'writer', function* () {
      yield* wait_for_completion(ready);
      yield* map_filled(target, FALLBACK_AREA, 2, PROT_READ | PROT_WRITE, 'N');
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, FALLBACK_AREA, 2 * PAGE_SIZE);
    });
  },
};
