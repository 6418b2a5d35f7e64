/**
 * mm/memory.c: page faults (kernel-spec §6.7), zapping and page-table freeing (§4.1), and VM_IO /
 * VM_PFNMAP mappings (remap_pfn_range, generic_access_phys). __access_remote_vm (§8.1), which
 * sits above GUP, is in access_remote.ts.
 */
import { framed } from '../../sim/frame.js';
import type { Gen } from '../../sim/task.js';
import { name, no_event } from '../../sim/sim.js';
import { bytesHash } from '../../trace/hash.js';
import { COPY_FROM_IO, COPY_FROM_ZERO_PAGE, emit } from '../../trace/vocab/index.js';
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_RW, _PAGE_SPECIAL, PGD_LEVEL, PMD_LEVEL, PMD_SIZE,
  PTE_LEVEL, PUD_LEVEL, PUD_SIZE, entry_flags, entry_huge, entry_leaf, entry_none, entry_pfn, entry_present, entry_set_bits, entry_size,
  is_migration_entry, is_real_swap_pte, mk_entry, pte_dirty, pte_special, pte_swp_exclusive, pte_write, pte_young, swp_offset,
} from '../arch/x86/include/pgtable_types.js';
import { EAGAIN, EINVAL, ENOMEM } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { current_task } from '../kernel/sched.js';
import { down_write, up_write } from '../kernel/locking/rwsem.js';
import { type SpinLock, spin_lock, spin_trylock, spin_unlock } from '../kernel/locking/spinlock.js';
import { filemap_fault, folio_lock_or_retry } from './filemap.js';
import {
  type Folio, PG_dirty, PG_lru, PG_swapcache, PG_uptodate, folio_add_new_anon_rmap, folio_alloc, folio_get, folio_mapcount_dec, folio_mapcount_inc,
  folio_mark_dirty, folio_page_idx, folio_put, folio_trylock, folio_unlock, is_huge_zero_pfn, is_zero_pfn, page_folio, zero_folio,
} from './folio.js';
import { dev_dax_huge_fault, vma_is_dax } from '../drivers/dax/device.js';
import { __split_huge_pmd, handle_huge_pmd_fault, huge_pud_set_accessed, zap_huge_pmd, zap_huge_pud } from './huge_memory.js';
import { hugetlb_fault, unmap_hugepage_vma } from './hugetlb.js';
import { type VmFault, vm_normal_page, vmf_anon_prepare } from './internal.js';
import { migration_entry_wait } from './migrate.js';
import { mmap_assert_locked, vma_end_read, vma_start_write } from './mmap_lock.js';
import {
  type MmuGather, tlb_end_vma, tlb_finish_mmu, tlb_gather_mmu, tlb_remove_folio, tlb_remove_table, tlb_track_range,
} from './mmu_gather.js';
import {
  FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, type MmStruct, PAGE_SIZE, VM_DONTEXPAND, VM_FAULT_FALLBACK, VM_FAULT_MAJOR, VM_FAULT_OOM,
  VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_LOCKED, VM_PFNMAP, VM_SHARED, VM_WRITE, type VmAreaStruct,
  is_cow_mapping, is_vm_hugetlb_page, vma_is_anonymous, vm_page_prot,
} from './mm_types.js';
import {
  type EntryPtr, type PageTable, entry_ptr, entry_table, pmd_lockptr, ptep_set_access_flags, read_entry, set_entry,
  table_alloc, table_alloc_slot,
} from './pgtable.js';
import { pte_offset_map_lock, pte_offset_map_rw_nolock, pte_unmap, pte_unmap_unlock } from './pgtable_generic.js';
import { ioremap } from './iomem.js';
import { mmu_load, mmu_page, mmu_permits, mmu_walk } from '../arch/x86/mm/mmu.js';
import { folio_is_secretmem } from './secretmem.js';
import { folio_add_lru, folio_mark_accessed, lru_add_drain } from './swap.js';
import { folio_free_swap, free_swap_and_cache, free_swap_cache, swap_cache_get_folio, swapin_readahead } from './swap_state.js';
import { swap_entry_put } from './swapfile.js';

export { table_alloc } from './pgtable.js';
export { type VmFault, vm_normal_page, vmf_anon_prepare } from './internal.js';

const HOW_ANON_ZERO = name('do_anonymous_page:zero_page');
const HOW_ANON = name('do_anonymous_page');
const HOW_READ = name('do_read_fault');
const HOW_COW = name('do_cow_fault');
const HOW_SHARED = name('do_shared_fault');
const HOW_WP_REUSE = name('do_wp_page:reuse');
const HOW_WP_COPY = name('do_wp_page:copy');
const HOW_YOUNG = name('handle_pte_fault:young');
const HOW_RACED = name('handle_pte_fault:raced');
const HOW_RETRY = name('vmf_anon_prepare:retry');
const HOW_CALL_FAULT_RETRY = name('vmf_can_call_fault:retry');
const HOW_IO_RETRY = name('filemap_fault:retry');
const HOW_NONPRESENT = name('handle_pte_fault:not_present');
const HOW_MIGRATION_WAIT = name('do_swap_page:migration_entry_wait');
const HOW_DAX_PUD = name('dev_dax_huge_fault:pud');
const HOW_NO_FAULT_HANDLER = name('do_fault:no ->fault');
/** A DAX VMA is never split off its 1 GiB alignment (dev_dax_split), so it is zapped in whole PUD ranges. */
const SPLIT_HUGE_PUD = 'split_huge_pud is not modelled: a device-dax VMA is zapped in whole 1 GiB ranges';
const HOW_SWAPIN = name('do_swap_page');
const HOW_SWAPIN_RETRY = name('do_swap_page:folio_lock_or_retry');
const UAF_COPY = name('copy from a freed folio');
const FAULT_SECRETMEM = name('copy from a secretmem folio (not in the direct map)');

function is_write(vmf: VmFault): boolean {
  return (vmf.flags & FAULT_FLAG_WRITE) !== 0;
}

/**
 * The PTE flags of a new anonymous page (do_anonymous_page): vm_page_prot, and writable and dirty
 * only when asked and the VMA is writable (a FOLL_FORCE write to a read-only VMA maps it clean).
 */
function vma_pte_flags(vma: VmAreaStruct, writable: boolean): number {
  let flags = vm_page_prot(vma);
  if (writable && vma.vm_flags & VM_WRITE) flags |= _PAGE_RW | _PAGE_DIRTY;
  return flags;
}

/**
 * The PTE flags a write fault's copy or page-cache page gets (set_pte_range, wp_page_copy):
 * maybe_mkwrite(pte_mkdirty()), so always dirty -- the write happened -- and writable only if the
 * VMA is (after a FOLL_FORCE write the target still cannot store to a read-only mapping).
 */
function write_fault_pte_flags(vma: VmAreaStruct): number {
  return vm_page_prot(vma) | _PAGE_DIRTY | (vma.vm_flags & VM_WRITE ? _PAGE_RW : 0);
}

/**
 * The PTE flags a read fault's page-cache page gets (set_pte_range() without write): vm_page_prot as
 * it is, and dirty when that is writable (a shared mapping that needs no dirty tracking) and the
 * folio is dirty already -- the MMU would only set it at the next store anyway.
 */
function read_fault_pte_flags(vma: VmAreaStruct, folio: Folio): number {
  const flags = vm_page_prot(vma);
  const writable_and_dirty = (flags & _PAGE_RW) !== 0 && (folio.flags & PG_dirty) !== 0;
  return writable_and_dirty ? flags | _PAGE_DIRTY : flags;
}

/** p4d_alloc + pud_alloc: the PUD slot for addr, allocating the PUD table if needed (P4D folded). */
function pud_alloc_walk(mm: MmStruct, addr: number): Gen<EntryPtr> {
  return table_alloc_slot(mm, entry_ptr(mm.pgd, addr), PUD_LEVEL, addr);
}

