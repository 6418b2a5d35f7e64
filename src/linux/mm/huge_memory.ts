/**
 * Anonymous transparent huge pages (mm/huge_memory.c, kernel-spec §3.6, §6.6, §10, §12.12): PMD
 * leaves (_PAGE_PSE) mapping an order-9 folio or the huge zero folio, with the PTE table a split
 * will need deposited next to the entry (pgtable_trans_huge_deposit).
 *
 *  - faults: do_huge_pmd_anonymous_page (read: huge zero page; write: a new order-9 folio),
 *    huge_pmd_set_accessed, do_huge_pmd_wp_page (huge zero page: a new THP; exclusive: reuse; else
 *    split and fall back to the PTE fault path);
 *  - touch_pmd, what GUP's FOLL_TOUCH does to a PMD-mapped THP;
 *  - zap_huge_pmd, __split_huge_pmd, change_huge_pmd (the mprotect side);
 *  - PUD leaves (1 GiB): vmf_insert_folio_pud (device-dax's fault, drivers/dax/device.ts),
 *    huge_pud_set_accessed / touch_pud and zap_huge_pud. No anonymous PUD THPs (the kernel has
 *    none either), no split_huge_pud (a device-dax VMA is never split off its 1 GiB alignment,
 *    dev_dax_split, and mprotect / madvise / mremap of one are refused here).
 *
 * Every PMD update happens under pmd_lock, every PUD update under pud_lock (page_table_lock);
 * lockless walkers read the entry, then take its lock and re-read (kernel-spec §3.6).
 */
import { emit } from '../../trace/vocab/index.js';
import { name, no_event } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  entry_clear_bits, entry_flags, entry_huge, entry_none, entry_pfn, entry_present, entry_set_bits,
  mk_entry, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_RW,
  _PAGE_SPECIAL, entry_leaf, pmd_addr, PMD_SIZE, PTE_LEVEL, pte_write, PTRS_PER_TABLE, PUD_SIZE,
} from '../arch/x86/include/pgtable_types.js';
import { traced } from '../kernel/ftrace.js';
import type { SpinLock } from '../kernel/locking/spinlock.js';
import {
  type Folio, HPAGE_PMD_ORDER, PG_uptodate, folio_add_new_anon_rmap, folio_alloc, folio_mapcount_add, folio_mapcount_dec,
  folio_get, folio_lock, folio_mapcount_inc, folio_put, folio_ref_add, folio_trylock, folio_unlock, is_huge_zero_pfn,
  mm_get_huge_zero_folio, page_folio, zero_folio,
} from './folio.js';
import { type VmFault, vmf_anon_prepare } from './internal.js';
import { type MmuGather, tlb_remove_folio, tlb_track_range } from './mmu_gather.js';
import {
  FAULT_FLAG_WRITE, PAGE_SIZE, VM_FAULT_FALLBACK, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_HUGEPAGE, VM_WRITE, type VmAreaStruct,
  is_vm_hugetlb_page, vma_is_anonymous, vm_page_prot,
} from './mm_types.js';
import {
  type EntryPtr, type PageTable, alloc_table, entry_ptr, free_table_now, pgtable_trans_huge_deposit,
  pgtable_trans_huge_withdraw, pmd_lock, pmdp_set_access_flags, pud_lock, pudp_set_access_flags, read_entry, set_entry,
  spin_unlock, table_entry,
} from './pgtable.js';
import { folio_add_lru } from './swap.js';

export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;

export { vm_normal_page_pmd } from './internal.js';

const HOW_THP = name('do_huge_pmd_anonymous_page');
const HOW_THP_ZERO = name('do_huge_pmd_anonymous_page:huge_zero_page');
const HOW_THP_ACCESSED = name('huge_pmd_set_accessed');
const HOW_THP_REUSE = name('do_huge_pmd_wp_page:reuse');
const HOW_THP_ZERO_WP = name('do_huge_zero_wp_pmd');
const HOW_THP_SPLIT = name('do_huge_pmd_wp_page:split');

/**
 * thp_vma_allowable_order(vma, PMD_ORDER) + thp_vma_suitable_order(): an anonymous VMA that asked
 * for THP (MADV_HUGEPAGE; the sysfs "enabled" mode is "madvise") and covers the whole PMD-aligned
 * range around addr. hugetlb VMAs never.
 */
