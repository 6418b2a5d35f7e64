/**
 * Reverse mapping, reduced to what reclaim and migration need (mm/rmap.c: folio_referenced,
 * folio_referenced_one, kernel-spec §5.3; try_to_unmap_one and the walk try_to_migrate shares).
 *
 * The model has no rmap: no anon_vma chains and no i_mmap interval tree. A "walk over every VMA
 * mapping the folio" is emulated by scanning the page tables of every mm (`mms()`) for leaf entries
 * whose pfn lies in the folio. Two consequences, both deliberate:
 *  - The kernel's walk is kept safe against free_pgtables() by the anon_vma / i_mmap lock (the VMA
 *    is unlinked from the rmap before its tables are freed). With no anon_vma to lock, the scan
 *    reads the upper levels under rcu_read_lock() instead -- page tables are freed after a grace
 *    period (CONFIG_MMU_GATHER_RCU_TABLE_FREE) -- and takes each PTE table's PTL through
 *    pte_offset_map_lock(), whose PMD re-check catches a table removed meanwhile, as
 *    page_vma_mapped_walk() does. Without RCU table freeing the scan can read a freed table (it is
 *    then reported as a use-after-free, an artefact of the emulation, not a kernel bug).
 *  - The rmap lock is never contended (the kernel's try_lock failure, "-1 => KEEP", cannot arise).
 * The VMA of a mapping (for VM_LOCKED / VM_EXEC) is looked up by address in its mm; the kernel has
 * it from the rmap.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  entry_leaf, entry_none, entry_pfn, entry_present, _PAGE_ACCESSED, is_migration_entry, make_swap_pte,
  PMD_LEVEL, PTE_LEVEL, pfn_swap_entry_to_page, pte_dirty, pte_mkold, pte_young, PTRS_PER_TABLE,
} from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import type { SpinLock } from '../kernel/locking/spinlock.js';
import { type Folio, PG_swapcache, folio_mapcount_dec, folio_mark_dirty, folio_put } from './folio.js';
import { lru_gen_enabled } from './lru_gen.js';
import { lru_gen_look_around } from './lru_gen_vmscan.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, VM_LOCKED, mms } from './mm_types.js';
import {
  type EntryPtr, type PageTable, entry_table, pmd_lock, read_entry, read_present_lockless, set_entry, spin_unlock,
} from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';
import { swap_duplicate } from './swapfile.js';

const WARN_UNMAP_ANON = name('WARN_ON_ONCE(folio_test_swapbacked(folio) != folio_test_swapcache(folio))');

/** struct folio_referenced_arg, reduced. */
export interface FolioReferencedArg {
  /** Mappings not visited yet (starts at the folio's mapcount; the walk stops at 0). */
  mapcount: number;
  /** Referencing PTEs/PMDs found (and their young bits cleared). */
  referenced: number;
  /** vm_flags of the VMAs that referenced the folio (VM_LOCKED: one of them is mlocked). */
  vm_flags: number;
}

function maps_folio(v: number, folio: Folio): boolean {
  if (entry_none(v) || !entry_present(v)) return false;
  const pfn = entry_pfn(v);
  return pfn >= folio.pfn && pfn < folio.pfn + folio.nr_pages;
}

/**
 * folio_referenced_one() for one mapping entry (PTE or PMD leaf), with its table lock held:
 * test-and-clear the young bit (ptep_clear_flush_young_notify: x86 does not flush the TLB for
 * it; with the multi-gen LRU a PTE goes through lru_gen_look_around). Returns false to stop the
 * walk (an mlocked VMA: the folio will be activated).
 */
function* referenced_one(
  mm: MmStruct, p: EntryPtr, addr: number, folio: Folio, pra: FolioReferencedArg, ptl: SpinLock,
): Gen<boolean> {
  const v = yield* read_entry(p, false);
  if (!maps_folio(v, folio)) return true;
  const vma = mm.mm_mt.load(addr);
  if (vma && vma.vm_flags & VM_LOCKED) {
    pra.vm_flags |= VM_LOCKED;
    return false;
  }
  if (yield* clear_young_one(vma, p, addr, v, ptl)) {
    pra.referenced++;
    if (vma) pra.vm_flags |= vma.vm_flags & ~VM_LOCKED;
  }
  pra.mapcount--;
  return pra.mapcount > 0;
}

/**
 * Test-and-clear one entry's young bit: for a PTE with the multi-gen LRU through
 * lru_gen_look_around(), which harvests the young PTEs around it too.
 */
