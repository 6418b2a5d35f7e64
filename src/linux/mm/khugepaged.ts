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

import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { PMD_SIZE, PTRS_PER_TABLE, entry_huge, entry_none, entry_pfn, entry_present, pmd_addr } from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import { spin_lock } from '../kernel/locking/spinlock.js';
import { rcu_read_lock } from '../kernel/rcu/tree.js';
import {
  type Folio, HPAGE_PMD_ORDER, PG_dirty, PG_locked, PG_uptodate, folio_alloc, folio_change_flags, folio_get, folio_mapcount_dec,
  folio_put, folio_put_refs, folio_trylock, folio_unlock, is_zero_pfn, page_folio,
} from './folio.js';
import { HPAGE_PMD_NR, map_anon_folio_pmd, thp_vma_allowable } from './huge_memory.js';
import { walk_to_pmd } from './memory.js';
import { type AddressSpace, i_mmap_lock_read, i_mmap_unlock_read, page_cache_add_large, page_cache_replace } from './filemap.js';
import { try_to_unmap } from './rmap.js';
import { folio_add_lru, lru_isolated } from './swap.js';
import { folio_isolate_lru, folio_putback_lru } from './vmscan.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock, vma_start_write } from './mmap_lock.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, mms, vma_lookup } from './mm_types.js';
import { tlb_remove_table_sync_one } from './mmu_gather.js';
import {
  type EntryPtr, entry_ptr, entry_table, pgtable_trans_huge_deposit, pmd_lock, pte_lockptr, read_entry, set_entry,
  spin_unlock,
} from './pgtable.js';
import { pmdp_get_lockless_sync, pte_free_defer, pte_unmap_unlock } from './pgtable_generic.js';

/** Why collapse_file sets PG_locked on its new folio (__folio_set_locked), in the folio_flags event. */
const WHY_COLLAPSE = name('collapse_file');

