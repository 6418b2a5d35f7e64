/**
 * khugepaged-collapse (kernel-spec §12.4, its khugepaged form; §4.3, §3.5): khugepaged (K) collapses
 * a file range the target has PTE-mapped into one order-9 page-cache folio (collapse_file) and
 * retracts the PTE table (retract_page_tables: i_mmap_lock_read only -- no mmap_lock, no VMA lock
 * of the target) while a remote reader reads that range. The target maps a 2 MiB-aligned, 2 MiB
 * file range MAP_PRIVATE read-only and reads two pages of it: page-cache resident and PTE-mapped.
 *  - order 0, the reader (fast: folio_walk_start; gup: follow_page_pte) takes the PTL first: K,
 *    unmapping the old folio (try_to_unmap), blocks on it; the reader takes its reference to the
 *    folio and drops the PTL; K clears the PTE and counts the folio's references: the reader's is
 *    one too many, so the collapse aborts (SCAN_PAGE_COUNT) and rolls back. The reader copies the
 *    old page (the file's bytes); the page cache keeps the small folios and the PTE table stays.
 *    holdRef=0: K counts only after the reader's put, and the collapse succeeds: the PMD is cleared
 *    and the table freed with pte_free_defer, after an RCU grace period.
 *  - order 1, K clears the PMD between the reader's lockless PMD read in __pte_offset_map and its
 *    PTL: the pmd_same re-check fails, the walk finds no table; fast falls back, and GUP (the
 *    fallback, or the gup path: the same helper) faults the range in again -- do_read_fault maps
 *    the new THP's page with a PTE (file PMD leaves are not modelled) -- and copies the same file
 *    bytes from the THP. The table the reader locked is freed only after its rcu_read_unlock.
 *  - anon=1: the anonymous form for contrast: K runs collapse_huge_page on the VMA the reader is
 *    reading. It takes mmap_lock for write and write-locks the VMA, so it cannot overlap the read:
 *    fast -- vma_start_write waits for the reader's VMA read lock; gup -- mmap_write_lock waits
 *    for the reader's mmap_lock. The reader copies the small page; the THP comes afterwards.
 * pteFreeImmediate with order 1 (§12.4c): pte_free_defer frees at once, and the walker takes the
 * PTL inside the freed table: a use-after-free.
 */
import { by, type ObservedEvent } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { PMD_SIZE } from '../linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { create_file } from '../linux/mm/filemap.js';
import { collapse_file, collapse_huge_page } from '../linux/mm/khugepaged.js';
import { MADV_HUGEPAGE, sys_madvise } from '../linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { pmdReadInPteMap } from './dontneed-race.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, switchParam } from './workload.js';

/** The file range: 2 MiB-aligned in the file (page 0) and in the target. */
export const KH_FILE = '/data/collapse.bin';
export const KH_AREA = 0x50000000;
/** The anon=1 area (also 2 MiB-aligned). */
export const KH_ANON = 0x54000000;
/** The reader reads 16 bytes of the first page. */
export const KH_READ_AT = 0x80;
export const KH_READ_LEN = 16;
/** Pages of the file range the target reads before the collapse. */
export const KH_TOUCHED = 2;

/** The file's byte at offset o: a letter per page, varied within the page. */
export function khFileByte(o: number): number {
  return 0x41 + ((Math.floor(o / PAGE_SIZE) + (o % 7)) % 26);
}

/** The file's bytes, made once: byte by byte, 2 MiB took some 10 ms of every boot. */
let fileTemplate: Uint8Array | undefined;

/** A copy of the file's bytes for one run (the file keeps the buffer it is given, and may write it). */
function fileBytes(): Uint8Array {
  if (fileTemplate === undefined) {
    fileTemplate = new Uint8Array(PMD_SIZE);
    for (let o = 0; o < fileTemplate.length; o++) fileTemplate[o] = khFileByte(o);
  }
  return fileTemplate.slice();
}

/** The reader holds the VMA read lock (fast) or mmap_lock for read (gup). */
const readerInside = (e: ObservedEvent) =>
  e.task === 'reader' && ((e.kind === 'vma_start_read' && e.result === 'ok') || (e.kind === 'mmap_lock_acquire_returned' && e.success));

