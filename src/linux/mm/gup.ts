/**
 * get_user_pages for remote access (mm/gup.c, kernel-spec §6.2-§6.6). Only the paths
 * __access_remote_vm reaches: no FOLL_PIN, no FOLL_UNLOCKABLE (locked == NULL).
 * get_user_page_vma_locked() is the vmaGup variant's entry (§8.3 item 6): GUP of one page of a VMA
 * the caller holds the per-VMA lock of, instead of the mm under mmap_lock.
 */
import { emit, GupFlags } from '../../trace/vocab/index.js';
import { current, name, no_event, one_event } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  PMD_SIZE, PUD_SIZE, entry_leaf, entry_none, entry_pfn, entry_present, pte_dirty, pte_protnone, pte_write,
} from '../arch/x86/include/pgtable_types.js';
import { untagged_addr_remote } from '../arch/x86/include/uaccess_64.js';
import { EBUSY, EEXIST, EFAULT, EINTR, EINVAL, ENOMEM, EOPNOTSUPP } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { type Folio, PG_dirty, folio_mark_dirty, folio_put, folio_ref_add, is_huge_zero_pfn, is_zero_pfn, page_folio } from './folio.js';
import { touch_pmd } from './huge_memory.js';
import { vma_pgtable_walk_begin, vma_pgtable_walk_end } from './hugetlb.js';
import { vm_normal_page, vm_normal_page_pmd } from './internal.js';
import { handle_mm_fault } from './memory.js';
import { FAULT_FLAG_REMOTE, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, VM_FAULT_ERROR, VM_FAULT_OOM, VM_FAULT_RETRY } from './mm_types.js';
import { mmap_assert_locked, vma_assert_locked } from './mmap_lock.js';
import {
  type MmStruct, type VmAreaStruct, PAGE_SIZE, VM_EXEC, VM_IO, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_PFNMAP, VM_READ,
  VM_SHADOW_STACK, VM_SHARED, VM_WRITE, is_cow_mapping, is_vm_hugetlb_page, vma_is_anonymous, vma_needs_dirty_tracking,
} from './mm_types.js';
import { type EntryPtr, entry_ptr, entry_table, pmd_lock, pud_lock, read_entry, spin_unlock } from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';
import { folio_mark_accessed } from './swap.js';
import { vma_is_secretmem } from './secretmem.js';

// gup_flags (include/linux/mm_types.h public, mm/internal.h internal): request_end events carry
// them, so the vocabulary numbers them.
export const FOLL_WRITE = GupFlags.bits.FOLL_WRITE;
export const FOLL_GET = GupFlags.bits.FOLL_GET;
export const FOLL_DUMP = GupFlags.bits.FOLL_DUMP;
export const FOLL_FORCE = GupFlags.bits.FOLL_FORCE;
export const FOLL_NOWAIT = GupFlags.bits.FOLL_NOWAIT;
export const FOLL_NOFAULT = GupFlags.bits.FOLL_NOFAULT;
export const FOLL_HWPOISON = GupFlags.bits.FOLL_HWPOISON;
export const FOLL_ANON = GupFlags.bits.FOLL_ANON;
export const FOLL_LONGTERM = GupFlags.bits.FOLL_LONGTERM;
export const FOLL_SPLIT_PMD = GupFlags.bits.FOLL_SPLIT_PMD;
export const FOLL_HONOR_NUMA_FAULT = GupFlags.bits.FOLL_HONOR_NUMA_FAULT;
export const FOLL_TOUCH = GupFlags.bits.FOLL_TOUCH;
export const FOLL_TRIED = GupFlags.bits.FOLL_TRIED;
export const FOLL_REMOTE = GupFlags.bits.FOLL_REMOTE;
export const FOLL_PIN = GupFlags.bits.FOLL_PIN;
export const FOLL_UNLOCKABLE = GupFlags.bits.FOLL_UNLOCKABLE;

