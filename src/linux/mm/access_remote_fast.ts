/**
 * The patch under review: "mm: read remote memory without the mmap lock where possible", patch 3/3
 * of the June 2026 series "mm: __access_remote_vm with per-VMA lock" (seeds/003, kernel-spec §8.3),
 * with the switches of its review (VARIANTS in ../kernel.ts): access_remote_vm_fast() copies what is
 * resident under the per-VMA lock before __access_remote_vm() takes mmap_lock, and the vmaGup
 * alternative runs GUP itself under the VMA lock.
 *
 * Mainline has none of this: __access_remote_vm() (access_remote.ts) calls one hook,
 * access_remote_vm_fast_hook(), which does nothing unless the kernel is built with the series --
 * as the patch's call sits behind its #if CONFIG_PER_VMA_LOCK && CONFIG_MMU_GATHER_RCU_TABLE_FREE.
 */
import { emit } from '../../trace/vocab/index.js';
import { name, no_event, one_event } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { PAGE_SIZE, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL, entry_size } from '../arch/x86/include/pgtable_types.js';
import { untag } from '../arch/x86/include/uaccess_64.js';
import { EBUSY } from '../include/errno.js';
import { type Kernel, kernel, variant } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { local_irq_disable, local_irq_enable } from '../kernel/rcu/tree.js';
import { type Folio, folio_get, folio_mark_dirty_lock, folio_page_idx, folio_put, page_folio } from './folio.js';
import { FOLL_ANON, FOLL_FORCE, FOLL_WRITE, IS_ERR, check_vma_flags, get_user_page_vma_locked } from './gup.js';
import { touch_pmd } from './huge_memory.js';
import { copy_from_folio, copy_to_folio } from './memory.js';
import {
  lock_vma_under_rcu, lock_vma_under_rcu_wait, mmap_lock_speculate_retry, mmap_lock_speculate_try_begin, vma_end_read,
} from './mmap_lock.js';
import {
  type MmStruct, type VmAreaStruct, VM_IO, VM_MAYREAD, VM_PFNMAP, VM_READ, is_vm_hugetlb_page, vma_is_anonymous,
} from './mm_types.js';
import { FW_LEVEL_PMD, FW_LEVEL_PTE, FW_LEVEL_PUD, FW_VMA_LOCKED, type FolioWalk, folio_walk_end, folio_walk_start } from './pagewalk.js';
import { vma_is_secretmem } from './secretmem.js';
import { folio_mark_accessed } from './swap.js';

/**
 * What __access_remote_vm() calls before taking mmap_lock: the bytes it copied from the start of
 * `buf` (the caller does the rest under mmap_lock), or null when it does not run.
 */
export type AccessRemoteVmHook = (
  mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
) => Gen<number | null>;

/**
 * Kernels built with another version of the series (a path module, `--path=./my-v2.ts`): its hook
 * runs where the series' own would. Kept beside the kernel rather than in its KernelBuild, whose
 * module (kernel.ts) sits below the mm types a hook's signature needs.
 */
const patchedKernels = new WeakMap<Kernel, AccessRemoteVmHook>();

/** Build `k` with `hook` in place of the series' fast path. */
export function build_with_access_remote_vm_hook(k: Kernel, hook: AccessRemoteVmHook): void {
  patchedKernels.set(k, hook);
}

/**
 * The series' hook in __access_remote_vm(), in place of the patch's `if (!write)` block: on a kernel
 * built with the fast path, run it -- for a read; with vmaGup, whose GUP under the VMA lock serves
 * writes as well, for a write too -- and return the bytes it copied. null when it does not run
 * (mainline, or a write without vmaGup): __access_remote_vm() then goes straight to mmap_lock.
 * A kernel built with a path module runs that module's hook instead, for reads and writes alike:
 * the module decides what it serves.
 */
