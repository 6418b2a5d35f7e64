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
 * order-0 anonymous folio aborts the collapse (the PMD is restored).
 *
 * File collapse (collapse_file + retract_page_tables, kernel-spec §4.3, §12.4) is below.
 */
import { emit } from '../../trace/vocab/index.js';

import type { Gen } from '../../sim/task.js';
import { PMD_SIZE, PTRS_PER_TABLE, entry_huge, entry_none, entry_pfn, entry_present, pmd_addr } from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import { spin_lock } from '../kernel/locking/spinlock.js';
import { rcu_read_lock } from '../kernel/rcu/tree.js';
import { type Folio, HPAGE_PMD_ORDER, PG_uptodate, folio_alloc, folio_mapcount_dec, folio_put, is_zero_pfn, page_folio } from './folio.js';
import { HPAGE_PMD_NR, map_anon_folio_pmd, thp_vma_allowable } from './huge_memory.js';
import { vm_normal_page } from './internal.js';
import { walk_to_pmd } from './memory.js';
import { type AddressSpace, i_mmap_lock_read, i_mmap_unlock_read, page_cache_add_large, page_cache_replace } from './filemap.js';
import { folio_add_lru } from './swap.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock, vma_start_write } from './mmap_lock.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, mms, vma_lookup } from './mm_types.js';
import { tlb_remove_table_sync_one } from './mmu_gather.js';
import {
  type EntryPtr, entry_ptr, entry_table, pgtable_trans_huge_deposit, pmd_lock, pte_lockptr, read_entry, set_entry,
  spin_unlock,
} from './pgtable.js';
import { pmdp_get_lockless_sync, pte_free_defer, pte_unmap_unlock } from './pgtable_generic.js';

// enum scan_result (reduced)
export const SCAN_SUCCEED = 1;
export const SCAN_VMA_CHECK = 2;
export const SCAN_PMD_NULL = 3;
export const SCAN_PAGE_ANON = 4;
export const SCAN_PAGE_COMPOUND = 5;
export const SCAN_FAIL = 6;

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
  yield emit.tlb_flush({ mm: mm.id, start: haddr, end: haddr + PMD_SIZE });
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
    if (src) folio.copyFrom(src, 0, PAGE_SIZE, i * PAGE_SIZE);
    if (src) yield emit.folio_copy_page({ dst: folio.id, index: i, src: src.id });
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

// --- file THP collapse (kernel-spec §4.3, §12.4) --------------------------------------------------

/**
 * collapse_file(mapping, start), reduced to what kernel-spec §12.4 needs: replace the small
 * page-cache folios of [start, start + 512) by one order-9 page-cache folio, then retract the PTE
 * tables mapping the range (retract_page_tables), then free the old folios.
 *
 * Order: allocate the THP -> it enters the page cache holding the file's bytes (the pages that were
 * not cached: readahead, see page_cache_add_large) -> copy every cached small folio into its place
 * (folio_copy_page) -> xas_store: the range's slots find the THP, the old folios leave the cache ->
 * folio_add_lru -> retract_page_tables -> drop the cache's reference on each old folio.
 *
 * Reduced: folio locks are not modelled (the kernel locks the old folios and the new one, so a
 * fault on the range waits until the collapse is over; here a concurrent fault on another page of
 * the range could map an old folio or the new one meanwhile -- retract_page_tables then leaves that
 * table alone); nor LRU isolation, the refcount check (is_refcount_suitable: an extra reference
 * aborts the kernel's collapse), dirty/writeback checks, rollback, or mmu notifiers. The old
 * folios' PTEs, which the kernel clears earlier with try_to_unmap() (an rmap walk taking each PTL),
 * are cleared inside retract_page_tables under the PTL it takes anyway (the §12.4 picture).
 * Called without any lock of any mm (khugepaged's file scan holds none).
 */
export const collapse_file = traced('collapse_file', function* (mapping: AddressSpace, start: number): Gen<number> {
  if (start % HPAGE_PMD_NR || (start + HPAGE_PMD_NR) * PAGE_SIZE > mapping.data.length) return SCAN_FAIL;
  const olds: Folio[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const old = mapping.i_pages.get(start + i);
    if (!old) continue;
    if (old.order !== 0) return SCAN_PAGE_COMPOUND; // already a large folio
    olds.push(old);
  }
  // alloc_charge_folio(): the new folio, not yet uptodate.
  const folio = yield* folio_alloc(HPAGE_PMD_ORDER, false);
  yield* page_cache_add_large(mapping, folio, start);
  // Copy the cached pages (copy_mc_highpage), in index order.
  for (const old of olds) {
    const i = old.index - start;
    folio.copyFrom(old, 0, PAGE_SIZE, i * PAGE_SIZE);
    yield emit.folio_copy_page({ dst: folio.id, index: i, src: old.id });
  }
  yield* page_cache_replace(mapping, folio, start, olds);
  yield* folio_add_lru(folio);
  // Remove the PTE tables, so the range can be re-faulted (as the THP).
  yield* retract_page_tables(mapping, start, new Set(olds));
  // The collapse succeeded: free the old folios (the page cache's reference; a reader holding its
  // own reference keeps one alive until it puts it).
  for (const old of olds) yield* folio_put(old);
  return SCAN_SUCCEED;
});