// enum scan_result (reduced)
export const SCAN_SUCCEED = 1;
export const SCAN_VMA_CHECK = 2;
export const SCAN_PMD_NULL = 3;
export const SCAN_PAGE_ANON = 4;
export const SCAN_PAGE_COMPOUND = 5;
export const SCAN_FAIL = 6;
export const SCAN_PAGE_COUNT = 7;
export const SCAN_PAGE_LOCK = 8;
export const SCAN_DEL_PAGE_LRU = 9;
export const SCAN_TRUNCATED = 10;
export const SCAN_PAGE_FILLED = 11;

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
    if (entry_none(pte) || (entry_present(pte) && is_zero_pfn(entry_pfn(pte)))) {
      srcs.push(null);
      continue;
    }
    // A swap or migration entry: no folio to copy (the kernel swaps pages in before collapsing,
    // __collapse_huge_page_swapin; not modelled), so the collapse fails.
    const src = entry_present(pte) ? page_folio(entry_pfn(pte)) : null;
    if (!src || !src.anon || src.order !== 0 || src.mapcount !== 1) {
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
 * collapse_file(mapping, start) (mm/khugepaged.c, kernel-spec §4.3, §12.4): replace the small
 * page-cache folios of [start, start + 512) by one order-9 page-cache folio, then retract the PTE
 * tables mapping the range (retract_page_tables), then free the old folios. Called without any lock
 * of any mm (khugepaged's file scan holds none).
 *
 * Order, as the kernel does it:
 *  1. allocate the new folio, locked (nobody can find it yet);
 *  2. for each cached old folio, in index order: give up if it is dirty (SCAN_FAIL), locked by
 *     somebody else (folio_trylock: SCAN_PAGE_LOCK), large (SCAN_PAGE_COMPOUND) or truncated
 *     (SCAN_TRUNCATED); pin it and lock it; take it off the LRU (SCAN_DEL_PAGE_LRU); try_to_unmap
 *     it (every PTE mapping it is cleared under its PTL); then count its references: exactly 3
 *     (the pin, the page cache's, the LRU isolation's), or somebody else still holds one -- a
 *     remote reader between its folio get and put -- and the collapse aborts (SCAN_PAGE_COUNT);
 *  3. copy the old pages into the new folio;
 *  4. the new folio becomes uptodate, joins the LRU, and takes the range's page-cache slots;
 *  5. retract_page_tables(); unlock the new folio; the old ones leave with their three references.
 * Any failure in 2 rolls back: every old folio locked so far goes back on the LRU, unlocked and
 * unpinned, and stays in the page cache -- but stays unmapped (try_to_unmap is not undone; the next
 * fault maps it again). Faults on the range wait on the folio locks meanwhile (filemap_read_folio).
 *
 * Reduced: pages of the range that are not cached are not read into small folios first
 * (page_cache_sync_readahead); the new folio takes their bytes from the file directly
 * (page_cache_add_large). So that a fault cannot cache one of them meanwhile behind the collapse's
 * back, the store gives up if one of those slots is taken, as the kernel does for shmem holes
 * (SCAN_PAGE_FILLED). Writeback, private data, mmu notifiers, uffd and memcg charging are not
 * modelled.
 */
export const collapse_file = traced('collapse_file', function* (mapping: AddressSpace, start: number): Gen<number> {
  if (start % HPAGE_PMD_NR || (start + HPAGE_PMD_NR) * PAGE_SIZE > mapping.data.length) return SCAN_FAIL;
  const new_folio = yield* folio_alloc(HPAGE_PMD_ORDER, false);
  yield* folio_change_flags(new_folio, PG_locked, 0, WHY_COLLAPSE); // __folio_set_locked
  const olds: IsolatedFolio[] = [];
  const holes: number[] = [];
  let result = SCAN_SUCCEED;
  for (let index = start; index < start + HPAGE_PMD_NR && result === SCAN_SUCCEED; index++) {
    const folio = mapping.i_pages.get(index);
    if (!folio) holes.push(index);
    else result = yield* isolate_old_folio(mapping, folio, olds);
  }
  if (result !== SCAN_SUCCEED) {
    yield* collapse_file_rollback(new_folio, olds);
    return result;
  }
  yield* page_cache_add_large(mapping, new_folio, start); // the holes' bytes, uptodate
  for (const { folio: old } of olds) {
    const i = old.index - start;
    new_folio.copyFrom(old, 0, PAGE_SIZE, i * PAGE_SIZE); // copy_mc_highpage
    yield emit.folio_copy_page({ dst: new_folio.id, index: i, src: old.id });
  }
  yield* folio_add_lru(new_folio);
  if (!(yield* page_cache_replace(mapping, new_folio, start, olds.map((o) => o.folio), holes))) {
    new_folio.mapping = null;
    yield* collapse_file_rollback(new_folio, olds);
    return SCAN_PAGE_FILLED;
  }
  yield* retract_page_tables(mapping, start);
  yield* folio_unlock(new_folio);
  // Isolation cleared PG_active already, and PG_unevictable is not modelled.
  for (const { folio: old } of olds) {
    yield* folio_unlock(old);
    lru_isolated().delete(old);
    yield* folio_put_refs(old, 3); // the pin, the page cache's, the isolation's
  }
  return SCAN_SUCCEED;
});

/** An old folio collapse_file holds: locked, pinned, off the LRU (and whether it was active there). */
interface IsolatedFolio {
  folio: Folio;
  active: boolean;
}

/**
 * Step 2 of collapse_file for one cached small folio: lock, pin, isolate and unmap it, then check
 * that nobody else holds a reference. On success it joins `olds` (locked, pinned, isolated).
 */
function* isolate_old_folio(mapping: AddressSpace, folio: Folio, olds: IsolatedFolio[]): Gen<number> {
  // khugepaged only collapses read-only files: a dirty page has not been written back yet.
  if (folio.flags & PG_dirty) return SCAN_FAIL;
  if (!(yield* folio_trylock(folio))) return SCAN_PAGE_LOCK;
  yield* folio_get(folio);
  const refused = folio.order !== 0 ? SCAN_PAGE_COMPOUND : folio.mapping !== mapping ? SCAN_TRUNCATED : SCAN_SUCCEED;
  if (refused !== SCAN_SUCCEED) {
    yield* unlock_and_unpin(folio);
    return refused;
  }
  const isolated = yield* folio_isolate_lru(folio);
  if (!isolated.ok) {
    yield* unlock_and_unpin(folio);
    return SCAN_DEL_PAGE_LRU;
  }
  if (folio.mapcount > 0) yield* try_to_unmap(folio);
  const onlyOurs = folio._refcount === 3; // the pin, the page cache's, the isolation's
  if (!onlyOurs) {
    yield* folio_putback_lru(folio, isolated.active);
    yield* unlock_and_unpin(folio);
    return SCAN_PAGE_COUNT;
  }
  olds.push({ folio, active: isolated.active });
  return SCAN_SUCCEED;
}

function* unlock_and_unpin(folio: Folio): Gen {
  yield* folio_unlock(folio);
  yield* folio_put(folio);
}

/** collapse_file's rollback: the old folios back on the LRU, unlocked, unpinned; the new one freed. */
function* collapse_file_rollback(new_folio: Folio, olds: readonly IsolatedFolio[]): Gen {
  for (const { folio, active } of olds) {
    yield* folio_unlock(folio);
    yield* folio_putback_lru(folio, active);
    yield* folio_put(folio);
  }
  yield* folio_unlock(new_folio);
  yield* folio_put(new_folio);
}

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
 * The table is empty by now: collapse_file unmapped every old folio (try_to_unmap) and still holds
 * the new folio locked, so a fault on the range waits in filemap_read_folio rather than mapping
 * anything. Per VMA: skip a VMA with an anon_vma (a MAP_PRIVATE mapping written to) or not covering
 * the whole aligned range -> find the PMD, skip unless it points to a PTE table -> pmd_lock -> check
 * the PMD still points to a table (check_pmd_state: a zap may have freed the empty table and a fault
 * installed another, which is just as empty) -> its PTL (nested, if a different lock) -> re-check
 * the anon_vma -> pmdp_collapse_flush (PMD cleared, TLB flushed) -> pmdp_get_lockless_sync ->
 * unlock both -> pte_free_defer (freed after an RCU grace period: a walker inside pte_offset_map's
 * RCU section can still take the PTL of the unlinked table and sees the PMD changed).
 * Page-table counters (mm_dec_nr_ptes), uffd-wp and mmu notifiers are not modelled.
 */
export const retract_page_tables = traced('retract_page_tables', function* (mapping: AddressSpace, pgoff: number): Gen {
  yield* i_mmap_lock_read(mapping);
  for (const vma of vmas_mapping(mapping, pgoff)) {
    // Written to (MAP_PRIVATE COW): the kernel leaves such VMAs' tables alone.
    if (vma.anon_vma) continue;
    const addr = retract_addr(vma, pgoff);
    if (addr === null) continue;
    const mm = vma.vm_mm;
    // find_pmd_or_thp_or_none(): lockless.
    const pmdp = yield* walk_to_pmd(mm, addr);
    if (!pmdp || !pmd_maps_table(yield* read_entry(pmdp, true))) continue;
    if (mm.mm_users === 0) continue; // hpage_collapse_test_exit()
    const pml = yield* pmd_lock(mm, pmdp);
    const pmd = yield* read_entry(pmdp, false);
    if (!pmd_maps_table(pmd)) {
      yield* spin_unlock(pml);
      continue;
    }
    const table = entry_table(pmd);
    const ptl = pte_lockptr(mm, pmd);
    if (ptl !== pml) yield* spin_lock(ptl); // spin_lock_nested(ptl, SINGLE_DEPTH_NESTING)
    const retract = !vma.anon_vma;
    if (retract) {
      yield* set_entry(pmdp, 0); // pmdp_collapse_flush
      yield emit.tlb_flush({ mm: mm.id, start: addr, end: addr + PMD_SIZE });
      yield* pmdp_get_lockless_sync();
    }
    if (ptl !== pml) yield* spin_unlock(ptl);
    yield* spin_unlock(pml);
    if (retract) yield* pte_free_defer(table);
  }
  yield* i_mmap_unlock_read(mapping);
});

/** check_pmd_state(): the PMD points to a PTE table (not none, not a leaf, present). */
function pmd_maps_table(pmd: number): boolean {
  return !entry_none(pmd) && !entry_huge(pmd) && entry_present(pmd);
}

/**
 * vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff): the model keeps no i_mmap tree,
 * so the walk is emulated by scanning every mm's VMAs (its maple tree) for the ones whose vm_file
 * is this mapping and that map pgoff. No event: the i_mmap tree is not replay state.
 */
function vmas_mapping(mapping: AddressSpace, pgoff: number): VmAreaStruct[] {
  const found: VmAreaStruct[] = [];
  for (const mm of mms().values()) {
    for (const vma of mm.mm_mt.overlapping(0, Number.MAX_SAFE_INTEGER)) {
      if (vma.vm_file !== mapping || pgoff < vma.vm_pgoff) continue;
      if (pgoff >= vma.vm_pgoff + (vma.vm_end - vma.vm_start) / PAGE_SIZE) continue;
      found.push(vma);
    }
  }
  return found;
}