const WARN_ZERO_PAGES = name('__get_user_pages_locked: 0 pages without FOLL_NOWAIT');
const WARN_GUP_ARGS = name('is_valid_gup_args: gup flags a caller may not pass');

/** Flags GUP sets itself (INTERNAL_GUP_FLAGS; FOLL_FAST_ONLY and FOLL_MADV_POPULATE are not modelled). */
const INTERNAL_GUP_FLAGS = FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_PIN | FOLL_UNLOCKABLE;

/**
 * is_valid_gup_args(): the caller's flags with `to_set` added, or null after a WARN when they carry
 * a flag only GUP sets, FOLL_GET with FOLL_PIN, or FOLL_LONGTERM without FOLL_PIN (the caller then
 * returns -EINVAL). FOLL_PCI_P2PDMA is not modelled.
 */
function is_valid_gup_args(gup_flags: number, to_set: number): Gen<number | null> {
  const flags = gup_flags | to_set;
  const valid = (gup_flags & INTERNAL_GUP_FLAGS) === 0
    && (flags & (FOLL_PIN | FOLL_GET)) !== (FOLL_PIN | FOLL_GET)
    && !(flags & FOLL_LONGTERM && !(flags & FOLL_PIN));
  if (valid) return no_event(flags);
  emit.warn({ what: WARN_GUP_ARGS.id, obj: 0 });
  return one_event(null);
}

/** A GUP result: a page (its pfn) with a reference, or -errno. */
export type PageOrErr = number;

export function IS_ERR(p: PageOrErr): boolean {
  return p < 0;
}

/**
 * writable_file_mapping_allowed(): a long-term pin (FOLL_PIN | FOLL_LONGTERM) must not write to a
 * file mapping that needs dirty tracking: writeback would clean and write-protect the folio under
 * the pin. Other GUP writes (ptrace, /proc/PID/mem) are allowed.
 */
function writable_file_mapping_allowed(vma: VmAreaStruct, gup_flags: number): boolean {
  const long_term_pin = (gup_flags & (FOLL_PIN | FOLL_LONGTERM)) === (FOLL_PIN | FOLL_LONGTERM);
  return !long_term_pin || !vma_needs_dirty_tracking(vma);
}

/**
 * check_vma_flags() (§6.5): every check, in the kernel's order. 0 or -errno. hugetlb VMAs take
 * FOLL_FORCE writes like any COW mapping (mainline dropped the reject when hugetlb_wp() learnt to
 * keep a FOLL_FORCE COW read-only); the model has no hugetlb COW, so such a write then fails in
 * hugetlb_fault() (docs/semantics.md, Simplifications).
 */
export function check_vma_flags(vma: VmAreaStruct, gup_flags: number): number {
  const vm_flags = vma.vm_flags;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  const vma_anon = vma_is_anonymous(vma);
  if (vm_flags & (VM_IO | VM_PFNMAP)) return -EFAULT;
  if (gup_flags & FOLL_ANON && !vma_anon) return -EFAULT;
  // FOLL_LONGTERM on fsdax: no fsdax in the model.
  if (gup_flags & FOLL_SPLIT_PMD && is_vm_hugetlb_page(vma)) return -EOPNOTSUPP;
  if (vma_is_secretmem(vma)) return -EFAULT;
  if (write) {
    if (!vma_anon && !writable_file_mapping_allowed(vma, gup_flags)) return -EFAULT;
    // A shadow stack is written only by CALL and WRSS: GUP writes it only as a FOLL_FORCE COW.
    if (!(vm_flags & VM_WRITE) || vm_flags & VM_SHADOW_STACK) {
      if (!(gup_flags & FOLL_FORCE)) return -EFAULT;
      // FOLL_FORCE may only write through a COW mapping (it breaks COW, never writes the file).
      if (!is_cow_mapping(vm_flags)) return -EFAULT;
    }
  } else if (!(vm_flags & VM_READ)) {
    if (!(gup_flags & FOLL_FORCE)) return -EFAULT;
    // FOLL_FORCE may read a PROT_NONE mapping that could be made readable.
    if (!(vm_flags & VM_MAYREAD)) return -EFAULT;
  }
  // arch_vma_access_permitted(): x86 protection keys are not modelled (every VMA has pkey 0, and
  // a FOLL_REMOTE access ignores PKRU anyway), so it always permits.
  return 0;
}

