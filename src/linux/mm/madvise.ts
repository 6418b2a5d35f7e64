/**
 * madvise(MADV_DONTNEED) (mm/madvise.c, kernel-spec §4.4): zap a range and free the PTE tables the
 * zap emptied. It runs under the VMA read lock when that is sufficient (the range within one VMA of
 * the caller's own mm), else under mmap_lock for read -- the in-tree precedent for "single VMA
 * only" -- so it runs concurrently with VMA readers, including the fast path's walks.
 */
import { vma_is_dax } from '../drivers/dax/device.js';
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { EINTR, EINVAL, ENOMEM } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { syscall } from '../kernel/syscall.js';
import { current_task } from '../kernel/sched.js';
import { unmap_page_range } from './memory.js';
import { PAGE_ALIGN, is_length } from './mmap.js';
import {
  lock_vma_under_rcu, mmap_read_lock, mmap_read_unlock, mmap_write_lock_killable, mmap_write_unlock, vma_end_read,
  vma_start_write,
} from './mmap_lock.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, VM_HUGEPAGE, VM_LOCKED, VM_PFNMAP, is_vm_hugetlb_page } from './mm_types.js';
import { type MmuGather, tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';

export const MADV_DONTNEED = 4;
export const MADV_HUGEPAGE = 14;
const SYS_MADVISE = name('madvise');

/** is_vma_lock_sufficient(): the range lies in this VMA, which belongs to the caller's own mm. */
function is_vma_lock_sufficient(vma: VmAreaStruct, start: number, end: number): boolean {
  return start >= vma.vm_start && end <= vma.vm_end && current_task().mm === vma.vm_mm;
}

/**
 * madvise_dontneed_single_vma(): zap with reclaim_pt into the call's gather
 * (zap_page_range_single_batched); the TLB flush and the frees come when do_madvise finishes it.
 */
const madvise_dontneed_single_vma = traced('madvise_dontneed_single_vma', function* (
  tlb: MmuGather, vma: VmAreaStruct, start: number, end: number,
): Gen {
  yield* unmap_page_range(tlb, vma, start, end, true);
});

export function sys_madvise(mm: MmStruct, start: number, len: number, advice: number): Gen<number> {
  return syscall(SYS_MADVISE, start, len, advice, () => do_madvise(mm, start, len, advice));
}

interface MadviseWalk {
  /** Each VMA meeting [start, end), with the part of the range it covers. */
  parts: [VmAreaStruct, number, number][];
  /** -ENOMEM when part of the range is unmapped: the advice still applies to the rest. */
  unmapped_error: number;
}

/** madvise_walk_vmas(): the VMAs covering [start, end) (the caller holds mmap_lock). */
function madvise_walk_vmas(mm: MmStruct, start: number, end: number): MadviseWalk {
  const parts: [VmAreaStruct, number, number][] = [];
  for (const v of mm.mm_mt.overlapping(start, end)) parts.push([v, Math.max(start, v.vm_start), Math.min(end, v.vm_end)]);
  const covered = parts.reduce((n, [, from, to]) => n + (to - from), 0);
  return { parts, unmapped_error: covered < end - start ? -ENOMEM : 0 };
}

/**
 * MADV_HUGEPAGE (madvise_update_vma -> vm_flags_set(VM_HUGEPAGE)) under mmap_write_lock: each VMA is
 * write-locked before its flags change. Simplification: the range must cover whole VMAs (the
 * kernel would split a VMA the range covers in part); else -EINVAL.
 */
function* madvise_hugepage(mm: MmStruct, start: number, end: number): Gen<number> {
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  const walk = madvise_walk_vmas(mm, start, end);
  let ret = walk.unmapped_error;
  if (walk.parts.some(([v]) => v.vm_start < start || v.vm_end > end)) ret = -EINVAL;
  if (ret !== -EINVAL) {
    for (const [v] of walk.parts) {
      if (v.vm_flags & VM_HUGEPAGE) continue;
      yield* vma_start_write(v);
      const old = v.vm_flags;
      v.vm_flags |= VM_HUGEPAGE;
      yield emit.vma_flags({ vma: v.id, old, new: v.vm_flags });
    }
  }
  yield* mmap_write_unlock(mm);
  return ret;
}

function* do_madvise(mm: MmStruct, start: number, len: number, advice: number): Gen<number> {
  if (!is_length(len)) return -EINVAL;
  if (advice === MADV_HUGEPAGE && start % PAGE_SIZE === 0) return yield* madvise_hugepage(mm, start, start + PAGE_ALIGN(len));
  if (advice !== MADV_DONTNEED || start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + PAGE_ALIGN(len);
  // madvise_lock(), then madvise_init_tlb(): one gather for the whole call, finished
  // (madvise_finish_tlb) after the walk and before madvise_unlock -- under the VMA lock, after the
  // walk has already dropped it.
  // try_vma_read_lock(): the VMA lock when sufficient ...
  const vma = yield* lock_vma_under_rcu(mm, start);
  if (vma && (is_vm_hugetlb_page(vma) || vma_is_dax(vma))) {
    // Zapping hugetlb through madvise (unmap_single_vma -> __unmap_hugepage_range, not final) is
    // not modelled (hugetlb.ts header): refused instead of zapping PMD leaves as THPs. Nor is a
    // partial zap of a DAX PUD leaf (split_huge_pud, huge_memory.ts header).
    yield* vma_end_read(vma);
    return -EINVAL;
  }
  if (vma && is_vma_lock_sufficient(vma, start, end)) {
    const tlb = tlb_gather_mmu(mm);
    const valid = madvise_dontneed_free_valid_vma(vma);
    if (valid) yield* madvise_dontneed_single_vma(tlb, vma, start, end);
    yield* vma_end_read(vma);
    yield* tlb_finish_mmu(tlb);
    return valid ? 0 : -EINVAL;
  }
  if (vma) yield* vma_end_read(vma);
  // ... else mmap_lock for read, VMA by VMA.
  yield* mmap_read_lock(mm);
  const tlb = tlb_gather_mmu(mm);
  const walk = madvise_walk_vmas(mm, start, end);
  const hugetlb = walk.parts.some(([v]) => is_vm_hugetlb_page(v) || vma_is_dax(v));
  let ret = hugetlb ? -EINVAL : walk.unmapped_error;
  if (!hugetlb) {
    // VMA by VMA, in address order: one the advice may not touch ends the walk, after the ones before it.
    for (const [v, from, to] of walk.parts) {
      if (!madvise_dontneed_free_valid_vma(v)) {
        ret = -EINVAL;
        break;
      }
      yield* madvise_dontneed_single_vma(tlb, v, from, to);
    }
  }
  yield* tlb_finish_mmu(tlb);
  yield* mmap_read_unlock(mm);
  return ret;
}

/**
 * madvise_dontneed_free_valid_vma(): MADV_DONTNEED leaves a pfnmap alone (its PTEs are a driver's,
 * not pages to drop) and an mlocked VMA (MADV_DONTNEED_LOCKED is for that): -EINVAL. (The kernel
 * accepts a hugetlb VMA here, with the range's end rounded down to whole huge pages; the model
 * refuses hugetlb and DAX VMAs before this, in do_madvise, since it does not zap them this way.)
 */
function madvise_dontneed_free_valid_vma(vma: VmAreaStruct): boolean {
  return !(vma.vm_flags & (VM_PFNMAP | VM_LOCKED));
}