function* clear_young_one(vma: VmAreaStruct | undefined, p: EntryPtr, addr: number, v: number, ptl: SpinLock): Gen<boolean> {
  if (lru_gen_enabled() && vma && p.table.level === PTE_LEVEL) return yield* lru_gen_look_around(vma, p, addr, v, ptl);
  if (!pte_young(v)) return false;
  yield* set_entry(p, pte_mkold(v));
  return true;
}

/** The PTE table under pmdp: lock it (with the PMD re-check) if it maps the folio, and visit. */
function* walk_pte_table(mm: MmStruct, pmdp: EntryPtr, table: PageTable, folio: Folio, pra: FolioReferencedArg): Gen<boolean> {
  // Which slots to visit: the kernel computes the address from the folio's index (vma_address);
  // the emulation finds the slots by pfn. Plain reads: the locked re-read below is what counts.
  const slots: number[] = [];
  for (let i = 0; i < PTRS_PER_TABLE; i++) if (maps_folio(table.entries[i]!, folio)) slots.push(i);
  if (slots.length === 0) return true;
  const locked = yield* pte_offset_map_lock(mm, pmdp, table.addrOf(slots[0]!));
  if (!locked) return true;
  const t = locked.ptep.table;
  let go = true;
  for (const i of slots) {
    go = yield* referenced_one(mm, { table: t, idx: i }, t.addrOf(i), folio, pra, locked.ptl);
    if (!go) break;
  }
  yield* pte_unmap_unlock(locked.ptl);
  return go;
}

/** Scan one mm's tables from `table` (level > PTE) down. */
function* walk_level(mm: MmStruct, table: PageTable, folio: Folio, pra: FolioReferencedArg): Gen<boolean> {
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const v = yield* read_present_lockless(table, i);
    if (!v) continue;
    const p: EntryPtr = { table, idx: i };
    if (table.level === PMD_LEVEL) {
      if (entry_leaf(v)) {
        // A PMD-mapped THP: pmdp_clear_flush_young_notify under the PMD lock.
        if (!maps_folio(v, folio)) continue;
        const ptl = yield* pmd_lock(mm, p);
        const go = yield* referenced_one(mm, p, table.addrOf(i), folio, pra, ptl);
        yield* spin_unlock(ptl);
        if (!go) return false;
        continue;
      }
      if (!(yield* walk_pte_table(mm, p, entry_table(v), folio, pra))) return false;
    } else if (table.level > PMD_LEVEL && !entry_leaf(v)) {
      if (!(yield* walk_level(mm, entry_table(v), folio, pra))) return false;
    }
  }
  return true;
}

/**
 * folio_referenced(): how many mappings of the folio had their young bit set (each one is
 * cleared on the way). The caller holds the folio lock and a reference. `pra` gets the vm_flags of
 * the referencing VMAs. Returns the count (never -1 here, see the header).
 */
export const folio_referenced = traced('folio_referenced', function* (
  folio: Folio, pra: FolioReferencedArg,
): Gen<number> {
  pra.mapcount = folio.mapcount;
  pra.referenced = 0;
  pra.vm_flags = 0;
  // !folio_mapped(): nothing maps it, nothing to walk.
  if (pra.mapcount === 0) return 0;
  for (const mm of mms().values()) {
    if (!mm.pgd) continue;
    yield* rcu_read_lock();
    const go = yield* walk_level(mm, mm.pgd, folio, pra);
    yield* rcu_read_unlock();
    if (!go || pra.mapcount <= 0) break;
  }
  return pra.referenced;
});

// --- the emulated rmap walk of try_to_unmap and migration ---------------------------------------

/** Does entry `v` map (present) or stand for (a migration entry) a page of `folio`? */
function entry_of_folio(v: number, folio: Folio, migration: boolean): boolean {
  if (entry_none(v)) return false;
  if (migration ? !is_migration_entry(v) : !entry_present(v)) return false;
  const pfn = migration ? pfn_swap_entry_to_page(v) : entry_pfn(v);
  return pfn >= folio.pfn && pfn < folio.pfn + folio.nr_pages;
}

/**
 * rmap_walk() emulated as folio_referenced's walk above: for every mm, every PTE table holding an entry of
 * `folio` (present mappings, or with `migration` its migration entries) is locked with
 * pte_offset_map_lock (PMD re-check) and `visit` runs for each such slot with the PTL held,
 * re-reading the entry there. PMD leaves are skipped (only small folios migrate or swap).
 */
