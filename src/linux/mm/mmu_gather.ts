/**
 * struct mmu_gather (mm/mmu_gather.c, kernel-spec §4.2): pages and page tables unmapped by a zap are
 * gathered, the TLB is flushed, then the pages are released and the tables freed -- after an RCU
 * grace period with CONFIG_MMU_GATHER_RCU_TABLE_FREE (x86), at once without it (safe there only
 * because IRQ-disabled walkers delay the flush IPI; an RCU-only walker then reads freed tables).
 */
import { emit } from '../../trace/vocab/index.js';
import { name, no_event, one_event } from '../../sim/sim.js';
import { framed } from '../../sim/frame.js';
import type { Gen } from '../../sim/task.js';
import { kernel, type TableBatchFail } from '../kernel.js';
import { call_rcu, synchronize_rcu } from '../kernel/rcu/tree.js';
import { smp_call_function_sync } from '../kernel/smp.js';
import { type Folio, folio_put } from './folio.js';
import type { MmStruct } from './mm_types.js';
import { free_swap_cache } from './swap_state.js';
import {
  type PageTable, free_table_now, pgtable_free_queued,
} from './pgtable.js';

const WHAT_TABLE_BATCH = name('tlb_remove_table_rcu');
const WHAT_TABLE_ONE = name('__tlb_remove_table_one_rcu');

export class MmuGather {
  readonly folios: Folio[] = [];
  readonly tables: PageTable[] = [];
  start = Infinity;
  end = 0;
  /** hugetlb (mm/hugetlb.ts): a PUD entry to a shared PMD table was cleared (huge_pmd_unshare). */
  unshared_tables = false;
  /** ... and that left the table with one user: tlb_remove_table_sync_one() before locks drop. */
  fully_unshared_tables = false;

  constructor(
    readonly mm: MmStruct,
    /** Tearing down the whole mm (exit_mmap). */
    readonly fullmm: boolean,
  ) {}
}

export function tlb_gather_mmu(mm: MmStruct, fullmm = false): MmuGather {
  return new MmuGather(mm, fullmm);
}

/**
 * Note a range whose TLB entries must go (__tlb_adjust_range): a present entry cleared or changed
 * (tlb_remove_tlb_entry, tlb_flush_pte_range), or a page table freed (pte_free_tlb and friends
 * add the address the table mapped from).
 */
export function tlb_track_range(tlb: MmuGather, start: number, end: number): void {
  tlb.start = Math.min(tlb.start, start);
  tlb.end = Math.max(tlb.end, end);
}

/** tlb_flush_mmu_tlbonly(): flush the range gathered so far, if any, and start a new one. */
function tlb_flush_mmu_tlbonly(tlb: MmuGather): Gen {
  if (tlb.end === 0) return no_event(undefined);
  emit.tlb_flush({ mm: tlb.mm.id, start: tlb.start, end: tlb.end });
  tlb.start = Infinity;
  tlb.end = 0;
  return one_event(undefined);
}

/**
 * tlb_end_vma(): without MMU_GATHER_MERGE_VMAS (x86) each VMA's zap or protection change ends with
 * a flush of what it changed; the gathered pages stay batched. Not when tearing down the whole mm.
 */
export function tlb_end_vma(tlb: MmuGather): Gen {
  if (tlb.fullmm) return no_event(undefined);
  return tlb_flush_mmu_tlbonly(tlb);
}

/** __tlb_remove_folio: the mapping's reference is dropped after the flush. */
export function tlb_remove_folio(tlb: MmuGather, folio: Folio): void {
  tlb.folios.push(folio);
}

/**
 * tlb_remove_table (via pte_free_tlb / pmd_free_tlb / pud_free_tlb): the table joins the gather's
 * batch, freed after the flush (tlb_table_flush). The batch is a page the kernel allocates with
 * GFP_NOWAIT on first use; when that fails (the `tableBatchFail` fault-injection knob, with RCU
 * table freeing) the TLB is flushed for the range gathered so far (tlb_table_invalidate) and the
 * table is freed on its own, now, by tlb_remove_table_one().
 */
export function* tlb_remove_table(tlb: MmuGather, table: PageTable): Gen {
  const config = kernel().config;
  const fallback = config.tableBatchFail;
  if (fallback === 'none' || !config.CONFIG_MMU_GATHER_RCU_TABLE_FREE || config.pteFreeImmediate) {
    tlb.tables.push(table);
    return;
  }
  // tlb_table_invalidate(): the gathered range is flushed (and reset) before the table goes.
  yield* tlb_flush_mmu_tlbonly(tlb);
  yield* tlb_remove_table_one(table, fallback);
}