/**
 * pmd_alloc below a PUD slot that holds a table (or nothing yet). The callers never reach a PUD
 * leaf here: the fault path handles one at PUD level first, and mremap refuses DAX VMAs.
 */
function pmd_alloc(mm: MmStruct, pudp: EntryPtr, addr: number): Gen<EntryPtr> {
  return table_alloc_slot(mm, pudp, PMD_LEVEL, addr);
}

/** pud_alloc + pmd_alloc: the PMD slot for addr, allocating upper tables as needed. */
function* pmd_alloc_walk(mm: MmStruct, addr: number): Gen<EntryPtr> {
  return yield* pmd_alloc(mm, yield* pud_alloc_walk(mm, addr), addr);
}

/**
 * The PMD slot of addr with a PTE table in it, allocating what is missing (alloc_new_pmd +
 * pte_alloc, as mremap's move_page_tables needs); null when a huge PMD is there.
 */
export function* pte_table_alloc(mm: MmStruct, addr: number): Gen<EntryPtr | null> {
  const pmdp = yield* pmd_alloc_walk(mm, addr);
  return (yield* table_alloc(mm, pmdp, PTE_LEVEL, addr)) ? pmdp : null;
}

/**
 * maybe_mkwrite(): make a PTE writable only if the VMA is. A FOLL_FORCE write (ptrace POKE) into a
 * read-only private mapping breaks COW but must leave the PTE read-only, so the target's own stores
 * still fault (GUP then writes through can_follow_write_pte's exclusive-anon rule).
 */
function maybe_mkwrite(pte: number, vma: VmAreaStruct): number {
  return vma.vm_flags & VM_WRITE ? entry_set_bits(pte, _PAGE_RW) : pte;
}

/**
 * Map `folio` at the faulting address if the PTE is still none (finish_fault / set_pte_range).
 * `page`: the pfn to map, a page of a large page-cache folio (default: the folio's first page).
 * `new_table`: finish_fault installs a PTE table if there is none; do_anonymous_page, which made
 * sure of one on entry, does not: if the table went meanwhile (PT_RECLAIM, a collapse), the fault
 * gives up and the access faults again.
 * A frame (sim/frame.ts), as is do_anonymous_page: a dozen events per call, two to four levels
 * below the traced handle_mm_fault, which need not be resumed for each.
 */
const map_new_folio = framed(function* map_new_folio(
  vmf: VmFault, folio: Folio, flags: number, anon: boolean, page: number = folio.pfn, new_table = true,
): Gen<boolean> {
  const vma = vmf.vma;
  if (new_table) yield* table_alloc(vma.vm_mm, vmf.pmdp, PTE_LEVEL, vmf.address);
  const locked = yield* pte_offset_map_lock(vma.vm_mm, vmf.pmdp, vmf.address);
  if (!locked) return false;
  const old = yield* read_entry(locked.ptep, false);
  if (!entry_none(old)) {
    // Somebody else mapped it first.
    yield* pte_unmap_unlock(locked.ptl);
    return false;
  }
  if (anon) {
    vma.anon_vma = true;
    yield* folio_add_new_anon_rmap(folio);
    // folio_add_lru_vma(), under the PTL and before the PTE is set, as the kernel orders them (its
    // lru_add batch would take lru_lock only when drained; here it drains at once).
    yield* folio_add_lru(folio);
  } else {
    yield* folio_mapcount_inc(folio); // folio_add_file_rmap_pte
  }
  yield* set_entry(locked.ptep, mk_entry(page, flags));
  yield* pte_unmap_unlock(locked.ptl);
  return true;
});

/** do_anonymous_page(): reads map the shared zero page; writes map a new zeroed folio. */
const do_anonymous_page = framed(function* do_anonymous_page(vmf: VmFault): Gen<number> {
  const vma = vmf.vma;
  yield* table_alloc(vma.vm_mm, vmf.pmdp, PTE_LEVEL, vmf.address); // pte_alloc()
  if (!is_write(vmf)) {
    vmf.how = HOW_ANON_ZERO;
    const locked = yield* pte_offset_map_lock(vma.vm_mm, vmf.pmdp, vmf.address);
    if (!locked) return 0;
    const old = yield* read_entry(locked.ptep, false);
    if (entry_none(old)) {
      const zero = mk_entry(zero_folio().pfn, vm_page_prot(vma) | _PAGE_SPECIAL);
      yield* set_entry(locked.ptep, zero);
    }
    yield* pte_unmap_unlock(locked.ptl);
    return 0;
  }
  vmf.how = HOW_ANON;
  const prepared = yield* vmf_anon_prepare(vmf);
  if (prepared) {
    vmf.how = HOW_RETRY;
    return prepared;
  }
  const folio = yield* folio_alloc(0, true, PG_uptodate);
  // The allocation's reference becomes the mapping's.
  // The table made sure of on entry, none installed again (new_table false).
  if (!(yield* map_new_folio(vmf, folio, vma_pte_flags(vma, true), true, folio.pfn, false))) yield* folio_put(folio);
  return 0;
});

/** filemap_fault() returned VM_FAULT_RETRY: it released the fault lock; the fault event says so. */
function released(vmf: VmFault, ret: number): number {
  vmf.how = HOW_IO_RETRY;
  return ret;
}

/**
 * vmf_can_call_fault(): under the VMA lock alone, only ops with ->map_pages may have ->fault
 * called (the others may need mmap_lock, as secretmem's is not known not to): drop the VMA lock
 * and retry under mmap_lock. Under mmap_lock, or with such ops, nothing happens.
 */
function vmf_can_call_fault(vmf: VmFault): Gen<number> {
  if (vmf.vma.vm_ops!.map_pages || !(vmf.flags & FAULT_FLAG_VMA_LOCK)) return no_event(0);
  return retry_under_mmap_lock(vmf);
}

function* retry_under_mmap_lock(vmf: VmFault): Gen<number> {
  vmf.how = HOW_CALL_FAULT_RETRY;
  yield* vma_end_read(vmf.vma);
  return VM_FAULT_RETRY;
}

/**
 * do_read_fault(): map the page-cache folio read-only (map-around is not modelled). A large folio
 * (khugepaged's file THP) is PTE-mapped: its page for this index (set_pte_range). The kernel's
 * finish_fault would map a PMD leaf (do_set_pmd) when the PMD is none and the VMA suits; file PMD
 * leaves are not modelled (zap/split would need their file side: no deposited table, no anon rmap).
 */
function* do_read_fault(vmf: VmFault): Gen<number> {
  vmf.how = HOW_READ;
  const cannot = yield* vmf_can_call_fault(vmf);
  if (cannot) return cannot;
  const vma = vmf.vma;
  const index = vma.vm_pgoff + Math.floor((vmf.address - vma.vm_start) / PAGE_SIZE);
  const folio = yield* filemap_fault(vmf, index);
  if (typeof folio === 'number') return released(vmf, folio);
  const page = folio.pfn + (index - folio.index);
  const mapped = yield* map_new_folio(vmf, folio, read_fault_pte_flags(vma, folio), false, page);
  yield* folio_unlock(folio);
  if (!mapped) yield* folio_put(folio);
  return 0;
}

/**
 * copy_user_highpage(): the new (small) folio gets the bytes of page `idx` of the source folio
 * (no source: the zero page, and the new folio is zeros already).
 */
function* copy_user_highpage(dst: Folio, src: Folio | null, idx = 0): Gen {
  if (src) dst.copyFrom(src, idx * PAGE_SIZE, PAGE_SIZE);
  yield emit.folio_copy({ dst: dst.id, src: src ? src.id : 0, index: idx });
}

/**
 * do_cow_fault(): a private write to a file page: copy it into a new anonymous folio. In the
 * kernel's order: the new folio first (folio_prealloc, before ->fault locks the source), then the
 * source page locked and referenced by ->fault, the copy, the new PTE (finish_fault), and only then
 * the source unlocked and put. (__do_fault's preallocated PTE table is allocated and installed in
 * finish_fault here.)
 */