export const khugepagedCollapse: Workload = {
  name: 'khugepaged-collapse',
  description: 'khugepaged collapses a file range into a THP and frees its PTE table under a remote read',
  params: {
    order: switchParam(1, '0: the reader takes the PTL first; 1: K clears the PMD between its PMD read and its PTL'),
    anon: switchParam(0, '1: anonymous collapse_huge_page of the VMA being read instead (it waits for the reader)'),
    holdRef: switchParam(1, 'order 0: 1, K counts references while the reader holds one (the collapse aborts); 0, after its put (it succeeds)'),
  },
  schedule(ctx: WorkloadContext) {
    if (num(ctx, 'anon') === 1) {
      return [
        { task: 'khugepaged', until: readerInside },
        // Keep the reader inside until K has come to wait for it.
        { task: 'reader', after: readerInside, until: by('khugepaged', 'sched_block') },
      ];
    }
    if (num(ctx, 'order') === 0) {
      let readerPtl: number | undefined;
      const readerHasPtl = (e: ObservedEvent) => {
        if (e.task !== 'reader' || e.kind !== 'spin_lock' || e.class !== 'ptl') return false;
        readerPtl = e.lock;
        return true;
      };
      const kWaitsForPtl = (e: ObservedEvent) => e.task === 'khugepaged' && e.kind === 'spin_contended' && e.class === 'ptl';
      const readerDropsPtl = (e: ObservedEvent) => e.task === 'reader' && e.kind === 'spin_unlock' && e.lock === readerPtl;
      const collapseReturns = (e: ObservedEvent) => e.task === 'khugepaged' && e.kind === 'call_exit' && e.fn === 'collapse_file';
      return [
        { task: 'khugepaged', until: readerHasPtl },
        // Keep the PTL until K, unmapping the old folio (try_to_unmap), has come to wait for it.
        { task: 'reader', after: readerHasPtl, until: kWaitsForPtl },
        // Past the PTL the reader still holds its reference to the old folio (GUP's try_grab_folio,
        // the fast path's folio_get) until it has copied: K counts the references meanwhile, or
        // (holdRef=0) only after the reader's put.
        num(ctx, 'holdRef') === 1
          ? { task: 'reader', after: readerDropsPtl, until: collapseReturns }
          : { task: 'khugepaged', after: readerDropsPtl, until: by('reader', 'folio_put') },
      ];
    }
    return [
      { task: 'khugepaged', until: pmdReadInPteMap() },
      // Until K has cleared the PMD and handed the table to pte_free_defer: the reader is still in
      // the RCU section of its pte_offset_map, so the grace period has to wait for it.
      { task: 'reader', after: pmdReadInPteMap(), until: by('khugepaged', 'pgtable_free') },
    ];
  },
  *boot(ctx: WorkloadContext): Gen {
    const anon = num(ctx, 'anon') === 1;
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    const file = anon ? null : yield* create_file(KH_FILE, fileBytes());
    thread(proc, 'setup', function* () {
      if (file) {
        yield* sys_mmap(proc.mm, { addr: KH_AREA, len: PMD_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file });
        // Read faults: the pages are read into the page cache and PTE-mapped.
        for (let p = 0; p < KH_TOUCHED; p++) yield* user_access(proc.mm, KH_AREA + p * PAGE_SIZE, new Uint8Array(16), false);
      } else {
        // Small pages first, THP allowed afterwards, so K has something to collapse.
        yield* sys_mmap(proc.mm, { addr: KH_ANON, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        for (let p = 0; p < KH_TOUCHED; p++) yield* user_access(proc.mm, KH_ANON + p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x61 + p), true);
        yield* sys_madvise(proc.mm, KH_ANON, PMD_SIZE, MADV_HUGEPAGE);
      }
      yield* complete_all(ready);
    });
    outsider('khugepaged', function* () {
      yield* wait_for_completion(ready);
      if (file) yield* collapse_file(file, 0);
      else yield* collapse_huge_page(proc.mm, KH_ANON);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, (anon ? KH_ANON : KH_AREA) + KH_READ_AT, KH_READ_LEN);
    });
  },
};