export function thp_vma_allowable(vma: VmAreaStruct, addr: number): boolean {
  if (!vma_is_anonymous(vma) || is_vm_hugetlb_page(vma) || !(vma.vm_flags & VM_HUGEPAGE)) return false;
  const haddr = pmd_addr(addr);
  return haddr >= vma.vm_start && haddr + PMD_SIZE <= vma.vm_end;
}

/** The PMD leaf bits vm_page_prot + pmd_mkhuge give a mapping of this VMA. */
function huge_pmd_flags(vma: VmAreaStruct, writable: boolean): number {
  let flags = vm_page_prot(vma) | _PAGE_PSE;
  if (writable && vma.vm_flags & VM_WRITE) flags |= _PAGE_RW | _PAGE_DIRTY;
  return flags;
}

function* zap_deposited_table(pmdp: EntryPtr): Gen {
  const pgtable = yield* pgtable_trans_huge_withdraw(pmdp);
  yield* free_table_now(pgtable, 'immediate'); // pte_free(): never linked, never walked
}

/** map_anon_folio_pmd(): rmap, LRU, then the PMD (pmd_lock held, the table already deposited). */
export function* map_anon_folio_pmd(folio: Folio, pmdp: EntryPtr, vma: VmAreaStruct): Gen {
  vma.anon_vma = true;
  yield* folio_add_new_anon_rmap(folio); // RMAP_LEVEL_PMD
  yield* folio_add_lru(folio); // folio_add_lru_vma
  yield* set_entry(pmdp, mk_entry(folio.pfn, huge_pmd_flags(vma, true)));
}

/**
 * do_huge_pmd_anonymous_page(): a fault on a none PMD of a THP VMA. Reads map the huge zero page
 * read-only; writes allocate an order-9 folio. Either way a PTE table is allocated up front and
 * deposited with the entry, and the PMD is re-checked none under pmd_lock.
 */
export function* do_huge_pmd_anonymous_page(vmf: VmFault): Gen<number> {
  const vma = vmf.vma;
  const mm = vma.vm_mm;
  const haddr = pmd_addr(vmf.address);
  const ret = yield* vmf_anon_prepare(vmf);
  if (ret) return ret;
  if (!(vmf.flags & FAULT_FLAG_WRITE)) {
    vmf.how = HOW_THP_ZERO;
    const pgtable = yield* alloc_table(PTE_LEVEL, haddr); // pte_alloc_one
    const zero = yield* mm_get_huge_zero_folio();
    const ptl = yield* pmd_lock(mm, vmf.pmdp);
    const now = yield* read_entry(vmf.pmdp, false);
    if (entry_none(now)) {
      // set_huge_zero_folio(): deposit, then the special read-only leaf.
      yield* pgtable_trans_huge_deposit(vmf.pmdp, pgtable);
      yield* set_entry(vmf.pmdp, mk_entry(zero.pfn, huge_pmd_flags(vma, false) | _PAGE_SPECIAL));
      yield* spin_unlock(ptl);
    } else {
      yield* spin_unlock(ptl);
      yield* free_table_now(pgtable, 'immediate');
    }
    return 0;
  }
  vmf.how = HOW_THP;
  // vma_alloc_anon_folio_pmd(): zeroed (clear_huge_page); allocation failure is not modelled.
  const folio = yield* folio_alloc(HPAGE_PMD_ORDER, true, PG_uptodate);
  const pgtable = yield* alloc_table(PTE_LEVEL, haddr);
  const ptl = yield* pmd_lock(mm, vmf.pmdp);
  const now = yield* read_entry(vmf.pmdp, false);
  if (!entry_none(now)) {
    // Somebody mapped something meanwhile (a racing fault).
    yield* spin_unlock(ptl);
    yield* folio_put(folio);
    yield* free_table_now(pgtable, 'immediate');
    return 0;
  }
  yield* pgtable_trans_huge_deposit(vmf.pmdp, pgtable);
  yield* map_anon_folio_pmd(folio, vmf.pmdp, vma); // the allocation's reference is the mapping's
  yield* spin_unlock(ptl);
  return 0;
}

/**
 * touch_pmd() (mm/huge_memory.c): pmd_mkyoung, + pmd_mkdirty for a write, through
 * pmdp_set_access_flags. Called with pmd_lock held -- by GUP's FOLL_TOUCH (follow_huge_pmd) and
 * huge_pmd_set_accessed, and by the fast path's `touch` variant.
 */