function* do_cow_fault(vmf: VmFault): Gen<number> {
  vmf.how = HOW_COW;
  const cannot = yield* vmf_can_call_fault(vmf);
  if (cannot) return cannot;
  const prepared = yield* vmf_anon_prepare(vmf);
  if (prepared) return prepared;
  const vma = vmf.vma;
  const folio = yield* folio_alloc(0, true, PG_uptodate);
  const index = vma.vm_pgoff + Math.floor((vmf.address - vma.vm_start) / PAGE_SIZE);
  const src = yield* filemap_fault(vmf, index);
  if (typeof src === 'number') {
    yield* folio_put(folio);
    return released(vmf, src);
  }
  // The faulting page within the (maybe large) page-cache folio.
  yield* copy_user_highpage(folio, src, index - src.index);
  const mapped = yield* map_new_folio(vmf, folio, write_fault_pte_flags(vma), true);
  yield* folio_unlock(src);
  yield* folio_put(src);
  if (!mapped) yield* folio_put(folio);
  return 0;
}

/** do_shared_fault(): a write to a shared file mapping dirties the page-cache folio in place. */
function* do_shared_fault(vmf: VmFault): Gen<number> {
  vmf.how = HOW_SHARED;
  const cannot = yield* vmf_can_call_fault(vmf);
  if (cannot) return cannot;
  const vma = vmf.vma;
  const index = vma.vm_pgoff + Math.floor((vmf.address - vma.vm_start) / PAGE_SIZE);
  const folio = yield* filemap_fault(vmf, index);
  if (typeof folio === 'number') return released(vmf, folio);
  const mapped = yield* map_new_folio(vmf, folio, write_fault_pte_flags(vma), false, folio.pfn + (index - folio.index));
  if (mapped) yield* folio_mark_dirty(folio); // fault_dirty_shared_page, which unlocks
  yield* folio_unlock(folio);
  if (!mapped) yield* folio_put(folio);
  return 0;
}

function* do_fault(vmf: VmFault): Gen<number> {
  if (!vmf.vma.vm_ops?.fault) return yield* do_fault_without_handler(vmf);
  if (!is_write(vmf)) return yield* do_read_fault(vmf);
  if (!(vmf.vma.vm_flags & VM_SHARED)) return yield* do_cow_fault(vmf);
  return yield* do_shared_fault(vmf);
}

/**
 * do_fault() on a VMA whose ops have no ->fault (a remap_pfn_range mapping such as /dev/mem's):
 * nothing can fill the PTE. Looked at under the PTL: still none, SIGBUS; filled meanwhile,
 * VM_FAULT_NOPAGE (the access is retried).
 */
function* do_fault_without_handler(vmf: VmFault): Gen<number> {
  vmf.how = HOW_NO_FAULT_HANDLER;
  const locked = yield* pte_offset_map_lock(vmf.vma.vm_mm, vmf.pmdp, vmf.address);
  if (!locked) return VM_FAULT_SIGBUS;
  const pte = yield* read_entry(locked.ptep, false);
  yield* pte_unmap_unlock(locked.ptl);
  return entry_none(pte) ? VM_FAULT_SIGBUS : VM_FAULT_NOPAGE;
}

/**
 * wp_can_reuse_anon_folio() (PTL held): may a write reuse an anonymous folio not known to be
 * exclusive? Only if the mapping's reference is the last one. The cheap checks come first: more
 * than three references leave no hope; a folio off the LRU may be held by this CPU's LRU batch,
 * which is drained; then no more references than the mapping's and the swap cache's. Then, under
 * the folio lock (taken without waiting: somebody holding it means somebody else has it in hand),
 * the swap cache lets go of it, its slot freed, and only the mapping's reference may be left. KSM
 * is not modelled, and folio_move_anon_rmap() has nothing to move (the model's anon_vma is the
 * VMA's flag, not the folio's).
 */
function* wp_can_reuse_anon_folio(folio: Folio): Gen<boolean> {
  if (folio.order > 0) return yield* __wp_can_reuse_large_anon_folio(folio);
  if (folio._refcount > 3) return false;
  if (!(folio.flags & PG_lru)) yield* lru_add_drain();
  const swap_cache_refs = folio.flags & PG_swapcache ? 1 : 0;
  if (folio._refcount > 1 + swap_cache_refs) return false;
  if (!(yield* folio_trylock(folio))) return false;
  if (folio.flags & PG_swapcache) yield* folio_free_swap(folio);
  const only_the_mapping = folio._refcount === 1;
  yield* folio_unlock(folio);
  return only_the_mapping;
}

/**
 * __wp_can_reuse_large_anon_folio(): a PTE-mapped large folio is reused when every reference is a
 * mapping of this mm -- but not when only the page written is mapped: the large folio is better
 * given back. The swap cache, if it holds the folio, lets go first (under the folio lock, taken
 * without waiting). The kernel's "maybe mapped shared" test never holds here: without fork, only
 * one mm maps an anonymous folio.
 */
function* __wp_can_reuse_large_anon_folio(folio: Folio): Gen<boolean> {
  if (folio.mapcount <= 1) return false;
  if (folio.flags & PG_swapcache) {
    if (!(yield* folio_trylock(folio))) return false;
    yield* folio_free_swap(folio);
    yield* folio_unlock(folio);
  }
  return folio.mapcount === folio._refcount;
}

/**
 * do_wp_page(): a write to a present, write-protected PTE (PTL held, released here). An anonymous
 * folio that is PageAnonExclusive, or that wp_can_reuse_anon_folio() finds nobody else holds, is
 * reused (and exclusive from then on); anything else (zero page, page cache, shared anon) is copied.
 */
function* do_wp_page(vmf: VmFault, ptep: EntryPtr, orig: number, ptl: SpinLock): Gen<number> {
  const vma = vmf.vma;
  if (vma.vm_flags & VM_SHARED) {
    vmf.how = HOW_WP_REUSE;
    yield* set_entry(ptep, maybe_mkwrite(entry_set_bits(orig, _PAGE_DIRTY | _PAGE_ACCESSED), vma));
    yield* pte_unmap_unlock(ptl);
    const page = vm_normal_page(vma, orig);
    if (page !== null) yield* folio_mark_dirty(page_folio(page));
    return 0;
  }
  const page = vm_normal_page(vma, orig);
  const old = page === null ? null : page_folio(page);
  if (old && old.anon && (old.anon_exclusive || (yield* wp_can_reuse_anon_folio(old)))) {
    vmf.how = HOW_WP_REUSE;
    old.anon_exclusive = true;
    // wp_page_reuse(): pte_mkyoung + maybe_mkwrite(pte_mkdirty()): writable only if the VMA is, so
    // after a FOLL_FORCE write the target still cannot store to a PROT_READ mapping.
    yield* set_entry(ptep, maybe_mkwrite(entry_set_bits(orig, _PAGE_DIRTY | _PAGE_ACCESSED), vma));
    yield* pte_unmap_unlock(ptl);
    return 0;
  }
  // A reference of the fault's own keeps the old folio while the PTL is dropped for the copy: a
  // zap meanwhile (MADV_DONTNEED, truncation) must not free what is being copied.
  if (old) yield* folio_get(old);
  yield* pte_unmap_unlock(ptl);
  return yield* wp_page_copy(vmf, orig, old, page);
}

/**
 * wp_page_copy(): copy the old page (the zero page's zeros; a pfnmap's device bytes, read through
 * the user address) into a new anonymous folio with the PTL dropped, then
 * re-take it and map the copy if the PTE is still `orig`. `old` carries the fault's reference,
 * dropped on every way out; on success also the old mapping's, after the swap cache let go of it.
 */
