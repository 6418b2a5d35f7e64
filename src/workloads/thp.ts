/**
 * Transparent huge pages under remote reads (kernel-spec §12.12, §3.6, §6.6, §7.1).
 *
 * thp-read: the target maps a 2 MiB-aligned anonymous area, asks for THP (MADV_HUGEPAGE) and
 * writes it: one write fault maps an order-9 folio with a PMD leaf. Reclaim's rmap walk
 * (folio_referenced) then makes the PMD old, and a remote reader reads across three pages of it.
 *  - fast: folio_walk_start finds level PMD under pmd_lock and copies the whole span (to the end of
 *    the read, bounded by the PMD entry, the folio and the VMA) in one walk, page by page.
 *  - gup: one follow_huge_pmd per page, each under pmd_lock, each with FOLL_TOUCH -> touch_pmd.
 *    touch_pmd goes through pmdp_set_access_flags, which on x86 writes only for a write access:
 *    a read leaves the old PMD old (config accessFlagsGeneric: the generic version sets it young).
 *  - fast v1 never touches; the `touch` variant calls touch_pmd for a PMD level walk, as GUP does.
 *  - split=1: a target thread mprotects the second half of the THP while the reader is inside. The
 *    mprotect splits the VMA and so write-locks it (fast: it waits for the reader's VMA read lock;
 *    gup: its mmap_write_lock waits for the reader's mmap_read_lock), and only then splits the PMD
 *    (split_huge_pmd): the reader never sees a half-split PMD.
 *  - zero=1: the area is only read before the remote read: the huge zero page. GUP copies its zeros
 *    (follow_huge_pmd returns it); fast (no FW_ZEROPAGE) finds no normal page and falls back.
 */
import { by, type ObservedEvent } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { PMD_SIZE, entry_pfn } from '../linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { type Folio, page_folio } from '../linux/mm/folio.js';
import { MADV_HUGEPAGE, sys_madvise } from '../linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { collapse_huge_page } from '../linux/mm/khugepaged.js';
import { type MmStruct, PAGE_SIZE } from '../linux/mm/mm_types.js';
import { entry_ptr, tables } from '../linux/mm/pgtable.js';
import { kernel, type Kernel } from '../linux/kernel.js';
import { type FolioReferencedArg, folio_referenced } from '../linux/mm/rmap.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, switchParam } from './workload.js';

/** 2 MiB-aligned: one PMD entry maps the whole area. */
export const THP_AREA = 0x60000000;
/** Where the reader starts: 100 bytes before the end of the first page; it reads into the third. */
export const THP_READ_AT = THP_AREA + PAGE_SIZE - 100;
export const THP_READ_LEN = 2 * PAGE_SIZE + 200;

/**
 * The raw PMD entry mapping addr in mm (0 if no PMD table), read without events. `k`: the kernel
 * (tests pass the finished run's).
 */
export function pmd_value(mm: MmStruct, addr: number, k: Kernel = kernel()): number {
  const table = (v: number) => tables(k).get(entry_pfn(v))!;
  const pgd = mm.pgd.entries[entry_ptr(mm.pgd, addr).idx]!;
  if (!pgd) return 0;
  const pud = table(pgd);
  const pudv = pud.entries[entry_ptr(pud, addr).idx]!;
  if (!pudv) return 0;
  const pmd = table(pudv);
  return pmd.entries[entry_ptr(pmd, addr).idx]!;
}

/** The folio a PMD leaf at addr maps. */
function thp_folio(mm: MmStruct, addr: number): Folio {
  return page_folio(entry_pfn(pmd_value(mm, addr)));
}

/** The reader is inside: holds the VMA read lock (fast) or mmap_lock for read (gup). */
const readerInside = (e: ObservedEvent) =>
  e.task === 'reader' && ((e.kind === 'vma_start_read' && e.result === 'ok') || (e.kind === 'mmap_lock_acquire_returned' && e.success));