/** gup_vma_lookup(): find_vma, but never below vm_start (GUP no longer expands stacks). */
function gup_vma_lookup(mm: MmStruct, start: number): VmAreaStruct | null {
  const vma = mm.mm_mt.find(start);
  if (!vma || start < vma.vm_start) return null;
  return vma;
}

/**
 * can_follow_write_common(): may FOLL_FORCE write through a read-only entry? Only in a private
 * mapping that could be made writable but is not (a writable one just takes the write fault), and
 * only to an anonymous page this process alone maps (PageAnonExclusive): one a FOLL_FORCE COW
 * already produced. Anything else faults, and do_wp_page() copies or reuses it.
 */
function can_follow_write_common(folio: Folio | null, vma: VmAreaStruct, flags: number): boolean {
  if (!(flags & FOLL_FORCE)) return false;
  if (vma.vm_flags & (VM_MAYSHARE | VM_SHARED)) return false;
  if (!(vma.vm_flags & VM_MAYWRITE)) return false;
  if (vma.vm_flags & VM_WRITE) return false;
  return folio !== null && folio.anon && folio.anon_exclusive;
}

/**
 * can_follow_write_pte(): may a FOLL_WRITE lookup use this PTE without a (COW) fault? Soft-dirty
 * and uffd-wp, which would also ask for the fault, are not modelled.
 */
function can_follow_write_pte(pte: number, folio: Folio | null, vma: VmAreaStruct, flags: number): boolean {
  if (pte_write(pte)) return true;
  return can_follow_write_common(folio, vma, flags);
}

/**
 * gup_can_follow_protnone() (mm/internal.h): a PROT_NONE-looking PTE (x86 pte_protnone: NUMA hinting
 * or a PROT_NONE VMA) is followed unless the caller asked to honor NUMA faults and the VMA is
 * accessible. __access_remote_vm never passes FOLL_HONOR_NUMA_FAULT, so it always follows (§6.6):
 * that is how ptrace's FOLL_FORCE reads a PROT_NONE mapping (§12.10).
 */
function gup_can_follow_protnone(vma: VmAreaStruct, flags: number): boolean {
  if (!(flags & FOLL_HONOR_NUMA_FAULT)) return true;
  return (vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) === 0; // !vma_is_accessible(vma)
}

/** no_page_table(): NULL means "fault it in", except for FOLL_DUMP holes. */
function no_page_table(vma: VmAreaStruct, flags: number): PageOrErr {
  if (flags & FOLL_DUMP && vma_is_anonymous(vma)) return -EFAULT;
  return 0;
}

/** try_grab_folio() for FOLL_GET: one reference per page (the zero page too). */
function* try_grab_folio(folio: Folio, refs: number, flags: number): Gen {
  if (flags & FOLL_GET) yield* folio_ref_add(folio, refs);
}