function* wp_page_copy(vmf: VmFault, orig: number, old: Folio | null, page: number | null): Gen<number> {
  const vma = vmf.vma;
  vmf.how = HOW_WP_COPY;
  const prepared = yield* vmf_anon_prepare(vmf);
  if (prepared) {
    if (old) yield* folio_put(old);
    return prepared;
  }
  const folio = yield* folio_alloc(0, true, PG_uptodate);
  if (is_zero_pfn(entry_pfn(orig))) {
    yield* copy_user_highpage(folio, null);
  } else if ((yield* __wp_page_copy_user(folio, old, page, vmf, orig)) === -EAGAIN) {
    // The page went away under the copy: the fault is retried.
    yield* folio_put(folio);
    if (old) yield* folio_put(old);
    return 0;
  }
  const locked = yield* pte_offset_map_lock(vma.vm_mm, vmf.pmdp, vmf.address);
  const now = locked ? yield* read_entry(locked.ptep, false) : orig;
  if (!locked || now !== orig) {
    if (locked) yield* pte_unmap_unlock(locked.ptl);
    yield* folio_put(folio);
    if (old) yield* folio_put(old);
    return 0;
  }
  // ptep_clear_flush(): the old entry is cleared and flushed before the new one is set, so no CPU
  // can hold the old translation in its TLB while another loads the new one.
  const page_start = vmf.address - (vmf.address % PAGE_SIZE);
  yield* set_entry(locked.ptep, 0);
  yield emit.tlb_flush({ mm: vma.vm_mm.id, start: page_start, end: page_start + PAGE_SIZE });
  yield* folio_add_new_anon_rmap(folio);
  yield* folio_add_lru(folio); // folio_add_lru_vma(), before the PTE is set, as map_new_folio
  yield* set_entry(locked.ptep, mk_entry(folio.pfn, write_fault_pte_flags(vma)));
  if (old) yield* folio_mapcount_dec(old);
  yield* pte_unmap_unlock(locked.ptl);
  if (old) {
    yield* folio_put(old); // the old mapping's reference
    yield* free_swap_cache(old);
    yield* folio_put(old); // the fault's
  }
  return 0;
}

/**
 * __wp_page_copy_user(): the new folio gets the bytes of the old page: 0, or -EAGAIN when there was
 * no old folio and its page went away under the copy. With an old folio, copy_user_highpage().
 * Without one -- the special PTE of a private pfnmap (remap_pfn_range), which maps device memory --
 * the kernel copies the page through its user address with page faults disabled
 * (__copy_from_user_inatomic), reading whatever the MMU finds there; the event carries the bytes,
 * since device memory is not in the replay model and the new folio is. x86 sets accessed bits in
 * hardware (arch_has_hw_pte_young), so the PTL is not taken first. If the copy faults (the page is
 * no longer mapped: migrated or swapped out after another thread's copy of it), the PTE is looked
 * at under the PTL: changed, -EAGAIN; unchanged, the copy is made again under the lock -- it then
 * reads the device (the kernel's WARN_ON_ONCE and zero fill for a page that still cannot be read
 * cannot happen here). The copy is the faulting task's own (current->mm == mm): a remote (GUP)
 * write fault never reaches a page without a struct page, since GUP refuses VM_IO|VM_PFNMAP VMAs.
 */
function* __wp_page_copy_user(dst: Folio, src: Folio | null, page: number | null, vmf: VmFault, orig: number): Gen<number> {
  if (src !== null) {
    yield* copy_user_highpage(dst, src, page !== null ? folio_page_idx(src, page) : 0);
    return 0;
  }
  const mm = vmf.vma.vm_mm;
  const uaddr = vmf.address - (vmf.address % PAGE_SIZE);
  const bytes = copy_from_user_inatomic(mm, uaddr);
  if (bytes !== null) {
    yield* copy_into_new_folio(dst, uaddr, bytes);
    return 0;
  }
  const locked = yield* pte_offset_map_lock(mm, vmf.pmdp, vmf.address);
  if (!locked) return -EAGAIN;
  const now = yield* read_entry(locked.ptep, false);
  if (now === orig) yield* copy_into_new_folio(dst, uaddr, copy_from_user_inatomic(mm, uaddr)!);
  yield* pte_unmap_unlock(locked.ptl);
  return now === orig ? 0 : -EAGAIN;
}

/** __copy_from_user_inatomic() of the page at uaddr: its bytes as the MMU reaches them, or null where a load would fault. */
function copy_from_user_inatomic(mm: MmStruct, uaddr: number): Uint8Array | null {
  const leaf = mmu_walk(mm, uaddr);
  return mmu_permits(leaf, false) ? mmu_load(mmu_page(leaf, uaddr), PAGE_SIZE) : null;
}

/** A page copied through its user address into the new folio, and the event that carries the bytes. */
function* copy_into_new_folio(dst: Folio, uaddr: number, bytes: Uint8Array): Gen {
  dst.write(bytes, 0);
  yield emit.copy_to_folio({ addr: uaddr, len: PAGE_SIZE, folio: dst.id, hash: bytesHash(bytes), data: bytes.slice() });
}

/**
 * do_swap_page() (§6.7) for a non-present PTE `orig` read locklessly, with the table mapped (RCU
 * held; pte_unmap_same() unmaps it). A migration entry: migration_entry_wait() sleeps until the
 * migration is done, and the fault returns 0 so the caller retries (GUP re-follows the page, a user
 * access re-executes) -- with mmap_lock or the VMA lock still held, as the kernel does. A swap
 * entry: swap_in() reads the page back. Anything else (hwpoison, markers: never written) is
 * VM_FAULT_SIGBUS.
 */
function* do_swap_page(vmf: VmFault, orig: number): Gen<number> {
  yield* pte_unmap(); // pte_unmap_same()
  if (is_migration_entry(orig)) {
    vmf.how = HOW_MIGRATION_WAIT;
    yield* migration_entry_wait(vmf.vma.vm_mm, vmf.pmdp, vmf.address);
    return 0;
  }
  if (is_real_swap_pte(orig)) return yield* swap_in(vmf, orig);
  vmf.how = HOW_NONPRESENT;
  return VM_FAULT_SIGBUS;
}

/**
 * do_swap_page()'s swap-in of swap entry `orig` (swap device 0, a disk: not SWP_SYNCHRONOUS_IO, so
 * always through the swap cache). The swap cache's folio, or -- on a miss, a major fault --
 * swapin_readahead's new one, whose read is in flight with the folio locked. folio_lock_or_retry:
 * a user fault releases its lock and sleeps until the read is done, then retries (and finds the
 * folio cached); remote GUP sleeps for it holding mmap_lock. Then, under the PTL, pte_same: the
 * entry must still be there (else somebody else mapped it: back out). The slot loses the PTE's
 * reference (swap_free), the cache lets go of the folio if it should (should_try_to_free_swap),
 * and the folio is mapped -- writable at once if the entry says the page was exclusive and the VMA
 * is writable (a write fault also dirties it), else a write goes on to do_wp_page. The lookup's
 * reference becomes the mapping's.
 */
