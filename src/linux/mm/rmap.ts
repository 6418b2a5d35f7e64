/**
 * Reverse mapping, reduced to what reclaim's aging needs (mm/rmap.c: folio_referenced,
 * folio_referenced_one; kernel-spec §5.3).
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
import type { Gen } from '../../sim/task.js';
import {
  entry_leaf, entry_none, entry_pfn, entry_present, PMD_LEVEL, PTE_LEVEL, pte_mkold, pte_young, PTRS_PER_TABLE,
} from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import type { SpinLock } from '../kernel/locking/spinlock.js';
import type { Folio } from './folio.js';
import { lru_gen_enabled } from './lru_gen.js';
import { lru_gen_look_around } from './lru_gen_vmscan.js';
import { type MmStruct, type VmAreaStruct, VM_LOCKED, mms } from './mm_types.js';
import {
  type EntryPtr, type PageTable, entry_table, pmd_lock, read_entry, read_present_lockless, set_entry, spin_unlock,
} from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';

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