/** The PMD-aligned address at which `vma` maps file page `pgoff`, if the whole PMD range lies in it. */
function retract_addr(vma: VmAreaStruct, pgoff: number): number | null {
  if (pgoff < vma.vm_pgoff) return null;
  const addr = vma.vm_start + (pgoff - vma.vm_pgoff) * PAGE_SIZE;
  if (addr % PMD_SIZE !== 0 || vma.vm_end < addr + PMD_SIZE) return null;
  return addr;
}

/**
 * retract_page_tables(mapping, pgoff) (kernel-spec §4.3): for every VMA of any mm that maps the
 * PMD range at file page `pgoff`, unlink and free its PTE table, holding only
 * i_mmap_lock_read(mapping) -- no mmap_lock and no VMA lock of that mm, so the target's readers
 * (the fast path under a VMA read lock, GUP under mmap_lock for read) run concurrently.
 *
 * Per VMA: skip a VMA with an anon_vma (a MAP_PRIVATE mapping written to) or not covering the whole
 * aligned range -> find the PMD, skip unless it points to a PTE table -> pmd_lock -> re-check the
 * PMD still points to that table -> its PTL (nested, if a different lock) -> re-check retractable:
 * still no anon_vma, and every PTE none or mapping one of `olds` (the folios collapse_file
 * replaced; see there) -> clear those PTEs (their mapcounts drop now, their references after the
 * flush) -> pmdp_collapse_flush (PMD cleared, TLB flushed) -> pmdp_get_lockless_sync -> unlock
 * both -> pte_free_defer (freed after an RCU grace period: a walker inside pte_offset_map's RCU
 * section can still take the PTL of the unlinked table and sees the PMD changed).
 * Page-table counters (mm_dec_nr_ptes), uffd-wp and mmu notifiers are not modelled.
 */
export const retract_page_tables = traced('retract_page_tables', function* (
  mapping: AddressSpace, pgoff: number, olds: ReadonlySet<Folio>,
): Gen {
  yield* i_mmap_lock_read(mapping);
  // vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff): the model keeps no i_mmap
  // tree, so the walk is emulated by scanning every mm's VMAs (its maple tree) for the ones whose
  // vm_file is this mapping and that map pgoff. No event: the i_mmap tree is not replay state.
  const targets: VmAreaStruct[] = [];
  for (const mm of mms().values()) {
    for (const vma of mm.mm_mt.overlapping(0, Number.MAX_SAFE_INTEGER)) {
      if (vma.vm_file !== mapping || pgoff < vma.vm_pgoff) continue;
      if (pgoff >= vma.vm_pgoff + (vma.vm_end - vma.vm_start) / PAGE_SIZE) continue;
      targets.push(vma);
    }
  }
  for (const vma of targets) {
    // Written to (MAP_PRIVATE COW): the kernel leaves such VMAs' tables alone.
    if (vma.anon_vma) continue;
    const addr = retract_addr(vma, pgoff);
    if (addr === null) continue;
    const mm = vma.vm_mm;
    if (mm.mm_users === 0) continue; // hpage_collapse_test_exit()
    // find_pmd_or_thp_or_none(): lockless.
    const pmdp = yield* walk_to_pmd(mm, addr);
    if (!pmdp) continue;
    const pmd = yield* read_entry(pmdp, true);
    if (entry_none(pmd) || entry_huge(pmd) || !entry_present(pmd)) continue;
    const pml = yield* pmd_lock(mm, pmdp);
    // Re-check under pmd_lock: a zap (PT_RECLAIM) may have freed the table meanwhile.
    const now = yield* read_entry(pmdp, false);
    if (now !== pmd) {
      yield* spin_unlock(pml);
      continue;
    }
    const table = entry_table(now);
    const ptl = pte_lockptr(mm, now);
    if (ptl !== pml) yield* spin_lock(ptl); // spin_lock_nested(ptl, SINGLE_DEPTH_NESTING)
    let retractable = !vma.anon_vma;
    const mapped: { idx: number; folio: Folio | null }[] = [];
    for (let i = 0; retractable && i < PTRS_PER_TABLE; i++) {
      const pte = table.entries[i]!;
      if (entry_none(pte)) continue;
      const page = entry_present(pte) ? vm_normal_page(vma, pte) : null;
      const folio = page === null ? null : page_folio(page);
      if (!folio || !olds.has(folio)) retractable = false;
      else mapped.push({ idx: i, folio });
    }
    const drop: Folio[] = [];
    if (retractable) {
      // The old folios' mappings go (what try_to_unmap did in the kernel, earlier).
      for (const { idx, folio } of mapped) {
        yield* set_entry({ table, idx }, 0);
        yield* folio_mapcount_dec(folio!); // folio_remove_rmap_pte
        drop.push(folio!);
      }
      yield* set_entry(pmdp, 0); // pmdp_collapse_flush
      yield emit.tlb_flush({ mm: mm.id, start: addr, end: addr + PMD_SIZE });
      yield* pmdp_get_lockless_sync();
    }
    if (ptl !== pml) yield* spin_unlock(ptl);
    yield* spin_unlock(pml);
    if (!retractable) continue;
    for (const folio of drop) yield* folio_put(folio); // the mappings' references, after the flush
    yield* pte_free_defer(table);
  }
  yield* i_mmap_unlock_read(mapping);
});