/** follow_page_pte() (§6.6): returns a page (pfn) with a reference, 0 for "fault", or -errno. */
const follow_page_pte = traced('follow_page_pte', function* (
  vma: VmAreaStruct,
  address: number,
  pmdp: EntryPtr,
  flags: number,
): Gen<PageOrErr> {
  const locked = yield* pte_offset_map_lock(vma.vm_mm, pmdp, address);
  if (!locked) return no_page_table(vma, flags);
  const pte = yield* read_entry(locked.ptep, false);
  // A protnone PTE is present: it is faulted only when gup_can_follow_protnone() says no (were it
  // treated as not present, a FOLL_FORCE read of a populated PROT_NONE page would fault, the fault
  // find the PTE present (handle_pte_fault:young), and GUP retry forever).
  // Not present: none -> no_page_table; a migration entry (or any swap entry) -> NULL, so
  // faultin_page() faults and do_swap_page() waits in migration_entry_wait() (§6.6, §6.7).
  if (!entry_present(pte) || (pte_protnone(pte) && !gup_can_follow_protnone(vma, flags))) {
    yield* pte_unmap_unlock(locked.ptl);
    return entry_none(pte) ? no_page_table(vma, flags) : 0;
  }
  let page = vm_normal_page(vma, pte);
  const folio = page === null ? null : page_folio(page);
  if (flags & FOLL_WRITE && !can_follow_write_pte(pte, folio, vma, flags)) {
    yield* pte_unmap_unlock(locked.ptl);
    return 0; // fault, to break COW
  }
  if (page === null) {
    if (flags & FOLL_DUMP || !is_zero_pfn(entry_pfn(pte))) {
      // A pfn without a struct page (follow_pfn_pte would mark the PTE young): -EEXIST.
      yield* pte_unmap_unlock(locked.ptl);
      return flags & FOLL_DUMP ? -EFAULT : -EEXIST;
    }
    page = entry_pfn(pte);
  }
  const target = page_folio(page);
  yield* try_grab_folio(target, 1, flags);
  if (flags & FOLL_TOUCH) {
    if (flags & FOLL_WRITE && !pte_dirty(pte) && !(target.flags & PG_dirty)) yield* folio_mark_dirty(target);
    // "pte_mkyoung() would be more correct here": the kernel ages the folio, not the PTE.
    yield* folio_mark_accessed(target);
  }
  yield* pte_unmap_unlock(locked.ptl);
  return page;
});

/** can_follow_write_pmd(): may a FOLL_WRITE lookup use this PMD leaf without a fault? */
function can_follow_write_pmd(pmd: number, folio: Folio | null, vma: VmAreaStruct, flags: number): boolean {
  return can_follow_write_pte(pmd, folio, vma, flags); // the same rules, at PMD level
}

/**
 * follow_huge_pmd() (§6.6), pmd_lock held: write rules, the huge zero page refused for FOLL_DUMP,
 * try_grab_folio, FOLL_TOUCH -> touch_pmd (no folio_mark_accessed for a PMD-mapped THP), and the
 * exact subpage. ctx->page_mask = HPAGE_PMD_NR - 1 lets __get_user_pages skip the rest of the
 * THP in one step; __access_remote_vm asks for one page at a time, so it is not used here.
 */
const follow_huge_pmd = traced('follow_huge_pmd', function* (
  vma: VmAreaStruct, address: number, pmdp: EntryPtr, pmd: number, flags: number,
): Gen<PageOrErr> {
  const head = entry_pfn(pmd);
  const folio = page_folio(head);
  const normal = vm_normal_page_pmd(vma, pmd) === null ? null : folio;
  if (flags & FOLL_WRITE && !can_follow_write_pmd(pmd, normal, vma, flags)) return 0; // fault (COW)
  if (flags & FOLL_DUMP && is_huge_zero_pfn(head)) return -EFAULT;
  yield* try_grab_folio(folio, 1, flags);
  if (flags & FOLL_TOUCH) yield* touch_pmd(pmdp, (flags & FOLL_WRITE) !== 0);
  return head + Math.floor((address % PMD_SIZE) / PAGE_SIZE);
});

/** can_follow_write_pud(): may a FOLL_WRITE lookup use this PUD leaf without a fault? */
function can_follow_write_pud(pud: number, folio: Folio | null, vma: VmAreaStruct, flags: number): boolean {
  return can_follow_write_pte(pud, folio, vma, flags); // the same rules, at PUD level
}