export const thpRead: Workload = {
  name: 'thp-read',
  description: 'remote reads of a PMD-mapped THP: level PMD under pmd_lock, touch_pmd, a split excluded by the VMA lock',
  params: {
    split: switchParam(0, '1: mprotect the second half of the THP (split_huge_pmd) while the reader is inside'),
    zero: switchParam(0, '1: only read-fault the area first: the huge zero page'),
  },
  schedule(ctx: WorkloadContext) {
    if (num(ctx, 'split') !== 1) return [];
    return [
      { task: 'splitter', until: readerInside },
      // Keep the reader from finishing until the splitter waits for it.
      { task: 'reader', after: readerInside, until: by('splitter', 'sched_block') },
    ];
  },
  *boot(ctx: WorkloadContext): Gen {
    const split = num(ctx, 'split') === 1;
    const zero = num(ctx, 'zero') === 1;
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    const aged = new Completion();
    thread(proc, 'setup', function* () {
      yield* sys_mmap(proc.mm, { addr: THP_AREA, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_madvise(proc.mm, THP_AREA, PMD_SIZE, MADV_HUGEPAGE);
      if (zero) {
        yield* user_access(proc.mm, THP_AREA, new Uint8Array(8), false); // a read fault: the huge zero page
      } else {
        // The first store faults the THP in; the others hit the PMD leaf.
        for (let p = 0; p < 4; p++) yield* user_access(proc.mm, THP_AREA + p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x61 + p), true);
      }
      yield* complete_all(ready);
    });
    outsider('ager', function* () {
      yield* wait_for_completion(ready);
      if (!zero) {
        // Reclaim's rmap walk: test-and-clear the PMD's young bit (pmdp_clear_flush_young_notify).
        const pra: FolioReferencedArg = { mapcount: 0, referenced: 0, vm_flags: 0 };
        yield* folio_referenced(thp_folio(proc.mm, THP_AREA), pra);
      }
      yield* complete_all(aged);
    });
    if (split) {
      thread(proc, 'splitter', function* () {
        yield* wait_for_completion(aged);
        yield* sys_mprotect(proc.mm, THP_AREA + PMD_SIZE / 2, PMD_SIZE / 2, PROT_READ);
      });
    }
    outsider('reader', function* () {
      yield* wait_for_completion(aged);
      yield* remote_read(proc, THP_READ_AT, THP_READ_LEN);
    });
  },
};

/** The ipi-vs-rcu layout: A (small pages, what the reader reads) and B (the THP range K collapses). */
export const IPI_A = 0x70000000;
export const IPI_B = 0x70200000;

/**
 * ipi-vs-rcu (kernel-spec §12.13, §4.2, §7.2): khugepaged (K) collapses B -- a different VMA of the
 * same target, sharing nothing with A -- into a THP while the reader's fast path walks A. After
 * pmdp_collapse_flush, collapse_huge_page calls tlb_remove_table_sync_one(): an IPI broadcast.
 *  - irqOffWalk (v2): the reader walks with IRQs off; the IPI cannot complete until its
 *    local_irq_enable(): K blocks there.
 *  - v1 (RCU-only walk): the reader's rcu_read_lock() does not hold the IPI up: K goes on while the
 *    reader is still inside its RCU section.
 *  - gup: the reader holds mmap_lock for read; K's mmap_write_lock waits for the whole read.
 * The directed schedule lets K run only once the reader is inside its walk (IRQs off, or the RCU
 * section of pte_offset_map), and holds the reader there until K has sent the IPI.
 */
export const ipiVsRcu: Workload = {
  name: 'ipi-vs-rcu',
  description: 'khugepaged collapse of another VMA: its tlb_remove_table_sync_one IPI waits for an IRQ-off walker, not an RCU one',
  params: {},
  schedule(ctx: WorkloadContext) {
    const irqOff = ctx.variant.includes('irqOffWalk');
    const inWalk = (e: ObservedEvent) => e.task === 'reader' && e.kind === (irqOff ? 'local_irq_disable' : 'rcu_read_lock');
    return [
      { task: 'khugepaged', until: inWalk },
      { task: 'reader', after: inWalk, until: by('khugepaged', 'ipi_sync') },
    ];
  },
  *boot(): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(proc, 'setup', function* () {
      const rw = PROT_READ | PROT_WRITE;
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      yield* sys_mmap(proc.mm, { addr: IPI_A, len: 4 * PAGE_SIZE, prot: rw, flags });
      yield* user_access(proc.mm, IPI_A, new Uint8Array(PAGE_SIZE).fill(0x41), true);
      // B: small pages first, THP allowed afterwards, so khugepaged has something to collapse.
      yield* sys_mmap(proc.mm, { addr: IPI_B, len: PMD_SIZE, prot: rw, flags });
      for (let p = 0; p < 2; p++) yield* user_access(proc.mm, IPI_B + p * PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x61 + p), true);
      yield* sys_madvise(proc.mm, IPI_B, PMD_SIZE, MADV_HUGEPAGE);
      yield* complete_all(ready);
    });
    outsider('khugepaged', function* () {
      yield* wait_for_completion(ready);
      yield* collapse_huge_page(proc.mm, IPI_B);
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, IPI_A, 64);
    });
  },
};
