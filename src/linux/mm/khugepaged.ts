/**
 * khugepaged's anonymous collapse (mm/khugepaged.c collapse_huge_page, kernel-spec §4.3): replace
 * the PTE table of a 2 MiB-aligned range of a THP VMA by one order-9 folio mapped by a PMD leaf.
 *
 * Order: mmap_read_lock (revalidate) -> mmap_read_unlock -> allocate the THP -> mmap_write_lock ->
 * revalidate -> vma_start_write -> [anon_vma_lock_write] -> pmd_lock -> pmdp_collapse_flush (PMD
 * cleared + TLB flush) -> unlock -> tlb_remove_table_sync_one() -> the PTL of the detached table
 * (through the saved PMD value) -> copy the small pages -> clear the PTEs, drop the small folios
 * -> pmd_lock -> deposit the old table, install the huge PMD -> mmap_write_unlock.
 *
 * Reduced: the anon_vma rwsem, mmu notifiers, LRU isolation, swap-in and the max_ptes_none /
 * max_ptes_shared limits are not modelled; a PTE that is not none, the zero page or an exclusive
 * order-0 anonymous folio aborts the collapse (the PMD is restored). File/shmem collapse
 * (retract_page_tables) is not modelled yet.
 */
import { K } from '../../trace/events.js';
import { ev } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { PMD_SIZE, PTRS_PER_TABLE, entry_huge, entry_none, entry_pfn, entry_present, pmd_addr } from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import { spin_lock } from '../kernel/locking/spinlock.js';
import { rcu_read_lock } from '../kernel/rcu/tree.js';
import { type Folio, HPAGE_PMD_ORDER, PG_uptodate, folio_alloc, folio_mapcount_dec, folio_put, is_zero_pfn, page_folio } from './folio.js';
import { map_anon_folio_pmd, thp_vma_allowable } from './huge_memory.js';
import { walk_to_pmd } from './memory.js';
import { vma_lookup } from './mmap.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock, vma_start_write } from './mmap_lock.js';
import { type MmStruct, PAGE_SIZE } from './mm_types.js';
import { tlb_remove_table_sync_one } from './mmu_gather.js';
import {
  type EntryPtr, entry_ptr, entry_table, pgtable_trans_huge_deposit, pmd_lock, pte_lockptr, read_entry, set_entry,
  spin_unlock,
} from './pgtable.js';
import { pte_unmap_unlock } from './pgtable_generic.js';

// enum scan_result (reduced)
export const SCAN_SUCCEED = 1;
export const SCAN_VMA_CHECK = 2;
export const SCAN_PMD_NULL = 3;
export const SCAN_PAGE_ANON = 4;

/** hugepage_vma_revalidate() + find_pmd_or_thp_or_none(): the PMD slot, if it holds a PTE table. */
function* revalidate(mm: MmStruct, haddr: number): Gen<{ pmdp: EntryPtr } | number> {
  const vma = vma_lookup(mm, haddr);
  if (!vma || !thp_vma_allowable(vma, haddr)) return SCAN_VMA_CHECK;
  const pmdp = yield* walk_to_pmd(mm, haddr);
  if (!pmdp) return SCAN_PMD_NULL;
  const pmd = yield* read_entry(pmdp, true);
  if (entry_none(pmd) || entry_huge(pmd) || !entry_present(pmd)) return SCAN_PMD_NULL;
  return { pmdp };
}

/** collapse_huge_page(mm, address): SCAN_SUCCEED or why not. */
export const collapse_huge_page = traced('collapse_huge_page', function* (mm: MmStruct, address: number): Gen<number> {
  const haddr = pmd_addr(address);
  yield* mmap_read_lock(mm);
  const first = yield* revalidate(mm, haddr);
  yield* mmap_read_unlock(mm);
  if (typeof first === 'number') return first;
  // alloc_charge_folio(): before taking mmap_lock for write.
  const folio = yield* folio_alloc(HPAGE_PMD_ORDER, true, PG_uptodate);
  yield* mmap_write_lock(mm);
  const again = yield* revalidate(mm, haddr);
  if (typeof again === 'number') {
    yield* mmap_write_unlock(mm);
    yield* folio_put(folio);
    return again;
  }
  const vma = vma_lookup(mm, haddr)!;
  const { pmdp } = again;
  // The VMA's readers (the fast path, VMA-locked faults) are gone, and no new ones can come.
  yield* vma_start_write(vma);
  // anon_vma_lock_write(vma->anon_vma): not modelled.
  const pml = yield* pmd_lock(mm, pmdp);
  const _pmd = yield* read_entry(pmdp, false);
  yield* set_entry(pmdp, 0); // pmdp_collapse_flush
  yield ev(K.tlb_flush, mm.id, haddr, haddr + PMD_SIZE);
  yield* spin_unlock(pml);
  // gup_fast (and any IRQ-off walker) may still be looking at the old table: wait them out.
  yield* tlb_remove_table_sync_one();
  // pte_offset_map_lock(mm, &_pmd, ...): the saved value, so the PMD re-check cannot fail.
  const table = entry_table(_pmd);
  const ptl = pte_lockptr(mm, _pmd);
  yield* rcu_read_lock();
  yield* spin_lock(ptl);
  // __collapse_huge_page_isolate(): only none, zero-page and exclusive order-0 anon PTEs here.
  const srcs: (Folio | null)[] = [];
  let ok = true;
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const pte = table.entries[i]!;
    if (entry_none(pte) || is_zero_pfn(entry_pfn(pte))) {
      srcs.push(null);
      continue;
    }
    const src = page_folio(entry_pfn(pte));
    if (!entry_present(pte) || !src.anon || src.order !== 0 || src.mapcount !== 1) {
      ok = false;
      break;
    }
    srcs.push(src);
  }
  if (!ok) {
    yield* pte_unmap_unlock(ptl);
    const p = yield* pmd_lock(mm, pmdp);
    yield* set_entry(pmdp, _pmd); // pmd_populate(): put the table back
    yield* spin_unlock(p);
    yield* mmap_write_unlock(mm);
    yield* folio_put(folio);
    return SCAN_PAGE_ANON;
  }
  // __collapse_huge_page_copy(): every small page into its place in the THP (none: zeros) ...
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const src = srcs[i];
    if (src) folio.data.set(src.data.subarray(0, PAGE_SIZE), i * PAGE_SIZE);
    if (src) yield ev(K.folio_copy_page, folio.id, i, src.id);
  }
  // ... then __collapse_huge_page_copy_succeeded(): clear the PTEs, drop the small folios.
  const drop: Folio[] = [];
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    if (entry_none(table.entries[i]!)) continue;
    yield* set_entry(entry_ptr(table, haddr + i * PAGE_SIZE), 0);
    const src = srcs[i];
    if (src) {
      yield* folio_mapcount_dec(src); // folio_remove_rmap_pte
      drop.push(src);
    }
  }
  yield* pte_unmap_unlock(ptl);
  for (const src of drop) yield* folio_put(src); // free_folio_and_swap_cache
  const p = yield* pmd_lock(mm, pmdp);
  yield* pgtable_trans_huge_deposit(pmdp, table); // the old, now empty table: kept for a split
  yield* map_anon_folio_pmd(folio, pmdp, vma);
  yield* spin_unlock(p);
  yield* mmap_write_unlock(mm);
  return SCAN_SUCCEED;
});
