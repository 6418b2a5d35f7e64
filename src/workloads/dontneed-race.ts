/**
 * dontneed-race (kernel-spec §12.4, its MADV_DONTNEED form): another target thread zaps the page a
 * remote reader is reading, under the VMA read lock, and frees the PTE table it emptied. Zap and
 * read both hold only the VMA lock (fast) or mmap_lock for read (gup), so they truly overlap.
 *  - order 0, the reader takes the PTL first: the zap waits for it; the read returns the data;
 *    the emptied table is freed after an RCU grace period.
 *  - order 1, the zap lands between the reader's lockless PMD read and its PTL: the PMD re-check in
 *    pte_offset_map_lock fails, the walk finds no table; fast falls back, and GUP (fast's fallback,
 *    or the gup path, which uses the same helper) faults the zero page in: zeros.
 *  - config pteFreeImmediate with order 1: the table is freed at once, and the walker takes the
 *    PTL inside the freed table: a use-after-free, on the fast path and on GUP alike.
 */
import type { EventPredicate, ObservedEvent } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { MADV_DONTNEED, sys_madvise } from '../linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, switchParam } from './workload.js';

/** A 2 MiB-aligned area: one PTE table maps exactly the VMA, so the zap can free it. */
export const AREA = 0x40000000;
const PMD_SPAN = 2 << 20;

/**
 * The reader's PMD read inside __pte_offset_map() -- the lockless read right after its
 * rcu_read_lock() -- that pte_offset_map_lock() re-checks under the PTL. (GUP's follow_page_mask
 * reads the PMD once before that; this is the read the window is about.) Stateful: make one per gate.
 */
export function pmdReadInPteMap(): EventPredicate {
  let afterRcuLock = false;
  return (e) => {
    if (e.task !== 'reader') return false;
    const hit = afterRcuLock && e.kind === 'pgtable_read' && e.level === 'pmd' && e.lockless;
    afterRcuLock = e.kind === 'rcu_read_lock';
    return hit;
  };
}

export const dontneedRace: Workload = {
  name: 'dontneed-race',
  description: 'MADV_DONTNEED zaps and frees the PTE table under a concurrent remote read',
  params: {
    order: switchParam(1, '0: the reader takes the PTL first; 1: the zap lands between its PMD read and its PTL'),
  },
  schedule(ctx: WorkloadContext) {
    const zapped = (e: ObservedEvent) => e.task === 'zapper' && e.kind === 'syscall_end';
    if (num(ctx, 'order') === 0) {
      const readerHasPtl = (e: ObservedEvent) => e.task === 'reader' && e.kind === 'spin_lock' && e.class === 'ptl';
      const zapperWaits = (e: ObservedEvent) => e.task === 'zapper' && e.kind === 'spin_contended';
      return [
        { task: 'zapper', until: readerHasPtl },
        // Keep the PTL until the zap has come to wait for it.
        { task: 'reader', after: readerHasPtl, until: zapperWaits },
      ];
    }
    return [
      { task: 'zapper', until: pmdReadInPteMap() },
      { task: 'reader', after: pmdReadInPteMap(), until: zapped },
    ];
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(proc, 'setup', function* () {
      yield* sys_mmap(proc.mm, { addr: AREA, len: PMD_SPAN, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(proc.mm, AREA, new Uint8Array(PAGE_SIZE).fill(0x44), true);
      yield* complete_all(ready);
    });
    thread(proc, 'zapper', function* () {
      yield* wait_for_completion(ready);
      yield* sys_madvise(proc.mm, AREA, PMD_SPAN, MADV_DONTNEED);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, AREA, 16);
    });
  },
};