export const touch_pmd = traced('touch_pmd', function* (pmdp: EntryPtr, write: boolean): Gen {
  const v = pmdp.table.entries[pmdp.idx]!;
  const entry = entry_set_bits(v, _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)); // pmd_mkyoung (+ pmd_mkdirty)
  yield* pmdp_set_access_flags(pmdp, entry, write);
});

/** huge_pmd_set_accessed(): a fault on a present PMD leaf that needs no COW. */
function* huge_pmd_set_accessed(vmf: VmFault, orig: number): Gen<number> {
  vmf.how = HOW_THP_ACCESSED;
  const ptl = yield* pmd_lock(vmf.vma.vm_mm, vmf.pmdp);
  const now = yield* read_entry(vmf.pmdp, false);
  if (now === orig) yield* touch_pmd(vmf.pmdp, (vmf.flags & FAULT_FLAG_WRITE) !== 0);
  yield* spin_unlock(ptl);
  return 0;
}

/**
 * do_huge_zero_wp_pmd(): a write to the huge zero page maps a new zeroed THP in its place (the
 * deposited table stays deposited).
 */
function* do_huge_zero_wp_pmd(vmf: VmFault, orig: number): Gen<number> {
  vmf.how = HOW_THP_ZERO_WP;
  const vma = vmf.vma;
  const folio = yield* folio_alloc(HPAGE_PMD_ORDER, true, PG_uptodate);
  const ptl = yield* pmd_lock(vma.vm_mm, vmf.pmdp);
  if (!(yield* pmd_unchanged(vmf, orig, ptl))) {
    yield* folio_put(folio);
    return 0;
  }
  yield* set_entry(vmf.pmdp, 0); // pmdp_huge_clear_flush
  yield emit.tlb_flush({ mm: vma.vm_mm.id, start: pmd_addr(vmf.address), end: pmd_addr(vmf.address) + PMD_SIZE });
  yield* map_anon_folio_pmd(folio, vmf.pmdp, vma);
  yield* spin_unlock(ptl);
  return 0;
}

/**
 * do_huge_pmd_wp_page(): a write to a present, write-protected PMD leaf (after mprotect gave write
 * back, or a FOLL_FORCE write through a read-only mapping). The huge zero page gets a new THP. An
 * anonymous THP known to be exclusive (PageAnonExclusive) is reused whatever else holds a
 * reference: a reader's folio_get does not make it shared. One not known to be is reused only when
 * the mapping's is its only reference, under the folio lock; anything else is split and the fault
 * goes on at PTE level, COW per page (VM_FAULT_FALLBACK). Large folios are never in the swap cache
 * here (swap_state.ts), so the kernel's allowance of nr_pages swap-cache references is 0.
 */
function* do_huge_pmd_wp_page(vmf: VmFault, orig: number): Gen<number> {
  const vma = vmf.vma;
  if (is_huge_zero_pfn(entry_pfn(orig))) return yield* do_huge_zero_wp_pmd(vmf, orig);
  let ptl = yield* pmd_lock(vma.vm_mm, vmf.pmdp);
  if (!(yield* pmd_unchanged(vmf, orig, ptl))) return 0;
  const folio = page_folio(entry_pfn(orig));
  // The early check, with only the PMD lock held.
  if (folio.anon_exclusive) return yield* reuse_huge_pmd(vmf, orig, ptl);
  if (!(yield* folio_trylock(folio))) {
    // Sleep for the folio lock without the PMD lock, holding a reference so the folio stays.
    yield* folio_get(folio);
    yield* spin_unlock(ptl);
    yield* folio_lock(folio);
    ptl = yield* pmd_lock(vma.vm_mm, vmf.pmdp);
    if (!(yield* pmd_unchanged(vmf, orig, ptl))) {
      yield* folio_unlock(folio);
      yield* folio_put(folio);
      return 0;
    }
    yield* folio_put(folio);
  }
  // Re-checked: it may have become exclusive while the PMD lock was dropped.
  if (folio.anon_exclusive || folio._refcount === 1) {
    // folio_move_anon_rmap() (the anon_vma is not modelled), SetPageAnonExclusive().
    folio.anon_exclusive = true;
    yield* folio_unlock(folio);
    return yield* reuse_huge_pmd(vmf, orig, ptl);
  }
  yield* folio_unlock(folio);
  yield* spin_unlock(ptl);
  vmf.how = HOW_THP_SPLIT;
  yield* __split_huge_pmd(vma, vmf.pmdp, vmf.address);
  return VM_FAULT_FALLBACK;
}