function* swap_in(vmf: VmFault, orig: number): Gen<number> {
  const vma = vmf.vma;
  const offset = swp_offset(orig);
  let ret = 0;
  vmf.how = HOW_SWAPIN;
  let folio = yield* swap_cache_get_folio(offset);
  if (!folio) {
    const found = yield* swapin_readahead(offset);
    if (!found) return yield* swap_in_lost(vmf, orig);
    folio = found.folio;
    ret = VM_FAULT_MAJOR; // had to read the page from the swap area (or wait for who does)
  }
  const locked_ret = yield* folio_lock_or_retry(folio, vmf);
  if (locked_ret & VM_FAULT_RETRY) {
    vmf.how = HOW_SWAPIN_RETRY;
    yield* folio_put(folio);
    return ret | locked_ret;
  }
  // folio_matches_swap_entry(): folio_free_swap() may have taken it out of the cache meanwhile.
  const still_cached = (folio.flags & PG_swapcache) !== 0 && folio.swap === offset;
  const locked = still_cached ? yield* pte_offset_map_lock(vma.vm_mm, vmf.pmdp, vmf.address) : null;
  const same = locked !== null && (yield* read_entry(locked.ptep, false)) === orig;
  if (!same || !(folio.flags & PG_uptodate)) {
    // out_nomap / out_page: somebody else mapped it first, or the read failed.
    vmf.how = HOW_RACED;
    if (locked) yield* pte_unmap_unlock(locked.ptl);
    yield* folio_unlock(folio);
    yield* folio_put(folio);
    return same ? VM_FAULT_SIGBUS : ret;
  }
  const exclusive = pte_swp_exclusive(orig);
  yield* swap_entry_put(offset); // swap_free_nr()
  if (should_try_to_free_swap(folio, vma, vmf.flags)) yield* folio_free_swap(folio);
  let flags = vm_page_prot(vma); // mk_pte(page, vma->vm_page_prot)
  let write_done = false;
  const reuse = exclusive || folio._refcount === 1;
  if (reuse && vma.vm_flags & VM_WRITE) {
    flags |= _PAGE_RW;
    if (is_write(vmf)) {
      flags |= _PAGE_DIRTY;
      write_done = true;
    }
  }
  // folio_add_new_anon_rmap(rmap_flags): the swapped-in folio is anonymous again, exclusive if
  // the entry said so (RMAP_EXCLUSIVE).
  if (reuse) folio.anon_exclusive = true;
  yield* folio_mapcount_inc(folio);
  const pte = mk_entry(folio.pfn, flags);
  yield* set_entry(locked.ptep, pte);
  yield* folio_unlock(folio);
  if (is_write(vmf) && !write_done) return ret | (yield* do_wp_page(vmf, locked.ptep, pte, locked.ptl));
  yield* pte_unmap_unlock(locked.ptl);
  return ret;
}

/**
 * The swap-in found no folio and could not make one: the slot is no longer used, because somebody
 * else swapped the page in (and freed the slot) meanwhile. Back out if that is why -- the PTE
 * changed -- else it is VM_FAULT_OOM.
 */
function* swap_in_lost(vmf: VmFault, orig: number): Gen<number> {
  vmf.how = HOW_RACED;
  const locked = yield* pte_offset_map_lock(vmf.vma.vm_mm, vmf.pmdp, vmf.address);
  if (!locked) return 0;
  const now = yield* read_entry(locked.ptep, false);
  yield* pte_unmap_unlock(locked.ptl);
  return now === orig ? VM_FAULT_OOM : 0;
}

/**
 * should_try_to_free_swap(): drop the swap cache's hold on a folio just swapped in when the VMA is
 * mlocked, or for a write fault when only the cache and this fault hold the folio (so that it can
 * be reused writable). mem_cgroup_swap_full() is not modelled.
 */
function should_try_to_free_swap(folio: Folio, vma: VmAreaStruct, fault_flags: number): boolean {
  if (!(folio.flags & PG_swapcache)) return false;
  if (vma.vm_flags & VM_LOCKED) return true;
  return (fault_flags & FAULT_FLAG_WRITE) !== 0 && folio._refcount === 1 + folio.nr_pages;
}

/** handle_pte_fault() (§6.7). */
const handle_pte_fault = framed(function* handle_pte_fault(vmf: VmFault): Gen<number> {
  const mm = vmf.vma.vm_mm;
  const pmdval = yield* read_entry(vmf.pmdp, true);
  let mapped = null;
  let orig = 0;
  if (!entry_none(pmdval)) {
    mapped = yield* pte_offset_map_rw_nolock(mm, vmf.pmdp, vmf.address);
    // The table went away under us (collapse, zap): let the caller retry.
    if (!mapped) return 0;
    orig = yield* read_entry(mapped.ptep, true); // ptep_get_lockless
    if (entry_none(orig)) {
      yield* pte_unmap();
      mapped = null;
    }
  }
  if (!mapped) {
    if (vma_is_anonymous(vmf.vma)) return yield* do_anonymous_page(vmf);
    return yield* do_fault(vmf);
  }
  if (!entry_present(orig)) return yield* do_swap_page(vmf, orig);
  yield* spin_lock(mapped.ptl);
  const now = yield* read_entry(mapped.ptep, false);
  if (now !== orig) {
    vmf.how = HOW_RACED;
    yield* pte_unmap_unlock(mapped.ptl);
    return 0;
  }
  if (is_write(vmf) && !pte_write(orig)) return yield* do_wp_page(vmf, mapped.ptep, orig, mapped.ptl);
  // pte_mkyoung (+ pte_mkdirty for a write), written only as the arch's ptep_set_access_flags()
  // allows: on x86 a read fault leaves an old PTE old, as touch_pmd() leaves an old PMD.
  vmf.how = HOW_YOUNG;
  const entry = entry_set_bits(orig, _PAGE_ACCESSED | (is_write(vmf) ? _PAGE_DIRTY : 0));
  yield* ptep_set_access_flags(mapped.ptep, entry, is_write(vmf));
  yield* pte_unmap_unlock(mapped.ptl);
  return 0;
});

/**
 * __handle_mm_fault()'s PUD step. A none PUD of a VMA that may map PUD leaves -- device-dax, the
 * only such VMA here (thp_vma_allowable_order(PUD_ORDER) allows DAX in a page fault; there are no
 * anonymous PUD THPs) -- goes to create_huge_pud -> ->huge_fault(PUD_ORDER). A PUD leaf is made
 * young (huge_pud_set_accessed). wp_huge_pud is not needed: device-dax maps a writable (shared)
 * VMA writable at the first fault, and a write to a read-only one never gets here (access_error,
 * check_vma_flags). VM_FAULT_FALLBACK: go on at PMD level.
 */
function handle_huge_pud_fault(vmf: VmFault): Gen<number> {
  // Only a DAX VMA has or gets PUD leaves: any other goes on at PMD level at once (the kernel's
  // pud_none / pud_trans_huge tests of its PUD entry find a table or nothing, and pmd_alloc reads
  // the entry again).
  if (!vma_is_dax(vmf.vma)) return no_event(VM_FAULT_FALLBACK);
  return fault_at_pud_level(vmf);
}

/** handle_huge_pud_fault() of a VMA that can have PUD leaves: its PUD entry decides. */
function* fault_at_pud_level(vmf: VmFault): Gen<number> {
  const orig_pud = yield* read_entry(vmf.pudp, true);
  if (entry_none(orig_pud)) {
    vmf.how = HOW_DAX_PUD;
    return yield* dev_dax_huge_fault(vmf); // create_huge_pud -> vma->vm_ops->huge_fault
  }
  if (!entry_leaf(orig_pud)) return VM_FAULT_FALLBACK; // a PMD table: the PMD level
  yield* huge_pud_set_accessed(vmf, orig_pud);
  return 0;
}

/**
 * handle_mm_fault(): the caller has checked access permissions (check_vma_flags for GUP,
 * access_error for user faults) and holds mmap_lock or, with FAULT_FLAG_VMA_LOCK, the VMA lock.
 */
export const handle_mm_fault = traced('handle_mm_fault', function* (
  vma: VmAreaStruct,
  address: number,
  flags: number,
): Gen<number> {
  // lru_gen_enter_fault(): folios this fault adds to the multi-gen LRU start young. Every VMA has
  // recency here (vma_has_recency: the model has no VM_SEQ_READ / VM_RAND_READ / FMODE_NOREUSE).
  const task = current_task();
  task.in_lru_fault = true;
  const ret = yield* __handle_mm_fault(vma, address, flags);
  task.in_lru_fault = false; // lru_gen_exit_fault()
  return ret;
});