/**
 * follow_huge_pud() (mm/gup.c), pud_lock held: pudp_get again under the lock; a write needs
 * can_follow_write_pud (else NULL: fault); not present -> NULL; the exact page within the 1 GiB;
 * try_grab_folio. No FOLL_TOUCH here: since device-dax PUDs map refcounted folios (the devmap
 * removal) follow_huge_pud no longer calls touch_pud. gup_must_unshare() is for anonymous pages,
 * and PUD leaves here are never anonymous. page_mask = HPAGE_PUD_NR - 1 is not used:
 * __access_remote_vm asks for one page at a time.
 */
const follow_huge_pud = traced('follow_huge_pud', function* (
  vma: VmAreaStruct, address: number, pudp: EntryPtr, flags: number,
): Gen<PageOrErr> {
  const pud = yield* read_entry(pudp, false); // pudp_get
  const head = entry_pfn(pud);
  if (flags & FOLL_WRITE && !can_follow_write_pud(pud, entry_present(pud) ? page_folio(head) : null, vma, flags)) return 0;
  if (!entry_present(pud)) return 0;
  yield* try_grab_folio(page_folio(head), 1, flags);
  return head + Math.floor((address % PUD_SIZE) / PAGE_SIZE);
});

/**
 * follow_page_mask(): walk PGD -> PUD -> PMD locklessly, then follow_page_pte. The caller holds
 * mmap_lock, or -- `vma_locked`, the vmaGup variant (kernel-spec §8.3 item 6) -- the VMA's per-VMA
 * read lock instead: the lockless upper-level reads and pte_offset_map_lock() are the same either
 * way (PTE tables are RCU-freed; the VMA lock keeps free_pgtables() off this VMA's range).
 */
const follow_page_mask = traced('follow_page_mask', function* (
  vma: VmAreaStruct,
  address: number,
  flags: number,
  vma_locked = false,
): Gen<PageOrErr> {
  if (vma_locked) yield* vma_assert_locked(vma);
  else yield* mmap_assert_locked(vma.vm_mm);
  // vma_pgtable_walk_begin/end around the walk, as mm/gup.c does: for hugetlb VMAs the hugetlb
  // VMA lock (read) keeps a shared PMD table from being unshared meanwhile (mm/hugetlb.ts).
  yield* vma_pgtable_walk_begin(vma);
  const page = yield* follow_page_mask_walk(vma, address, flags);
  yield* vma_pgtable_walk_end(vma);
  return page;
});

/** The walk of follow_page_mask() (hugetlb PMDs are PMD leaves: follow_huge_pmd; device-dax PUD leaves: follow_huge_pud). */
function* follow_page_mask_walk(vma: VmAreaStruct, address: number, flags: number): Gen<PageOrErr> {
  const mm = vma.vm_mm;
  const pgd = yield* read_entry(entry_ptr(mm.pgd, address), true);
  if (entry_none(pgd)) return no_page_table(vma, flags);
  // follow_pud_mask(): pudp_get; a leaf is followed under pud_lock (follow_huge_pud).
  const pudp = entry_ptr(entry_table(pgd), address);
  const pud = yield* read_entry(pudp, true);
  if (!entry_present(pud)) return no_page_table(vma, flags);
  if (entry_leaf(pud)) {
    const ptl = yield* pud_lock(mm);
    const page = yield* follow_huge_pud(vma, address, pudp, flags);
    yield* spin_unlock(ptl);
    return page === 0 ? no_page_table(vma, flags) : page;
  }
  const pmdp = entry_ptr(entry_table(pud), address);
  const pmd = yield* read_entry(pmdp, true); // pmdp_get_lockless
  if (!entry_present(pmd)) return no_page_table(vma, flags);
  if (entry_leaf(pmd)) {
    if (pte_protnone(pmd) && !gup_can_follow_protnone(vma, flags)) return no_page_table(vma, flags);
    // A leaf: pmd_lock, re-read and re-classify under it (kernel-spec §3.6).
    const ptl = yield* pmd_lock(mm, pmdp);
    const again = yield* read_entry(pmdp, false); // pmdp_get
    if (!entry_present(again)) {
      yield* spin_unlock(ptl);
      return no_page_table(vma, flags);
    }
    if (!entry_leaf(again)) {
      // Split meanwhile: a PTE table now.
      yield* spin_unlock(ptl);
      return yield* follow_page_pte(vma, address, pmdp, flags);
    }
    const page = yield* follow_huge_pmd(vma, address, pmdp, again, flags);
    yield* spin_unlock(ptl);
    return page;
  }
  return yield* follow_page_pte(vma, address, pmdp, flags);
}