export function* access_remote_vm_fast_hook(
  mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number | null> {
  const patch = patchedKernels.get(kernel());
  if (patch) return yield* patch(mm, addr, buf, len, gup_flags);
  if (!kernel().build.fastPath) return null;
  const write = (gup_flags & FOLL_WRITE) !== 0;
  if (write && !variant('vmaGup')) return null;
  return yield* access_remote_vm_fast(mm, addr, buf, len, gup_flags);
}

/**
 * What a read the fast path stops part-way keeps, decided once __access_remote_vm() holds
 * mmap_lock. The part read under the VMA lock and the rest read under mmap_lock are one snapshot
 * only if no VMA changed in between: the VMA can be replaced however few VMAs the range spans
 * (singleVmaOnly does not help). Two switches answer it:
 *  - redoWhole keeps nothing: the mmap_lock path reads the whole range, the first part twice;
 *  - redoIfWritten reads the mm's mmap_lock sequence count before the fast path
 *    (mmap_lock_speculate_try_begin()) and keeps the fast part if no writer took mmap_lock since
 *    (mmap_lock_speculate_retry()): every VMA change is made under it, and it is held now.
 * `seq` null: nothing to check against (redoWhole, or a writer held mmap_lock as the read began),
 * so the fast part goes. The whole value is null when nothing is decided: neither switch, no fast
 * path or a path module's, or a write (it keeps what it wrote: the bytes are in the target).
 */
export type FastPathSpeculation = { seq: number | null } | null;

export function access_remote_vm_fast_begin(mm: MmStruct, gup_flags: number): FastPathSpeculation {
  const k = kernel();
  if (patchedKernels.has(k) || !k.build.fastPath || gup_flags & FOLL_WRITE) return null;
  if (variant('redoWhole')) return { seq: null };
  if (variant('redoIfWritten')) return { seq: mmap_lock_speculate_try_begin(mm) };
  return null;
}

/**
 * Under mmap_lock: should a read the fast path stopped part-way (`copied` of `len` bytes) drop
 * what it copied (fast_path_discard) and start over? See FastPathSpeculation.
 */
export function access_remote_vm_fast_recheck(
  mm: MmStruct, speculation: FastPathSpeculation, addr: number, len: number, copied: number,
): Gen<boolean> {
  const stopped_part_way = copied > 0 && copied < len;
  if (speculation === null || !stopped_part_way) return no_event(false);
  const { seq } = speculation;
  if (seq !== null && !mmap_lock_speculate_retry(mm, seq)) return no_event(false);
  emit.fast_path_discard({ addr: untagged_addr_remote_unlocked(mm, addr), copied });
  return one_event(true);
}

const FALLBACK_NO_VMA_LOCK = name('lock_vma_under_rcu failed');
const FALLBACK_VMA = name('VMA not for the fast path');
const FALLBACK_NOT_PRESENT = name('folio_walk_start: not found');
const FALLBACK_ZERO_PAGE = name('folio_walk_start: zero page');
const FALLBACK_SINGLE_VMA = name('read spans more than one VMA');
const FALLBACK_HUGETLB = name('hugetlb VMA');
const FALLBACK_CHECK_VMA_FLAGS = name('check_vma_flags refused the VMA');
const FALLBACK_FAULT_RETRY = name('VM_FAULT_RETRY: the fault dropped the VMA lock');
const FALLBACK_GUP_ERROR = name('GUP error under the VMA lock');

/** untagged_addr_remote_unlocked() (patch 3/3): READ_ONCE of the untag mask, no lock assertion. */
function untagged_addr_remote_unlocked(mm: MmStruct, addr: number): number {
  return untag(mm, addr);
}

/**
 * The fast path's per-VMA check (patch 3/3): mirror the read side of check_vma_flags() and leave
 * what FW_VMA_LOCKED cannot handle (hugetlb) or what needs ->access (VM_IO/VM_PFNMAP) to the slow
 * path. v1 has no FOLL_ANON check (Usama's review: it re-opens CVE-2018-1120); checkFollAnon adds
 * it. singleVmaOnly (Suren, Lorenzo, David) reads only when the whole range lies in this VMA.
 */
function fast_path_allowed(vma: VmAreaStruct, addr: number, len: number, gup_flags: number): boolean {
  const vm_flags = vma.vm_flags;
  if (vm_flags & (VM_IO | VM_PFNMAP) || is_vm_hugetlb_page(vma) || vma_is_secretmem(vma)) return false;
  const readable = (vm_flags & VM_READ) !== 0 || ((gup_flags & FOLL_FORCE) !== 0 && (vm_flags & VM_MAYREAD) !== 0);
  if (!readable) return false;
  if (variant('checkFollAnon') && gup_flags & FOLL_ANON && !vma_is_anonymous(vma)) return false;
  if (variant('singleVmaOnly') && addr + len > vma.vm_end) return false;
  return true;
}

/**
 * The fast path's VMA lock: lock_vma_under_rcu(), or with waitForWriter lock_vma_under_rcu_wait();
 * when it cannot be had, say so (a fallback after `copied` bytes) and return null.
 */
function* fast_path_lock_vma(mm: MmStruct, addr: number, copied: number): Gen<VmAreaStruct | null> {
  const vma = variant('waitForWriter') ? yield* lock_vma_under_rcu_wait(mm, addr) : yield* lock_vma_under_rcu(mm, addr);
  if (!vma) yield emit.fast_path_fallback({ addr, copied, reason: FALLBACK_NO_VMA_LOCK.id });
  return vma;
}

/**
 * Bytes one walk covers (patch 3/3): to the end of the mapping entry found, bounded by the folio,
 * the VMA and len, so a huge mapping is copied in one walk.
 */
function fast_path_span(fw: FolioWalk, folio: Folio, addr: number, len: number, vma: VmAreaStruct): number {
  const level = fw.level === FW_LEVEL_PUD ? PUD_LEVEL : fw.level === FW_LEVEL_PMD ? PMD_LEVEL : PTE_LEVEL;
  const entry_bytes = entry_size(level);
  const entry_left = entry_bytes - (addr % entry_bytes);
  const offset = addr % PAGE_SIZE;
  const folio_left = (folio.nr_pages - folio_page_idx(folio, fw.page!)) * PAGE_SIZE - offset;
  return Math.min(len, entry_left, folio_left, vma.vm_end - addr);
}

/** The `touch` variant's FOLL_TOUCH, by the level the walk found the entry at. */
function* fast_path_touch(fw: FolioWalk, folio: Folio): Gen {
  if (fw.level === FW_LEVEL_PTE) yield* folio_mark_accessed(folio);
  else if (fw.level === FW_LEVEL_PMD) yield* touch_pmd(fw.entryp, false);
}

/**
 * access_remote_vm_fast() (patch 3/3 v1, kernel-spec §8.3): copy what is resident without mmap_lock,
 * VMA by VMA under the per-VMA lock, one folio_walk_start(FW_VMA_LOCKED) per mapping entry. Stops
 * at the first thing it cannot do (no VMA, a VMA it must not read, a page not present, the zero
 * page) and returns the bytes copied; __access_remote_vm does the rest under mmap_lock (with
 * redoWhole or redoIfWritten, perhaps all of it: see FastPathSpeculation). Compiled only with CONFIG_PER_VMA_LOCK and
 * CONFIG_MMU_GATHER_RCU_TABLE_FREE.
 */
export const access_remote_vm_fast = traced('access_remote_vm_fast', function* (
  mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number> {
  const cfg = kernel().config;
  if (!cfg.CONFIG_PER_VMA_LOCK || !cfg.CONFIG_MMU_GATHER_RCU_TABLE_FREE) return 0;
  addr = untagged_addr_remote_unlocked(mm, addr);
  if (variant('vmaGup')) {
    return yield* access_remote_vm_vma_gup(mm, addr, buf, len, gup_flags);
  }
  let pos = 0;
  while (len > 0) {
    const vma = yield* fast_path_lock_vma(mm, addr, pos);
    if (!vma) break;
    if (!fast_path_allowed(vma, addr, len, gup_flags)) {
      yield* vma_end_read(vma);
      yield emit.fast_path_fallback({ addr, copied: pos, reason: FALLBACK_VMA.id });
      break;
    }
    // Copy as much of this VMA as possible without re-taking the per-VMA lock.
    while (len > 0 && addr < vma.vm_end) {
      const irqOff = variant('irqOffWalk');
      if (irqOff) yield* local_irq_disable();
      const out: { result?: FolioWalk } = {};
      const folio = yield* folio_walk_start(out, vma, addr, FW_VMA_LOCKED);
      const fw = out.result;
      if (!folio || !fw || fw.page === null) {
        if (folio && fw) yield* folio_walk_end(fw, vma);
        if (irqOff) yield* local_irq_enable();
        yield* vma_end_read(vma);
        yield emit.fast_path_fallback({ addr, copied: pos, reason: (folio ? FALLBACK_ZERO_PAGE : FALLBACK_NOT_PRESENT).id });
        return pos;
      }
      // Pin the folio so it stays valid after the PTL is dropped.
      yield* folio_get(folio);
      // touch (Usama): what GUP's FOLL_TOUCH does, under the entry's lock: folio_mark_accessed for
      // a PTE (follow_page_pte), touch_pmd for a PMD-mapped THP (follow_huge_pmd: no
      // folio_mark_accessed there), nothing for a PUD leaf (follow_huge_pud touches nothing).
      if (variant('touch')) yield* fast_path_touch(fw, folio);
      yield* folio_walk_end(fw, vma);
      if (irqOff) yield* local_irq_enable();
      const span = fast_path_span(fw, folio, addr, len, vma);
      // Page by page under the one folio reference, without re-walking the page tables.
      const base = folio_page_idx(folio, fw.page) * PAGE_SIZE + (addr % PAGE_SIZE);
      for (let copied = 0; copied < span; ) {
        const chunk = Math.min(span - copied, PAGE_SIZE - ((base + copied) % PAGE_SIZE));
        yield* copy_from_folio(folio, base + copied, buf, pos + copied, chunk, addr + copied);
        copied += chunk;
      }
      yield* folio_put(folio);
      len -= span;
      pos += span;
      addr += span;
    }
    yield* vma_end_read(vma);
  }
  return pos;
});

/**
 * The vmaGup variant (David Hildenbrand's review of v1, seeds/003; kernel-spec §8.3 item 6): no
 * folio_walk and no re-implemented checks -- GUP itself runs under the per-VMA lock.
 *
 * Per VMA: lock_vma_under_rcu (lock_vma_under_rcu_wait with waitForWriter) at the next address not
 * yet done; check_vma_flags() in full (so FOLL_ANON, read/write permissions with FOLL_FORCE,
 * secretmem and VM_IO/VM_PFNMAP are GUP's own verdicts); then page by page
 * get_user_page_vma_locked(): follow_page_mask under the VMA lock with FOLL_TOUCH (GUP's aging:
 * folio_mark_accessed, touch_pmd), and on a miss handle_mm_fault(FAULT_FLAG_REMOTE |
 * FAULT_FLAG_VMA_LOCK); the page comes with a FOLL_GET reference, the copy goes through the kmap
 * as on the slow path, then folio_put.
 *
 * Behaviour decisions:
 *  - Fall back to the slow path (mmap_lock, mainline GUP) for the rest, at the first address not
 *    yet copied, whenever the VMA lock cannot be had or GUP under it does not give a page: a
 *    check_vma_flags refusal (the slow path then also tries ->access, e.g. generic_access_phys for
 *    VM_IO|VM_PFNMAP, or returns 0 as mainline does), a GUP error (fault SIGBUS/OOM, fatal signal:
 *    the slow path reports it its own way), and VM_FAULT_RETRY -- after which the VMA lock is
 *    already gone (the fault handler released it) and the VMA is not touched again.
 *  - Every page address is processed exactly once: `addr` only advances past bytes copied, a
 *    successful fault keeps the VMA lock and retries the lookup of the same address, and after any
 *    lock drop (between VMAs, or a RETRY) the VMA is looked up again from scratch -- lockless for
 *    the next VMA, under mmap_lock in the slow path.
 *  - Multi-VMA reads: allowed, one lookup per VMA (David: what was merged, split or replaced
 *    meanwhile is simply what is at the next address now; only the structural snapshot across
 *    VMAs is lost, as with v1). With singleVmaOnly the range must lie inside the first VMA, or the
 *    whole request goes to the slow path (Lorenzo's single-VMA fast case).
 *  - hugetlb VMAs fall back: this GUP has no hugetlb path (follow_hugetlb / hugetlb_vma_lock).
 *  - checkFollAnon and touch are implied (check_vma_flags, FOLL_TOUCH); irqOffWalk does not apply
 *    (there is no folio_walk: GUP's walk is RCU-protected through pte_offset_map, and a fault must
 *    be able to sleep).
 *  - Writes (FOLL_WRITE: ptrace POKE, /proc/PID/mem) take this path too: GUP under the VMA lock is
 *    not read-only -- COW and anonymous write faults run with FAULT_FLAG_VMA_LOCK as user stores
 *    do, and a write fault that needs an anon_vma while mmap_lock is contended returns
 *    VM_FAULT_RETRY (vmf_anon_prepare) and falls back. The copy dirties the folio as the slow path
 *    does (folio_mark_dirty_lock).
 */
function* access_remote_vm_vma_gup(
  mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number> {
  const write = (gup_flags & FOLL_WRITE) !== 0;
  let pos = 0;
  while (len > 0) {
    const vma = yield* fast_path_lock_vma(mm, addr, pos);
    if (!vma) break;
    const refuse = is_vm_hugetlb_page(vma) ? FALLBACK_HUGETLB
      : check_vma_flags(vma, gup_flags) ? FALLBACK_CHECK_VMA_FLAGS
      : variant('singleVmaOnly') && addr + len > vma.vm_end ? FALLBACK_SINGLE_VMA
      : null;
    if (refuse) {
      yield* vma_end_read(vma);
      yield emit.fast_path_fallback({ addr, copied: pos, reason: refuse.id });
      break;
    }
    while (len > 0 && addr < vma.vm_end) {
      const page = yield* get_user_page_vma_locked(vma, addr, gup_flags);
      if (IS_ERR(page)) {
        // -EBUSY: VM_FAULT_RETRY, the handler dropped the VMA lock already.
        if (page !== -EBUSY) yield* vma_end_read(vma);
        yield emit.fast_path_fallback({ addr, copied: pos, reason: (page === -EBUSY ? FALLBACK_FAULT_RETRY : FALLBACK_GUP_ERROR).id });
        return pos;
      }
      const folio = page_folio(page);
      const offset = addr % PAGE_SIZE;
      const bytes = Math.min(len, PAGE_SIZE - offset);
      const inFolio = folio_page_idx(folio, page) * PAGE_SIZE + offset;
      if (write) {
        yield* copy_to_folio(folio, inFolio, buf, pos, bytes, addr);
        yield* folio_mark_dirty_lock(folio);
      } else {
        yield* copy_from_folio(folio, inFolio, buf, pos, bytes, addr);
      }
      yield* folio_put(folio); // the FOLL_GET reference (folio_release_kmap)
      len -= bytes;
      pos += bytes;
      addr += bytes;
    }
    yield* vma_end_read(vma);
  }
  return pos;
}