/** A frame (sim/frame.ts): handle_mm_fault's body above it is not resumed for each of the fault's events. */
const __handle_mm_fault = framed(function* __handle_mm_fault(vma: VmAreaStruct, address: number, flags: number): Gen<number> {
  // hugetlb VMAs have their own fault handler (mm/hugetlb.ts; it emits the fault event).
  if (is_vm_hugetlb_page(vma)) return yield* hugetlb_fault(vma, address, flags);
  const unset = undefined as unknown as EntryPtr;
  const vmf: VmFault = { vma, address, flags, pudp: unset, pmdp: unset, how: HOW_RACED };
  vmf.pudp = yield* pud_alloc_walk(vma.vm_mm, address);
  let ret = yield* handle_huge_pud_fault(vmf);
  if (ret & VM_FAULT_FALLBACK) {
    vmf.pmdp = yield* pmd_alloc(vma.vm_mm, vmf.pudp, address);
    // __handle_mm_fault(): vmf->orig_pmd = pmdp_get_lockless(); a none PMD of a THP VMA or a huge
    // PMD goes to the huge paths (create_huge_pmd, wp_huge_pmd, huge_pmd_set_accessed) first.
    const orig_pmd = yield* read_entry(vmf.pmdp, true);
    ret = yield* handle_huge_pmd_fault(vmf, orig_pmd);
    if (ret & VM_FAULT_FALLBACK) ret = yield* handle_pte_fault(vmf);
  }
  yield emit.fault({ vma: vma.id, addr: address, how: vmf.how.id, result: ret });
  return ret;
});

// --- zap and free_pgtables ---------------------------------------------------------------------------

/**
 * zap_pte_range(): clear the PTEs of [addr, end) in one PTE table under its PTL; the mappings'
 * folio references go to the gather and are dropped after the TLB flush. Returns false, having done
 * nothing, when the table went between the caller's read of the PMD and the map (the caller then
 * looks at the PMD again).
 */
const zap_pte_range = framed(function* zap_pte_range(
  tlb: MmuGather, vma: VmAreaStruct, pmdp: EntryPtr, addr: number, end: number, reclaim_pt: boolean,
): Gen<boolean> {
  const locked = yield* pte_offset_map_lock(vma.vm_mm, pmdp, addr);
  if (!locked) return false;
  const table = locked.ptep.table;
  for (let a = addr; a < end; a += PAGE_SIZE) {
    const ptep = entry_ptr(table, a);
    const pte = table.entries[ptep.idx]!;
    if (entry_none(pte)) continue;
    // zap_nonpresent_ptes(): a swap entry gives its slot's reference back (free_swap_and_cache,
    // which also frees the slot's swap cache folio if nothing else needs it).
    if (is_real_swap_pte(pte)) yield* free_swap_and_cache(swp_offset(pte));
    yield* set_entry(ptep, 0); // ptep_get_and_clear_full / clear_not_present_full_ptes
    // A migration entry holds neither a mapcount nor a reference of the folio (try_to_migrate
    // dropped both when it installed it), so clearing it is all there is: remove_migration_ptes()
    // will not find it, and the new folio ends up unmapped here. (The kernel's rss counters are
    // not modelled.)
    if (!entry_present(pte)) continue;
    tlb_track_range(tlb, a, a + PAGE_SIZE); // tlb_remove_tlb_entry: a present entry went (the zero page's too)
    const page = vm_normal_page(vma, pte);
    if (page === null) continue;
    const folio = page_folio(page);
    // zap_present_folio_ptes(): an anonymous folio needs no up-to-date dirty or accessed bits; a
    // file folio takes the entry's dirty bit, and a young entry marks it accessed (vma_has_recency:
    // no VM_SEQ_READ or VM_RAND_READ in the model).
    if (!folio.anon) {
      if (pte_dirty(pte)) yield* folio_mark_dirty(folio);
      if (pte_young(pte)) yield* folio_mark_accessed(folio);
    }
    yield* folio_mapcount_dec(folio);
    tlb_remove_folio(tlb, folio);
  }
  // PT_RECLAIM: a zap that emptied a whole table frees it. The model's zap skips no entry, so a
  // whole table is an empty one here.
  const whole = addr % PMD_SIZE === 0 && end - addr === PMD_SIZE;
  const reclaim = reclaim_pt && whole && table.populated() === 0;
  const cleared = reclaim && (yield* zap_empty_pte_table(vma.vm_mm, pmdp, locked.ptl));
  yield* pte_unmap_unlock(locked.ptl);
  if (!reclaim) return true;
  // With every lock dropped and out of pte_offset_map's RCU section, as tlb_remove_table may sleep
  // (tlb_remove_table_one's synchronize_rcu): the table cleared, or whatever empty table the slow
  // path found, goes to the gather (pte_free_tlb).
  const freed = cleared ? table : yield* zap_pte_table_if_empty(vma.vm_mm, pmdp, addr);
  if (freed) {
    tlb_track_range(tlb, addr, addr + PAGE_SIZE);
    yield* tlb_remove_table(tlb, freed);
  }
  return true;
});

/**
 * zap_empty_pte_table() (PT_RECLAIM's fast path, kernel-spec §4.4), the PTL still held: clear the
 * PMD if pmd_lock can be had without waiting; when the PTL is the PMD's lock too, nothing more is
 * taken. Returns whether it cleared the PMD. (Here rather than in a pt_reclaim.ts: the kernel keeps
 * both paths static in mm/memory.c beside their one caller.)
 */
function* zap_empty_pte_table(mm: MmStruct, pmdp: EntryPtr, ptl: SpinLock): Gen<boolean> {
  const pml = pmd_lockptr(mm, pmdp);
  const nested = pml !== ptl;
  if (nested && !(yield* spin_trylock(pml))) return false;
  yield* set_entry(pmdp, 0); // pmd_clear
  if (nested) yield* spin_unlock(pml);
  return true;
}

/**
 * zap_pte_table_if_empty() (PT_RECLAIM's slow path), the PTL dropped: under pmd_lock, map whatever
 * table the PMD points to now, lock it, and clear the PMD if every entry is none -- the table may
 * have been refilled, or replaced, while no lock was held. Returns the table cleared, or null.
 */
function* zap_pte_table_if_empty(mm: MmStruct, pmdp: EntryPtr, addr: number): Gen<PageTable | null> {
  const pml = pmd_lockptr(mm, pmdp);
  yield* spin_lock(pml);
  const mapped = yield* pte_offset_map_rw_nolock(mm, pmdp, addr);
  if (!mapped) {
    yield* spin_unlock(pml);
    return null;
  }
  const nested = mapped.ptl !== pml;
  if (nested) yield* spin_lock(mapped.ptl);
  const table = mapped.ptep.table;
  if (table.populated() !== 0) {
    yield* pte_unmap_unlock(mapped.ptl); // the PMD's lock too, when it is the same lock
    if (nested) yield* spin_unlock(pml);
    return null;
  }
  yield* pte_unmap();
  yield* set_entry(pmdp, 0); // pmd_clear
  if (nested) yield* spin_unlock(mapped.ptl);
  yield* spin_unlock(pml);
  return table;
}

/**
 * zap_pmd_range() for one PMD entry: a huge PMD is zapped whole if the range covers it, else split
 * first; a none one has nothing to zap; otherwise its PTE range is zapped. If the PTE table went
 * between this read and zap_pte_range's map (PT_RECLAIM by a concurrent zap, a collapse), the PMD is
 * looked at again: it may hold a THP by now, which must go too.
 */
function* zap_pmd_entry(tlb: MmuGather, vma: VmAreaStruct, pmdp: EntryPtr, addr: number, end: number, reclaim_pt: boolean): Gen {
  for (;;) {
    const pmd = yield* read_entry(pmdp, true);
    if (entry_huge(pmd)) {
      const covered = end - addr === PMD_SIZE;
      if (covered && (yield* zap_huge_pmd(tlb, vma, pmdp, addr))) return;
      if (!covered) yield* __split_huge_pmd(vma, pmdp, addr);
    } else if (entry_none(pmd)) {
      return;
    }
    if (yield* zap_pte_range(tlb, vma, pmdp, addr, end, reclaim_pt)) return;
  }
}