/** pmd_same() under the PMD lock: false (and the lock dropped) when the PMD changed since `orig`. */
function* pmd_unchanged(vmf: VmFault, orig: number, ptl: SpinLock): Gen<boolean> {
  const now = yield* read_entry(vmf.pmdp, false);
  if (now === orig) return true;
  yield* spin_unlock(ptl);
  return false;
}

/**
 * do_huge_pmd_wp_page()'s reuse: pmd_mkyoung, pmd_mkdirty and maybe_pmd_mkwrite -- writable only if
 * the VMA is, so after a FOLL_FORCE write the target still cannot store to a read-only mapping.
 */
function* reuse_huge_pmd(vmf: VmFault, orig: number, ptl: SpinLock): Gen<number> {
  vmf.how = HOW_THP_REUSE;
  const writable = vmf.vma.vm_flags & VM_WRITE ? _PAGE_RW : 0;
  yield* pmdp_set_access_flags(vmf.pmdp, entry_set_bits(orig, _PAGE_ACCESSED | _PAGE_DIRTY | writable), true);
  yield* spin_unlock(ptl);
  return 0;
}

/**
 * The THP part of __handle_mm_fault(): `pmd` is the lockless read of the PMD. Returns the fault
 * result, or VM_FAULT_FALLBACK to continue at PTE level (handle_pte_fault).
 */
export function handle_huge_pmd_fault(vmf: VmFault, pmd: number): Gen<number> {
  if (entry_none(pmd)) {
    if (!thp_vma_allowable(vmf.vma, vmf.address)) return no_event(VM_FAULT_FALLBACK);
    return do_huge_pmd_anonymous_page(vmf); // create_huge_pmd
  }
  if (!entry_huge(pmd)) return no_event(VM_FAULT_FALLBACK);
  // pmd_trans_huge(orig_pmd), or a PMD being split (invalidated): under pmd_lock the re-check sorts it out.
  if (entry_present(pmd) && vmf.flags & FAULT_FLAG_WRITE && !pte_write(pmd)) {
    return do_huge_pmd_wp_page(vmf, pmd); // wp_huge_pmd
  }
  return huge_pmd_set_accessed(vmf, pmd);
}

/**
 * zap_huge_pmd(): clear a PMD leaf under pmd_lock; the THP's reference goes to the gather, the
 * deposited table is freed. Returns false if the PMD is no longer huge (split meanwhile): the
 * caller zaps the PTE table instead.
 */
export const zap_huge_pmd = traced('zap_huge_pmd', function* (
  tlb: MmuGather, vma: VmAreaStruct, pmdp: EntryPtr, addr: number,
): Gen<boolean> {
  const ptl = yield* pmd_lock(vma.vm_mm, pmdp);
  const orig = yield* read_entry(pmdp, false);
  if (!entry_huge(orig)) {
    yield* spin_unlock(ptl);
    return false;
  }
  yield* set_entry(pmdp, 0); // pmdp_huge_get_and_clear_full
  const haddr = pmd_addr(addr);
  tlb_track_range(tlb, haddr, haddr + PMD_SIZE);
  const pfn = entry_pfn(orig);
  if (is_huge_zero_pfn(pfn)) {
    yield* zap_deposited_table(pmdp);
    yield* spin_unlock(ptl);
    return true;
  }
  const folio = page_folio(pfn);
  yield* folio_mapcount_dec(folio); // folio_remove_rmap_pmd
  yield* zap_deposited_table(pmdp);
  yield* spin_unlock(ptl);
  tlb_remove_folio(tlb, folio); // tlb_remove_page_size(HPAGE_PMD_SIZE)
  return true;
});

/**
 * __split_huge_pmd_locked(): replace the PMD leaf by the deposited PTE table filled with 512 PTEs
 * mapping the same pages (the folio stays one order-9 folio, now PTE-mapped: +511 references and
 * mappings). The huge zero page becomes 512 small-zero-page PTEs. pmd_lock held.
 */