/** vm_fault_to_errno() */
function vm_fault_to_errno(ret: number): number {
  if (ret & VM_FAULT_OOM) return -ENOMEM;
  if (ret & VM_FAULT_ERROR) return -EFAULT;
  return 0;
}

/**
 * faultin_page(): fault the page in for GUP. 0 = retry the lookup, else -errno. With `vma_locked`
 * (vmaGup) the fault runs under the caller's per-VMA read lock with FAULT_FLAG_VMA_LOCK, as a user
 * fault does in do_user_addr_fault(): VM_FAULT_RETRY then means the handler has already released
 * the VMA lock (e.g. vmf_anon_prepare() could not trylock mmap_lock) -- -EBUSY, as the kernel's
 * faultin_page() reports a dropped lock; the caller must not touch the VMA again.
 */
const faultin_page = traced('faultin_page', function* (
  vma: VmAreaStruct,
  address: number,
  flags: number,
  vma_locked = false,
): Gen<number> {
  if (flags & FOLL_NOFAULT) return -EFAULT;
  let fault_flags = 0;
  if (flags & FOLL_WRITE) fault_flags |= FAULT_FLAG_WRITE;
  if (flags & FOLL_REMOTE) fault_flags |= FAULT_FLAG_REMOTE;
  if (vma_locked) fault_flags |= FAULT_FLAG_VMA_LOCK;
  // No FOLL_UNLOCKABLE (locked == NULL): no FAULT_FLAG_ALLOW_RETRY, so the fault keeps mmap_lock
  // (or, vma_locked, the VMA lock) held even across I/O.
  const ret = yield* handle_mm_fault(vma, address, fault_flags);
  if (ret & VM_FAULT_ERROR) return vm_fault_to_errno(ret);
  if (ret & VM_FAULT_RETRY) return vma_locked ? -EBUSY : -EFAULT;
  return 0;
});

/** __get_user_pages() (§6.4): pages[] receives pfns with references. Count, or -errno. */
const __get_user_pages = traced('__get_user_pages', function* (
  mm: MmStruct,
  start: number,
  nr_pages: number,
  gup_flags: number,
  pages: number[],
): Gen<number> {
  start = yield* untagged_addr_remote(mm, start);
  let vma: VmAreaStruct | null = null;
  let i = 0;
  let ret = 0;
  outer: while (nr_pages > 0) {
    if (!vma || start >= vma.vm_end) {
      vma = gup_vma_lookup(mm, start);
      if (!vma) {
        ret = -EFAULT;
        break;
      }
      ret = check_vma_flags(vma, gup_flags);
      if (ret) break;
    }
    for (;;) {
      if (current().fatalSignal) {
        ret = -EINTR;
        break outer;
      }
      const page = yield* follow_page_mask(vma, start, gup_flags);
      if (page === 0) {
        ret = yield* faultin_page(vma, start, gup_flags);
        if (ret === 0) continue; // retry the lookup
        break outer;
      }
      // -EEXIST (a proper entry but no struct page) is an error too, as every caller here wants
      // the pages; it is returned as it is, not turned into -EFAULT.
      if (IS_ERR(page)) {
        ret = page;
        break outer;
      }
      pages.push(page);
      break;
    }
    i++;
    start += PAGE_SIZE;
    nr_pages--;
  }
  if (ret < 0) yield emit.gup_error({ addr: start, errno: -ret });
  return i > 0 ? i : ret;
});