export function* rmap_walk_ptes(
  folio: Folio, migration: boolean,
  visit: (mm: MmStruct, ptep: EntryPtr, addr: number, v: number) => Gen,
): Gen {
  for (const mm of mms().values()) {
    if (!mm.pgd) continue;
    yield* rcu_read_lock();
    yield* rmap_walk_level(mm, mm.pgd, folio, migration, visit);
    yield* rcu_read_unlock();
  }
}

function* rmap_walk_level(
  mm: MmStruct, table: PageTable, folio: Folio, migration: boolean,
  visit: (mm: MmStruct, ptep: EntryPtr, addr: number, v: number) => Gen,
): Gen {
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    if (entry_none(table.entries[i]!)) continue;
    const p: EntryPtr = { table, idx: i };
    const v = yield* read_entry(p, true);
    if (entry_none(v) || !entry_present(v) || entry_leaf(v)) continue;
    if (table.level === PMD_LEVEL) {
      // The PTE table: which slots to visit is found by pfn (the kernel computes the address
      // from the folio's index, vma_address); the locked re-read is what counts.
      const pte_table = entry_table(v);
      const slots: number[] = [];
      for (let j = 0; j < PTRS_PER_TABLE; j++) if (entry_of_folio(pte_table.entries[j]!, folio, migration)) slots.push(j);
      if (slots.length === 0) continue;
      const locked = yield* pte_offset_map_lock(mm, p, pte_table.addrOf(slots[0]!));
      if (!locked) continue;
      const t = locked.ptep.table;
      for (const j of slots) {
        const ptep: EntryPtr = { table: t, idx: j };
        const now = yield* read_entry(ptep, false);
        if (entry_of_folio(now, folio, migration)) yield* visit(mm, ptep, t.addrOf(j), now);
      }
      yield* pte_unmap_unlock(locked.ptl);
    } else if (table.level > PMD_LEVEL) {
      yield* rmap_walk_level(mm, entry_table(v), folio, migration, visit);
    }
  }
}

/**
 * try_to_unmap(folio, TTU_BATCH_FLUSH) (try_to_unmap_one), folio locked: every PTE mapping the
 * folio is cleared and flushed under its table's PTL (ptep_clear_flush); a dirty PTE dirties the
 * folio; the mapping's mapcount and reference go.
 *  - A page-cache folio leaves nothing behind: a later fault finds it in the page cache again,
 *    and has to lock it first (khugepaged's collapse_file).
 *  - An anonymous folio in the swap cache (reclaim, after add_to_swap) leaves a swap entry for its
 *    slot, which gains a reference (swap_duplicate), exclusive if the page was PageAnonExclusive
 *    (folio_try_share_anon_rmap_pte moves the bit into the entry; it only fails for a
 *    DMA-pinned folio, and nothing pins here). A slot that cannot be referenced puts the PTE back
 *    and ends the walk, leaving the folio mapped.
 * Reduced: TTU_BATCH_FLUSH defers the TLB flush to try_to_unmap_flush(); here each cleared PTE is
 * flushed at once, which no reader can tell apart because the caller holds a reference and the
 * folio lock until after its flush. Anonymous folios outside the swap cache (MADV_FREE's lazyfree
 * ones) are not modelled.
 */
export const try_to_unmap = traced('try_to_unmap', function* (folio: Folio): Gen {
  const swap = folio.anon && (folio.flags & PG_swapcache) !== 0;
  const anon_exclusive = swap && folio.anon_exclusive;
  let aborted = false;
  yield* rmap_walk_ptes(folio, false, function* (mm, ptep, addr, pte) {
    if (aborted) return;
    if (folio.anon && !swap) {
      // An anonymous folio must be in the swap cache to be unmapped (lazyfree is not modelled).
      yield emit.warn({ what: WARN_UNMAP_ANON.id, obj: folio.id });
      aborted = true;
      return;
    }
    yield* set_entry(ptep, 0);
    yield emit.tlb_flush({ mm: mm.id, start: addr, end: addr + PAGE_SIZE });
    if (pte_dirty(pte)) yield* folio_mark_dirty(folio);
    if (swap) {
      if ((yield* swap_duplicate(folio.swap)) < 0) {
        yield* set_entry(ptep, pte);
        aborted = true;
        return;
      }
      folio.anon_exclusive = false;
      yield* set_entry(ptep, make_swap_pte(0, folio.swap, anon_exclusive));
    }
    yield* folio_mapcount_dec(folio); // folio_remove_rmap_pte
    yield* folio_put(folio); // the mapping's reference
  });
});
