/**
 * Directed workloads the checker and diff tests share: the fast path's fallback part-way through a
 * one-VMA read, with the VMA replaced before the mmap_lock path reads the rest, with mmap_lock
 * held by a writer meanwhile, or with nothing beside it.
 */
import type { Gen } from '../../src/sim/task.js';
import { by, type Gate } from '../../src/sim/directed.js';
import { Completion, complete_all, wait_for_completion } from '../../src/linux/kernel/completion.js';
import { user_access } from '../../src/linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../../src/linux/mm/mmap.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/linux/mm/mmap_lock.js';
import { PAGE_SIZE } from '../../src/linux/mm/mm_types.js';
import { map_filled, outsider, remote_read, spawn_process, thread } from '../../src/workloads/lib.js';
import type { Workload } from '../../src/workloads/workload.js';

export const FALLBACK_AREA = 0x7000_0000;

/** What happens beside the read: nothing, a MAP_FIXED over the VMA, or mmap_lock held for write. */
type Beside = 'alone' | 'remap' | 'writerHeld';

const GATES: Record<Beside, Gate[]> = {
  alone: [],
  // The writer waits for the reader's fallback; the reader then waits for the writer to finish.
  remap: [
    { task: 'writer', until: by('reader', 'fast_path_fallback') },
    { task: 'reader', after: by('reader', 'fast_path_fallback'), until: by('writer', 'task_exit') },
  ],
  // The reader starts once the writer has mmap_lock; the writer lets it go after the reader's fallback.
  writerHeld: [
    { task: 'reader', until: by('writer', 'mmap_lock_acquire_returned') },
    { task: 'writer', after: by('writer', 'mmap_lock_acquire_returned'), until: by('reader', 'fast_path_fallback') },
  ],
};

/**
 * A two-page VMA with only its first page touched, read whole by `reader`, so that the fast path
 * stops at the second page. Beside it, `writer` does nothing, maps the range again (MAP_FIXED)
 * between the fallback and the mmap_lock path's rest, or holds mmap_lock for write, without
 * touching the VMA, from before the read until the fallback.
 */
function fallbackWorkload(beside: Beside): Workload {
  return {
    name: `fallback-${beside}`,
    description: `the fast part of a read, then its fallback (writer: ${beside})`,
    params: {},
    schedule: (): Gate[] => GATES[beside],
    *boot(): Gen {
      const target = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const ready = new Completion();
      thread(target, 'setup', function* () {
        yield* sys_mmap(target.mm, { addr: FALLBACK_AREA, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* user_access(target.mm, FALLBACK_AREA, new Uint8Array(PAGE_SIZE).fill(0x4f), true);
        yield* complete_all(ready);
      });
      if (beside !== 'alone') {
        thread(target, 'writer', function* () {
          yield* wait_for_completion(ready);
          if (beside === 'remap') {
            yield* map_filled(target, FALLBACK_AREA, 2, PROT_READ | PROT_WRITE, 'N');
          } else {
            yield* mmap_write_lock(target.mm);
            yield* mmap_write_unlock(target.mm);
          }
        });
      }
      outsider('reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(target, FALLBACK_AREA, 2 * PAGE_SIZE);
      });
    },
  };
}

export const fallbackRemap = fallbackWorkload('remap');
export const fallbackAlone = fallbackWorkload('alone');
export const fallbackWriterHeld = fallbackWorkload('writerHeld');