function* __split_huge_pmd_locked(vma: VmAreaStruct, pmdp: EntryPtr, haddr: number, orig: number): Gen {
  const mm = vma.vm_mm;
  const pfn = entry_pfn(orig);
  if (is_huge_zero_pfn(pfn)) {
    // __split_huge_zero_page_pmd()
    yield* set_entry(pmdp, 0); // pmdp_huge_clear_flush
    yield emit.tlb_flush({ mm: mm.id, start: haddr, end: haddr + PMD_SIZE });
    const pgtable = yield* pgtable_trans_huge_withdraw(pmdp);
    const zero = mk_entry(zero_folio().pfn, vm_page_prot(vma) | _PAGE_SPECIAL);
    yield* fill_pte_table(pgtable, haddr, () => zero);
    yield* set_entry(pmdp, table_entry(pgtable)); // pmd_populate
    return;
  }
  // pmdp_invalidate(): not present (but still _PAGE_PSE) while the PTEs are prepared.
  yield* set_entry(pmdp, entry_clear_bits(orig, _PAGE_PRESENT | _PAGE_PROTNONE));
  yield emit.tlb_flush({ mm: mm.id, start: haddr, end: haddr + PMD_SIZE });
  const pgtable = yield* pgtable_trans_huge_withdraw(pmdp);
  const flags = entry_flags(orig) & ~(_PAGE_PSE | _PAGE_SPECIAL);
  const folio = page_folio(pfn);
  yield* folio_ref_add(folio, HPAGE_PMD_NR - 1);
  yield* folio_mapcount_add(folio, HPAGE_PMD_NR - 1); // +512 PTE mappings, -1 PMD mapping
  yield* fill_pte_table(pgtable, haddr, (i) => mk_entry(pfn + i, flags));
  yield* set_entry(pmdp, table_entry(pgtable)); // pmd_populate
}

function* fill_pte_table(pgtable: PageTable, haddr: number, pte: (i: number) => number): Gen {
  for (let i = 0; i < PTRS_PER_TABLE; i++) yield* set_entry(entry_ptr(pgtable, haddr + i * PAGE_SIZE), pte(i));
}

/**
 * __split_huge_pmd(): split the huge PMD mapping address, if it still is one (pmd_lock, re-check).
 * Callers: partial zap (MADV_DONTNEED, munmap), partial mprotect -- both with the VMA write-locked
 * or (zap) at least read-locked -- and the COW fallback of do_huge_pmd_wp_page.
 */
export const __split_huge_pmd = traced('__split_huge_pmd', function* (
  vma: VmAreaStruct, pmdp: EntryPtr, address: number,
): Gen {
  const ptl: SpinLock = yield* pmd_lock(vma.vm_mm, pmdp);
  const orig = yield* read_entry(pmdp, false);
  if (entry_huge(orig) && entry_present(orig)) yield* __split_huge_pmd_locked(vma, pmdp, pmd_addr(address), orig);
  yield* spin_unlock(ptl);
});

/**
 * change_huge_pmd(): mprotect of a whole PMD leaf: the new protection under pmd_lock, and its range
 * in the gather's flush when the entry changed (tlb_flush_pmd_range). Returns false if the PMD is
 * no longer huge (the caller continues at PTE level).
 */
export function* change_huge_pmd(
  tlb: MmuGather, vma: VmAreaStruct, pmdp: EntryPtr, addr: number, newprot: (old: number) => number,
): Gen<boolean> {
  const ptl = yield* pmd_lock(vma.vm_mm, pmdp);
  const orig = yield* read_entry(pmdp, false);
  if (!entry_huge(orig) || !entry_present(orig)) {
    yield* spin_unlock(ptl);
    return false;
  }
  const entry = newprot(orig);
  if (entry !== orig) {
    yield* set_entry(pmdp, entry);
    tlb_track_range(tlb, addr, addr + PMD_SIZE);
  }
  yield* spin_unlock(ptl);
  return true;
}

// --- PUD leaves ------------------------------------------------------------------------------------

const HOW_PUD_ACCESSED = name('huge_pud_set_accessed');

/** HPAGE_PUD_MASK as an operation: the PUD-aligned base of addr. */
export function pud_addr(addr: number): number {
  return Math.floor(addr / PUD_SIZE) * PUD_SIZE;
}

