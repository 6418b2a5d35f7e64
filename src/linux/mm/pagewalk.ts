/**
 * folio_walk_start() / folio_walk_end() (mm/pagewalk.c, include/linux/pagewalk.h; kernel-spec §7),
 * with the FW_VMA_LOCKED flag of patch 2/3 of the series (seeds/003): the caller may hold the
 * per-VMA lock instead of mmap_lock, relying on RCU-freed page tables for the lockless upper-level
 * walk and pte_offset_map_lock().
 *
 * The walk finds a present page at one entry and returns its folio with that entry's page-table
 * lock held: the entry cannot change until folio_walk_end(). It does not fault, take a folio
 * reference, touch the folio or check VMA permissions.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  PMD_SIZE, PUD_SIZE, entry_leaf, entry_none, entry_pfn, entry_present,
} from '../arch/x86/include/pgtable_types.js';
import { kernel, variant } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import type { SpinLock } from '../kernel/locking/spinlock.js';
import { current_task } from '../kernel/sched.js';
import { type Folio, is_huge_zero_pfn, is_zero_pfn, page_folio } from './folio.js';
import { vma_pgtable_walk_begin, vma_pgtable_walk_end } from './hugetlb.js';
import { vm_normal_page, vm_normal_page_pmd, vm_normal_page_pud } from './internal.js';
import { mmap_assert_locked, vma_assert_locked } from './mmap_lock.js';
import { type VmAreaStruct, PAGE_SIZE, is_vm_hugetlb_page } from './mm_types.js';
import { type EntryPtr, entry_ptr, entry_table, pmd_lock, pud_lock, read_entry, spin_unlock } from './pgtable.js';
import { pte_offset_map_lock, pte_unmap, pte_unmap_unlock } from './pgtable_generic.js';

// folio_walk_flags_t as in the series' base tree (patch 2/3's context in include/linux/pagewalk.h):
// FW_ZEROPAGE is BIT(0) and the series' FW_VMA_LOCKED takes BIT(1). No flag walks migration
// entries: one is never found, and callers see it as they see a hole (see walk()).
/** Walk shared zeropages (small and huge) as well. */
export const FW_ZEROPAGE = 1 << 0;
/**
 * The caller holds the per-VMA lock instead of the mmap lock. Only valid with RCU-freed page tables
 * (CONFIG_MMU_GATHER_RCU_TABLE_FREE) and not for hugetlb (patch 2/3).
 */
export const FW_VMA_LOCKED = 1 << 1;

export const FW_LEVEL_PTE = 0;
export const FW_LEVEL_PMD = 1;
export const FW_LEVEL_PUD = 2;

export interface FolioWalk {
  /** The exact page (pfn) at the address; null for the shared zero page. */
  page: number | null;
  level: number;
  /** The entry found, and its value. */
  entryp: EntryPtr;
  entry: number;
  vma: VmAreaStruct;
  ptl: SpinLock;
}

const WARN_NO_RCU_TABLE_FREE = name('VM_WARN_ON_ONCE(!IS_ENABLED(CONFIG_MMU_GATHER_RCU_TABLE_FREE))');
const WARN_HUGETLB = name('VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma))');
const WARN_OUTSIDE = name('WARN_ON_ONCE(addr < vma->vm_start || addr >= vma->vm_end)');
const WARN_IRQS_ON = name('lockdep_assert_irqs_disabled() (folio_walk_start, v2)');
/** The lock assertions at the top of folio_walk_start(). */
function* folio_walk_assert(vma: VmAreaStruct, flags: number): Gen {
  if (flags & FW_VMA_LOCKED) {
    if (!kernel().config.CONFIG_MMU_GATHER_RCU_TABLE_FREE) yield emit.warn({ what: WARN_NO_RCU_TABLE_FREE.id, obj: vma.id });
    if (is_vm_hugetlb_page(vma)) yield emit.warn({ what: WARN_HUGETLB.id, obj: vma.id });
    yield* vma_assert_locked(vma);
    // Variant irqOffWalk (v2): the walk must run with IRQs disabled.
    if (variant('irqOffWalk') && current_task().irqs_disabled === 0) {
      yield emit.warn({ what: WARN_IRQS_ON.id, obj: vma.id });
    }
  } else {
    yield* mmap_assert_locked(vma.vm_mm);
  }
}

/** folio_walk_start(): the folio mapped at addr with its entry's lock held, or null. */
export const folio_walk_start = traced('folio_walk_start', function* (
  fw: { result?: FolioWalk }, vma: VmAreaStruct, addr: number, flags: number,
): Gen<Folio | null> {
  yield* folio_walk_assert(vma, flags);
  yield* vma_pgtable_walk_begin(vma);
  const found = yield* walk(vma, addr, flags);
  if (!found) {
    yield* vma_pgtable_walk_end(vma);
    return null;
  }
  fw.result = found.walk;
  return found.folio;
});

/** What a walk found: the folio, and the walk's state for folio_walk_end. */
interface Found {
  folio: Folio;
  walk: FolioWalk;
}