/** get_user_pages_remote() -> __get_user_pages_locked(), with locked == NULL (§6.3). */
export const get_user_pages_remote = traced('get_user_pages_remote', function* (
  mm: MmStruct,
  start: number,
  nr_pages: number,
  gup_flags: number,
  pages: number[],
): Gen<number> {
  // Remote callers always touch and are foreign.
  const flags = yield* is_valid_gup_args(gup_flags, FOLL_TOUCH | FOLL_REMOTE);
  if (flags === null) return -EINVAL;
  yield* mmap_assert_locked(mm);
  // __get_user_pages_locked(): a reference per page wanted (FOLL_PIN, pin_user_pages_remote's,
  // is refused above).
  gup_flags = flags | FOLL_GET;
  const ret = yield* __get_user_pages(mm, start, nr_pages, gup_flags, pages);
  if (ret === 0 && !(gup_flags & FOLL_NOWAIT)) {
    yield emit.warn({ what: WARN_ZERO_PAGES.id, obj: 0 });
    return -EFAULT;
  }
  return ret;
});

export interface PageAndVma {
  page: PageOrErr;
  vma: VmAreaStruct | null;
}

/** get_user_page_vma_remote() (§6.2): one page with a reference and its VMA, or an error. */
export function* get_user_page_vma_remote(mm: MmStruct, addr: number, gup_flags: number): Gen<PageAndVma> {
  if (gup_flags & FOLL_NOWAIT) return { page: -EINVAL, vma: null };
  const pages: number[] = [];
  const got = yield* get_user_pages_remote(mm, addr, 1, gup_flags, pages);
  if (got < 0) return { page: got, vma: null };
  const vma = mm.mm_mt.load(addr) ?? null;
  if (!vma) {
    yield* folio_put(page_folio(pages[0]!));
    return { page: -EINVAL, vma: null };
  }
  return { page: pages[0]!, vma };
}

/**
 * get_user_page_vma_locked(): GUP one page of a VMA the caller holds the per-VMA read lock of --
 * the vmaGup variant, David Hildenbrand's "new GUP interface that consumes a VMA instead of an MM"
 * (seeds/003, kernel-spec §8.3 item 6). The caller has locked the VMA (lock_vma_under_rcu), checked
 * it with check_vma_flags() and made sure addr lies inside it; this is then __get_user_pages' per-page
 * step (§6.4 steps 3-6) with the VMA lock in place of mmap_lock: follow_page_mask (FOLL_TOUCH:
 * folio_mark_accessed / touch_pmd), on a miss faultin_page with FAULT_FLAG_VMA_LOCK and a retried
 * lookup. Flags as get_user_pages_remote() adds them: FOLL_TOUCH | FOLL_REMOTE, and FOLL_GET (a
 * page is wanted).
 * Returns the page (pfn) with a reference; -EBUSY when the fault returned VM_FAULT_RETRY and the
 * VMA lock is gone (fall back to mmap_lock); or -errno with the VMA lock still held.
 */
export const get_user_page_vma_locked = traced('get_user_page_vma_locked', function* (
  vma: VmAreaStruct,
  addr: number,
  gup_flags: number,
): Gen<PageOrErr> {
  gup_flags |= FOLL_TOUCH | FOLL_REMOTE | FOLL_GET;
  yield* vma_assert_locked(vma);
  let ret: number;
  for (;;) {
    if (current().fatalSignal) {
      ret = -EINTR;
      break;
    }
    const page = yield* follow_page_mask(vma, addr, gup_flags, true);
    if (page === 0) {
      ret = yield* faultin_page(vma, addr, gup_flags, true);
      if (ret === 0) continue; // the VMA lock is still held: retry the lookup
      if (ret === -EBUSY) return ret; // lock dropped by the fault handler: no gup_error, a fallback
      break;
    }
    if (page === -EEXIST) {
      ret = page; // a pfn without a struct page, and a page was wanted
      break;
    }
    if (IS_ERR(page)) {
      ret = page;
      break;
    }
    return page;
  }
  yield emit.gup_error({ addr, errno: -ret });
  return ret;
});