/**
 * The PUD leaf bits insert_pud() gives a mapping of this VMA: vm_page_prot + pud_mkhuge, so writable
 * from the first fault when the VMA is (device-dax is shared and wants no write notification: no
 * ->page_mkwrite, no writeback); for a write also dirty, and writable if the VMA is
 * (pud_mkdirty, maybe_pud_mkwrite).
 */
function huge_pud_flags(vma: VmAreaStruct, write: boolean): number {
  let flags = vm_page_prot(vma) | _PAGE_PSE;
  if (write) flags |= _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0);
  return flags;
}

/**
 * touch_pud() (mm/huge_memory.c): pud_mkyoung, + pud_mkdirty for a write, through
 * pudp_set_access_flags (x86: written only for a write). pud_lock held.
 */
function* touch_pud(pudp: EntryPtr, write: boolean): Gen {
  const v = pudp.table.entries[pudp.idx]!;
  yield* pudp_set_access_flags(pudp, entry_set_bits(v, _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)), write);
}

/**
 * insert_pud() for a folio, pud_lock held: a none entry gets the folio (folio_get, the rmap:
 * folio_add_file_rmap_pud); an entry already there (a racing fault mapped it) is only made young
 * and dirty by a write, through pudp_set_access_flags.
 */
function* insert_pud(vma: VmAreaStruct, pudp: EntryPtr, folio: Folio, write: boolean): Gen {
  const now = yield* read_entry(pudp, false);
  if (!entry_none(now)) {
    if (write) yield* touch_pud(pudp, true);
    return;
  }
  yield* folio_get(folio);
  yield* folio_mapcount_inc(folio); // folio_add_file_rmap_pud (add_mm_counter: rss is not modelled)
  yield* set_entry(pudp, mk_entry(folio.pfn, huge_pud_flags(vma, write))); // set_pud_at
}

/**
 * vmf_insert_folio_pud(): map a PUD-sized folio at the fault's PUD under pud_lock (device-dax's
 * __dev_dax_pud_fault). Returns VM_FAULT_NOPAGE: the fault installed the entry itself.
 */
export function* vmf_insert_folio_pud(vmf: VmFault, folio: Folio, write: boolean): Gen<number> {
  const vma = vmf.vma;
  const addr = pud_addr(vmf.address);
  if (addr < vma.vm_start || addr >= vma.vm_end) return VM_FAULT_SIGBUS;
  const ptl = yield* pud_lock(vma.vm_mm);
  yield* insert_pud(vma, vmf.pudp, folio, write);
  yield* spin_unlock(ptl);
  return VM_FAULT_NOPAGE;
}

/**
 * huge_pud_set_accessed(): a fault on a present PUD leaf that needs no write upgrade (a racing
 * fault mapped it first): under pud_lock, if the entry is unchanged, touch_pud.
 */
export function* huge_pud_set_accessed(vmf: VmFault, orig: number): Gen {
  vmf.how = HOW_PUD_ACCESSED;
  const ptl = yield* pud_lock(vmf.vma.vm_mm);
  const now = yield* read_entry(vmf.pudp, false);
  if (now === orig) yield* touch_pud(vmf.pudp, (vmf.flags & FAULT_FLAG_WRITE) !== 0);
  yield* spin_unlock(ptl);
}

/**
 * zap_huge_pud(): __pud_trans_huge_lock (pud_lock, still a leaf?), clear the entry
 * (pudp_huge_get_and_clear_full), then for a DAX folio drop its rmap (folio_remove_rmap_pud) and
 * hand the mapping's reference to the gather (tlb_remove_page_size). Whether it zapped.
 */
export const zap_huge_pud = traced('zap_huge_pud', function* (tlb: MmuGather, vma: VmAreaStruct, pudp: EntryPtr, addr: number): Gen<boolean> {
  const ptl = yield* pud_lock(vma.vm_mm);
  const orig = yield* read_entry(pudp, false);
  if (!entry_leaf(orig)) {
    yield* spin_unlock(ptl);
    return false;
  }
  yield* set_entry(pudp, 0);
  tlb_track_range(tlb, addr, addr + PUD_SIZE); // tlb_remove_pud_tlb_entry
  const folio = page_folio(entry_pfn(orig));
  yield* folio_mapcount_dec(folio);
  yield* spin_unlock(ptl);
  tlb_remove_folio(tlb, folio);
  return true;
});