/**
 * unmap_page_range() for one VMA's [start, end): walk to each PMD and zap its PTE range.
 * `reclaim_pt` (MADV_DONTNEED): free PTE tables the zap emptied.
 */
export function* unmap_page_range(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, reclaim_pt = false): Gen {
  const mm = vma.vm_mm;
  for (let addr = start; addr < end; ) {
    const next = Math.min(end, Math.floor(addr / PMD_SIZE) * PMD_SIZE + PMD_SIZE);
    const pudp = yield* walk_to_pud(mm, addr);
    const pud = pudp ? yield* read_entry(pudp, true) : 0;
    if (pudp && entry_leaf(pud)) {
      // zap_pud_range(): a PUD leaf is zapped whole when the range covers it.
      const pud_end = Math.min(end, Math.floor(addr / PUD_SIZE) * PUD_SIZE + PUD_SIZE);
      if (pud_end - addr !== PUD_SIZE) throw new Error(SPLIT_HUGE_PUD);
      yield* zap_huge_pud(tlb, vma, pudp, addr);
      addr = pud_end;
      continue;
    }
    if (!entry_none(pud)) yield* zap_pmd_entry(tlb, vma, entry_ptr(entry_table(pud), addr), addr, next, reclaim_pt);
    addr = next;
  }
  // tlb_end_vma(): this VMA's changes are flushed before the next VMA's (or the page tables').
  yield* tlb_end_vma(tlb);
}

/** Read-only walk to the PUD slot of addr (P4D folded); null when the PGD entry is none. */
function* walk_to_pud(mm: MmStruct, addr: number): Gen<EntryPtr | null> {
  const pgdval = yield* read_entry(entry_ptr(mm.pgd, addr), true);
  if (entry_none(pgdval)) return null;
  return entry_ptr(entry_table(pgdval), addr);
}

/**
 * Read-only walk to the PMD slot of addr (the caller holds mmap_lock or the VMA lock); null when
 * there is no PMD table: nothing mapped, or a PUD leaf (pud_none_or_clear_bad's callers skip it).
 */
export function* walk_to_pmd(mm: MmStruct, addr: number): Gen<EntryPtr | null> {
  const pudp = yield* walk_to_pud(mm, addr);
  if (!pudp) return null;
  const pudval = yield* read_entry(pudp, true);
  if (entry_none(pudval) || entry_leaf(pudval)) return null;
  return entry_ptr(entry_table(pudval), addr);
}

/** unmap_vmas(): zap every VMA's range. */
export const unmap_vmas = traced('unmap_vmas', function* (tlb: MmuGather, vmas: VmAreaStruct[]): Gen {
  for (const vma of vmas) {
    // hugetlb VMAs: hugetlb_zap_begin / __unmap_hugepage_range / hugetlb_zap_end (mm/hugetlb.ts).
    if (is_vm_hugetlb_page(vma)) yield* unmap_hugepage_vma(tlb, vma);
    else yield* unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end);
  }
});

/**
 * Free the table `parent` points to (of `level`) if the whole range it maps lies in
 * [floor, ceiling); recurse first into the entries within [addr, end). This is free_pud_range /
 * free_pmd_range / free_pte_range folded into one level-generic function (ceiling 0 = no ceiling,
 * USER_PGTABLES_CEILING).
 */
function* free_table_range(
  tlb: MmuGather, parent: EntryPtr, level: number, addr: number, end: number, floor: number, ceiling: number,
): Gen {
  const table = entry_table(parent.table.entries[parent.idx]!);
  if (level > PTE_LEVEL) {
    const span = entry_size(level);
    for (let a = addr; a < end; ) {
      const next = Math.min(end, Math.floor(a / span) * span + span);
      const child = entry_ptr(table, a);
      if (!entry_none(table.entries[child.idx]!)) yield* free_table_range(tlb, child, level - 1, a, next, floor, ceiling);
      a = next;
    }
    // The kernel's check in free_pmd_range/free_pud_range: the table goes only if the whole
    // parent-entry range is inside [floor, ceiling).
    const parentSpan = entry_size(level + 1);
    const start = Math.floor(addr / parentSpan) * parentSpan;
    if (start < floor) return;
    if (ceiling) {
      const c = Math.floor(ceiling / parentSpan) * parentSpan;
      if (!c || end - 1 > c - 1) return;
    }
  }
  yield* set_entry(parent, 0); // pmd_clear / pud_clear: no lock, free_pgtables owns the range
  // pte_free_tlb / pmd_free_tlb / pud_free_tlb: the TLB entries of what the table mapped go too.
  tlb_track_range(tlb, addr, addr + PAGE_SIZE);
  yield* tlb_remove_table(tlb, table);
}

/** free_pgd_range(): free the PTE tables mapping only [addr, end), and upper tables when possible. */
function* free_pgd_range(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): Gen {
  addr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling) {
    ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
    if (!ceiling) return;
  }
  if (ceiling && end - 1 > ceiling - 1) end -= PMD_SIZE;
  if (addr > end - 1) return;
  const mm = tlb.mm;
  const span = entry_size(PGD_LEVEL);
  for (let a = addr; a < end; ) {
    const next = Math.min(end, Math.floor(a / span) * span + span);
    const pgdp = entry_ptr(mm.pgd, a);
    if (!entry_none(mm.pgd.entries[pgdp.idx]!)) yield* free_table_range(tlb, pgdp, PUD_LEVEL, a, next, floor, ceiling);
    a = next;
  }
}

/**
 * free_pgtables() (§4.1): for each (already detached) VMA, write-lock it when the mm is write-locked,
 * unlink it from its file, and free the page tables that only its range used.
 */
export const free_pgtables = traced('free_pgtables', function* (
  tlb: MmuGather, vmas: VmAreaStruct[], floor: number, ceiling: number, mm_wr_locked: boolean,
): Gen {
  for (const vma of vmas) {
    if (mm_wr_locked) yield* vma_start_write(vma);
    if (vma.vm_file) {
      yield* down_write(vma.vm_file.i_mmap_rwsem);
      yield* up_write(vma.vm_file.i_mmap_rwsem);
    }
  }
  if (vmas.length === 0) return;
  yield* free_pgd_range(tlb, vmas[0]!.vm_start, vmas[vmas.length - 1]!.vm_end, floor, ceiling);
});

/** unmap_region(): zap, then free page tables, in one gather. */
export function* unmap_region(
  mm: MmStruct, vmas: VmAreaStruct[], prev_end: number, next_start: number, mm_wr_locked: boolean,
): Gen {
  const tlb = tlb_gather_mmu(mm);
  yield* unmap_vmas(tlb, vmas);
  yield* free_pgtables(tlb, vmas, prev_end, next_start, mm_wr_locked);
  yield* tlb_finish_mmu(tlb);
}

// --- the copies of __access_remote_vm (copy_from_user_page / copy_to_user_page) -------------------
// Shared by __access_remote_vm (access_remote.ts) and the series' fast path (access_remote_fast.ts),
// which both sit above this file.

/**
 * copy_from_user_page() from a kmap of the folio: copy `len` bytes at `offset` within the folio into
 * buf[pos..]. Secretmem folios are not in the direct map: touching them is a kernel fault.
 */
export function* copy_from_folio(
  folio: Folio, offset: number, buf: Uint8Array, pos: number, len: number, addr: number,
): Gen {
  if (folio.freed) yield emit.use_after_free({ what: UAF_COPY.id, obj: folio.id });
  if (folio_is_secretmem(folio)) {
    // Not in the direct map: the kernel's kmap/copy faults (an oops). Report it; copy nothing.
    yield emit.kernel_fault({ what: FAULT_SECRETMEM.id, addr });
    return;
  }
  const src = folio.read(offset, len);
  buf.set(src, pos);
  const from = is_zero_pfn(folio.pfn) || is_huge_zero_pfn(folio.pfn) ? COPY_FROM_ZERO_PAGE : folio.id;
  yield emit.copy({ addr, len, folio: from, hash: bytesHash(src) });
}