function* walk(vma: VmAreaStruct, addr: number, flags: number): Gen<Found | null> {
  if (addr < vma.vm_start || addr >= vma.vm_end) {
    yield emit.warn({ what: WARN_OUTSIDE.id, obj: vma.id });
    return null;
  }
  const mm = vma.vm_mm;
  // pgd_none_or_clear_bad (P4D folded)
  const pgd = yield* read_entry(entry_ptr(mm.pgd, addr), true);
  if (entry_none(pgd)) return null;
  // PUD: pudp_get; a leaf (or a non-present entry) is re-read under pud_lock.
  const pudp = entry_ptr(entry_table(pgd), addr);
  const pud = yield* read_entry(pudp, true);
  if (entry_none(pud)) return null;
  let table = pud;
  if (!entry_present(pud) || entry_leaf(pud)) {
    const at_pud = yield* walk_pud_leaf(vma, pudp, addr);
    if (!('table' in at_pud)) return at_pud.found;
    table = at_pud.table;
  }
  // PMD: pmdp_get_lockless; a leaf or non-present entry would be re-read under pmd_lock.
  const pmdp = entry_ptr(entry_table(table), addr);
  const pmd = yield* read_entry(pmdp, true);
  if (entry_none(pmd)) return null;
  if (!entry_present(pmd) || entry_leaf(pmd)) {
    const ptl = yield* pmd_lock(mm, pmdp);
    const again = yield* read_entry(pmdp, false); // pmdp_get; level = FW_LEVEL_PMD
    if (entry_none(again)) {
      yield* spin_unlock(ptl);
      return null;
    }
    if (!entry_present(again)) {
      // A PMD migration entry (never installed here: PMD-mapped THPs are not migrated) or an
      // invalidated PMD being split: not found.
      yield* spin_unlock(ptl);
      return null;
    }
    if (entry_leaf(again)) {
      // A PMD-mapped THP: found with pmd_lock held until folio_walk_end; fw->page is the exact subpage.
      const head = vm_normal_page_pmd(vma, again);
      if (head !== null) {
        const page = head + Math.floor((addr % PMD_SIZE) / PAGE_SIZE);
        return { folio: page_folio(head), walk: { page, level: FW_LEVEL_PMD, entryp: pmdp, entry: again, vma, ptl } };
      }
      if (flags & FW_ZEROPAGE && is_huge_zero_pfn(entry_pfn(again))) {
        return { folio: page_folio(entry_pfn(again)), walk: { page: null, level: FW_LEVEL_PMD, entryp: pmdp, entry: again, vma, ptl } };
      }
      yield* spin_unlock(ptl);
      return null;
    }
    yield* spin_unlock(ptl); // a table after all: go down to the PTEs
  }
  const locked = yield* pte_offset_map_lock(mm, pmdp, addr);
  if (!locked) return null;
  const pte = yield* read_entry(locked.ptep, false); // ptep_get
  if (entry_present(pte)) {
    const page = vm_normal_page(vma, pte);
    if (page !== null) {
      return { folio: page_folio(page), walk: { page, level: FW_LEVEL_PTE, entryp: locked.ptep, entry: pte, vma, ptl: locked.ptl } };
    }
    if (flags & FW_ZEROPAGE && is_zero_pfn(entry_pfn(pte))) {
      const zero = entry_pfn(pte);
      return { folio: page_folio(zero), walk: { page: null, level: FW_LEVEL_PTE, entryp: locked.ptep, entry: pte, vma, ptl: locked.ptl } };
    }
  }
  // Not present (a swap or migration entry) or no struct page: not found, and no fault is
  // triggered. A caller that must wait for a migration has to fault: the fast path falls back to
  // GUP, whose faultin_page() reaches do_swap_page() -> migration_entry_wait().
  yield* pte_unmap_unlock(locked.ptl);
  return null;
}

/**
 * folio_walk_start()'s PUD branch (CONFIG_PGTABLE_HAS_HUGE_LEAVES), entered when the lockless read
 * saw a leaf or a non-present entry: pud_lock (page_table_lock), pudp_get again, level PUD.
 * None, or not present (no PUD migration entries exist), or no normal page: not found
 * (`found: null`). A table after all (a racing zap and a fault of another kind): unlock and go on
 * at PMD level with that value. A leaf: found, with pud_lock held until folio_walk_end; fw->page
 * is the exact page within the 1 GiB.
 */
function* walk_pud_leaf(
  vma: VmAreaStruct, pudp: EntryPtr, addr: number,
): Gen<{ found: Found | null } | { table: number }> {
  const ptl = yield* pud_lock(vma.vm_mm);
  const again = yield* read_entry(pudp, false); // pudp_get; level = FW_LEVEL_PUD
  if (entry_present(again) && !entry_leaf(again)) {
    yield* spin_unlock(ptl);
    return { table: again };
  }
  const head = entry_present(again) ? vm_normal_page_pud(vma, again) : null;
  if (head === null) {
    yield* spin_unlock(ptl);
    return { found: null };
  }
  const page = head + Math.floor((addr % PUD_SIZE) / PAGE_SIZE);
  return { found: { folio: page_folio(head), walk: { page, level: FW_LEVEL_PUD, entryp: pudp, entry: again, vma, ptl } } };
}

/** folio_walk_end(): drop the entry's lock (and the PTE mapping's RCU hold). */
export const folio_walk_end = traced('folio_walk_end', function* (fw: FolioWalk, vma: VmAreaStruct): Gen {
  yield* spin_unlock(fw.ptl);
  if (fw.level === FW_LEVEL_PTE) yield* pte_unmap();
  yield* vma_pgtable_walk_end(vma);
});