/**
 * tlb_remove_table_one() (mm/mmu_gather.c): free one table without a batch, as the kernel of the
 * given kind does:
 *  - `rcu` (CONFIG_PT_RECLAIM, the table's own rcu_head): call_rcu, freed after a grace period --
 *    safe for every lockless walker, as the batch is;
 *  - `sync` (without PT_RECLAIM): synchronize_rcu(), then free -- safe too, at the cost of sleeping
 *    for a grace period in the middle of the zap;
 *  - `ipi` (older kernels): the tlb_remove_table_sync_one() IPI, then free. The IPI waits only for
 *    CPUs with IRQs disabled (GUP-fast, the v2 fast path's irqOffWalk); a walker protected by
 *    rcu_read_lock() alone (pte_offset_map, so v1's folio_walk_start and GUP's follow_page_pte)
 *    does not delay it and goes on to read a freed table. "Semi-RCU": only safe where no RCU-only
 *    walker can be inside, i.e. with mmap_lock held for write.
 */
function* tlb_remove_table_one(table: PageTable, mode: Exclude<TableBatchFail, 'none'>): Gen {
  if (mode === 'rcu') {
    yield* pgtable_free_queued(table);
    yield* call_rcu(WHAT_TABLE_ONE, table.id, () => free_table_now(table, 'rcu_freed'));
  } else if (mode === 'sync') {
    yield* synchronize_rcu();
    yield* free_table_now(table, 'rcu_freed');
  } else {
    yield* tlb_remove_table_sync_one();
    yield* free_table_now(table, 'ipi_synced');
  }
}

/**
 * tlb_batch_pages_flush(): release the gathered folios, once their TLB entries are gone, as
 * free_pages_and_swap_cache() does: a folio no longer mapped that is still in the swap cache (an
 * anonymous page swapped in and not written since) leaves it first, freeing its swap slot, and
 * then the gather's reference is put. A frame (sim/frame.ts): the puts make three events a folio
 * (the last reference, off the LRU, freed) five to seven levels below munmap's traced call, which
 * need not be resumed for each.
 */
const tlb_batch_pages_flush = framed(function* tlb_batch_pages_flush(tlb: MmuGather): Gen {
  for (const folio of tlb.folios.splice(0)) {
    yield* free_swap_cache(folio);
    yield* folio_put(folio);
  }
});

function* tlb_table_flush(tlb: MmuGather): Gen {
  const batch = tlb.tables.splice(0);
  if (batch.length === 0) return;
  const config = kernel().config;
  if (!config.CONFIG_MMU_GATHER_RCU_TABLE_FREE || config.pteFreeImmediate) {
    for (const t of batch) yield* free_table_now(t, 'immediate');
    return;
  }
  for (const t of batch) yield* pgtable_free_queued(t);
  yield* call_rcu(WHAT_TABLE_BATCH, batch[0]!.id, function* () {
    for (const t of batch) yield* free_table_now(t, 'rcu_freed');
  });
}

/**
 * tlb_remove_table_sync_one() (mm/mmu_gather.c, kernel-spec §4.2): an empty IPI broadcast, waited
 * for. It completes once no CPU is inside an IRQ-disabled region (gup_fast, the v2 fast-path walk);
 * it is not an RCU grace period, so a walker protected only by rcu_read_lock() does not delay it.
 */
export function* tlb_remove_table_sync_one(): Gen {
  yield* smp_call_function_sync();
}

/**
 * tlb_finish_mmu() -> tlb_flush_mmu(): flush what is left of the range (the freed tables'), queue
 * the gathered tables for freeing (tlb_table_flush), then put the gathered folios, in the kernel's
 * order.
 */
export function* tlb_finish_mmu(tlb: MmuGather): Gen {
  yield* tlb_flush_mmu_tlbonly(tlb);
  yield* tlb_table_flush(tlb);
  yield* tlb_batch_pages_flush(tlb);
}

// --- hugetlb PMD unsharing (include/asm-generic/tlb.h; added for mm/hugetlb.ts) -------------------

/**
 * tlb_unshare_pmd_ptdesc(): this mm's PUD entry to the shared PMD table `table` was just cleared.
 * Drop the share; the unsharer's TLB must be flushed for the whole PUD range; if the table now has
 * one user left (exclusively owned, free for it to modify and free later), note a full unshare.
 */
export function tlb_unshare_pmd_ptdesc(tlb: MmuGather, table: PageTable, pud_start: number, pud_end: number): void {
  table.pt_share_count--;
  tlb_track_range(tlb, pud_start, pud_end);
  if (table.pt_share_count === 0) tlb.fully_unshared_tables = true;
  tlb.unshared_tables = true;
}

/**
 * tlb_flush_unshared_tables(): called before the unsharer drops the hugetlb VMA lock and
 * i_mmap_rwsem. Flush this mm's TLB now (tlb_flush_mmu_tlbonly: the range is reset, the gathered
 * folios stay batched), and after a full unshare wait for concurrent lockless walkers of the
 * previously-shared table with tlb_remove_table_sync_one() -- the IPI, not an RCU grace period
 * (kernel-spec §4.2).
 */
export function* tlb_flush_unshared_tables(tlb: MmuGather): Gen {
  if (tlb.unshared_tables) {
    yield* tlb_flush_mmu_tlbonly(tlb);
    tlb.unshared_tables = false;
  }
  if (tlb.fully_unshared_tables) {
    yield* tlb_remove_table_sync_one();
    tlb.fully_unshared_tables = false;
  }
}