/** copy_to_user_page(): the write side (ptrace POKE, /proc/PID/mem writes). */
export function* copy_to_folio(
  folio: Folio, offset: number, buf: Uint8Array, pos: number, len: number, addr: number,
): Gen {
  const src = buf.subarray(pos, pos + len);
  // The replay model places the bytes at addr % folio size (model.ts folioOffset).
  if (offset !== addr % folio.size()) throw new Error(`folio ${folio.id} mapped unaligned at ${addr.toString(16)}`);
  folio.write(src, offset);
  yield emit.copy_to_folio({ addr, len, folio: folio.id, hash: bytesHash(src), data: src.slice() });
}

// --- VM_IO / VM_PFNMAP: remap_pfn_range and generic_access_phys (§5.4, §8.1, §12.11) -------------

/**
 * remap_pfn_range() (mm/memory.c), as a driver's ->mmap calls it with mmap_lock held for write:
 * special PTEs (no struct page: no folio reference, no mapcount) for [addr, addr + size) mapping
 * the frames from `pfn` on, with the VMA's own protection (the driver passes vma->vm_page_prot):
 * writable only in a shared writable mapping, so a store to a private one faults and copies the
 * page (wp_page_copy), and no dirty bit (the MMU sets it). A private (COW) mapping must be remapped
 * whole, and its vm_pgoff becomes the first pfn: that is how vm_normal_page() tells its pfnmap
 * pages from its COWed ones where PTEs have no special bit (x86 has it). Then
 * vm_flags_set(VM_IO | VM_PFNMAP | VM_DONTEXPAND; VM_DONTDUMP is not modelled). 0, -EINVAL or
 * -ENOMEM. PAT's pfnmap tracking is not modelled.
 */
export const remap_pfn_range = traced('remap_pfn_range', function* (
  vma: VmAreaStruct, addr: number, pfn: number, size: number,
): Gen<number> {
  const end = addr + Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  if (is_cow_mapping(vma.vm_flags)) {
    if (addr !== vma.vm_start || end !== vma.vm_end) return -EINVAL;
    if (vma.vm_pgoff !== pfn) {
      vma.vm_pgoff = pfn;
      // pfn, not vm_pgoff read back: see vma_start_write_locked() (a double field's small value)
      yield emit.vma_adjust({ vma: vma.id, start: vma.vm_start, end: vma.vm_end, pgoff: pfn });
    }
  }
  const want = VM_IO | VM_PFNMAP | VM_DONTEXPAND;
  if ((vma.vm_flags & want) !== want) {
    yield* vma_start_write(vma); // vm_flags_set() write-locks the VMA
    const old = vma.vm_flags;
    vma.vm_flags |= want;
    yield emit.vma_flags({ vma: vma.id, old, new: vma.vm_flags });
  }
  const flags = vm_page_prot(vma) | _PAGE_SPECIAL;
  for (let off = 0; addr + off < end; off += PAGE_SIZE) {
    const a = addr + off;
    const pmdp = yield* pmd_alloc_walk(vma.vm_mm, a);
    yield* table_alloc(vma.vm_mm, pmdp, PTE_LEVEL, a); // pte_alloc_map_lock
    const locked = yield* pte_offset_map_lock(vma.vm_mm, pmdp, a);
    if (!locked) return -ENOMEM;
    yield* set_entry(locked.ptep, mk_entry(pfn + off / PAGE_SIZE, flags)); // pte_mkspecial(pfn_pte())
    yield* pte_unmap_unlock(locked.ptl);
  }
  return 0;
});

/** struct follow_pfnmap_args, the outputs: valid until follow_pfnmap_end() drops the PTL. */
interface PfnmapArgs {
  readonly pfn: number;
  /** pte_pgprot(): the entry's protection bits. */
  readonly pgprot: number;
  readonly writable: boolean;
  readonly special: boolean;
  readonly ptl: SpinLock;
}

/**
 * follow_pfnmap_start() (mm/memory.c): the pfn mapped at `address` of a VM_IO/VM_PFNMAP VMA, found
 * by a page-table walk that ends under the PTE's lock (held until follow_pfnmap_end). null (the
 * kernel's -EINVAL) outside the VMA, for other VMAs, or with nothing present. pfnmap_lockdep_assert:
 * the caller holds mmap_lock (or the file's i_mmap_rwsem; device mappings here have no file).
 * Huge (PMD/PUD) pfnmaps are not modelled: pte_offset_map_lock refuses a leaf PMD.
 */
function* follow_pfnmap_start(vma: VmAreaStruct, address: number): Gen<PfnmapArgs | null> {
  yield* mmap_assert_locked(vma.vm_mm);
  if (address < vma.vm_start || address >= vma.vm_end) return null;
  if (!(vma.vm_flags & (VM_IO | VM_PFNMAP))) return null;
  const pmdp = yield* walk_to_pmd(vma.vm_mm, address);
  if (!pmdp) return null;
  const locked = yield* pte_offset_map_lock(vma.vm_mm, pmdp, address);
  if (!locked) return null;
  const pte = yield* read_entry(locked.ptep, false); // ptep_get
  if (!entry_present(pte)) {
    yield* pte_unmap_unlock(locked.ptl);
    return null;
  }
  return { pfn: entry_pfn(pte), pgprot: entry_flags(pte), writable: pte_write(pte), special: pte_special(pte), ptl: locked.ptl };
}

/** follow_pfnmap_end(): pte_unmap_unlock. */
function* follow_pfnmap_end(args: PfnmapArgs): Gen {
  yield* pte_unmap_unlock(args.ptl);
}

/**
 * generic_access_phys() (mm/memory.c, CONFIG_HAVE_IOREMAP_PROT), a VM_IO/VM_PFNMAP VMA's ->access:
 * what __access_remote_vm falls back to when GUP refuses the VMA (§5.4, §8.1). Look up pfn and prot
 * under the PTL, drop it, refuse a write to a read-only mapping (-EINVAL), ioremap the device range,
 * then look up again and retry if pfn, prot or writability changed meanwhile; copy `len` bytes --
 * physically contiguous from the first page, not re-walked per page, and not limited to one page
 * -- under the second lookup's PTL. Returns len or -errno. The copy event's folio is -1 (I/O).
 */
export const generic_access_phys = traced('generic_access_phys', function* (
  vma: VmAreaStruct, addr: number, buf: Uint8Array, len: number, write: boolean,
): Gen<number> {
  const offset = addr % PAGE_SIZE;
  for (;;) {
    const first = yield* follow_pfnmap_start(vma, addr);
    if (!first) return -EINVAL;
    const { pfn, pgprot, writable } = first;
    yield* follow_pfnmap_end(first);
    if (write && !writable) return -EINVAL;
    const maddr = yield* ioremap(pfn, len + offset); // ioremap_prot(phys_addr, PAGE_ALIGN(len + offset), prot)
    if (!maddr) return -ENOMEM;
    const again = yield* follow_pfnmap_start(vma, addr);
    if (!again) return -EINVAL; // out_unmap: iounmap, ret is still -EINVAL
    if (again.pgprot !== pgprot || again.pfn !== pfn || again.writable !== writable) {
      yield* follow_pfnmap_end(again);
      continue; // iounmap, retry
    }
    if (write) {
      const src = buf.subarray(0, len);
      maddr.set(src, offset); // memcpy_toio
      yield emit.copy_to_folio({ addr, len, folio: COPY_FROM_IO, hash: bytesHash(src), data: src.slice() });
    } else {
      const src = maddr.subarray(offset, offset + len);
      buf.set(src); // memcpy_fromio
      yield emit.copy({ addr, len, folio: COPY_FROM_IO, hash: bytesHash(src) });
    }
    yield* follow_pfnmap_end(again);
    return len;
  }
});
