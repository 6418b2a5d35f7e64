/**
 * VMA surgery (mm/vma.c, mm/vma_init.c, kernel-spec §10): allocation, split, merge, insertion,
 * the munmap gather (write-lock + detach), and freeing. Every caller holds mmap_lock for write.
 */
import { emit } from '../../trace/vocab/index.js';
import { name, sim } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { down_write, up_write } from '../kernel/locking/rwsem.js';
import type { AddressSpace } from './filemap.js';
import { unmap_region } from './memory.js';
import { vma_mark_attached, vma_mark_detached, vma_start_write } from './mmap_lock.js';
import {
  type MmStruct, type VmOperations, PAGE_SIZE, UINT_MAX, VM_SPECIAL, VmAreaStruct, vm_area_cachep, vmas,
} from './mm_types.js';

const WARN_FREE_ATTACHED = name('vm_area_free: VMA is not detached');

/**
 * vm_area_alloc() + vma_init(): a detached VMA (refcnt 0). vm_area_cachep is SLAB_TYPESAFE_BY_RCU
 * (kernel-spec §2.1): the most recently freed object is handed out again, for any mm, re-initialised
 * in place. Identity in events: a VMA id names the object (the slab slot), so `vma_free` followed by
 * `vma_create` with the same id is that object reused; the replay model drops the record on
 * vma_free and makes a fresh one on vma_create.
 */
export function* vm_area_alloc(
  mm: MmStruct, start: number, end: number, flags: number,
  ops: VmOperations | null, file: AddressSpace | null, pgoff: number,
): Gen<VmAreaStruct> {
  const cached = vm_area_cachep().pop();
  const vma = cached ? cached.reinit(mm, start, end) : new VmAreaStruct(mm, start, end);
  yield emit.vma_create({ vma: vma.id, mm: mm.id, start, end });
  vma.vm_flags = flags;
  vma.vm_ops = ops;
  vma.vm_file = file;
  vma.vm_pgoff = pgoff;
  yield emit.vma_init({ vma: vma.id, flags, file: file ? sim().intern(file.name) : 0, pgoff });
  return vma;
}

/** vm_area_dup(): a copy with fresh lock state (detached, vm_lock_seq UINT_MAX). */
function* vm_area_dup(orig: VmAreaStruct): Gen<VmAreaStruct> {
  const vma = yield* vm_area_alloc(
    orig.vm_mm, orig.vm_start, orig.vm_end, orig.vm_flags, orig.vm_ops, orig.vm_file, orig.vm_pgoff,
  );
  vma.anon_vma = orig.anon_vma;
  vma.vm_lock_seq = UINT_MAX;
  return vma;
}

/**
 * vm_area_free(): back to the SLAB_TYPESAFE_BY_RCU cache at once (no grace period). The object
 * stays readable -- a lockless reader holding a stale pointer sees a detached VMA (refcnt 0) -- until
 * the next vm_area_alloc() reuses it, for this mm or another. (The kernel's slab overwrites
 * vm_start/vm_end with its free pointer meanwhile; readers never get past refcnt 0 to read them.)
 */
export function* vm_area_free(vma: VmAreaStruct): Gen {
  // VM_WARN_ON_ONCE(!vma_is_detached(vma)) -- a reader can never raise refcnt from 0.
  if (vma.vm_refcnt !== 0) yield emit.warn({ what: WARN_FREE_ATTACHED.id, obj: vma.id });
  vma.freed = true;
  vmas().delete(vma.id);
  vm_area_cachep().push(vma);
  yield emit.vma_free({ vma: vma.id });
}

/**
 * vma_set_range(): the VMA's own range. The tree still maps its old range to it: a VMA that shrinks
 * keeps the part it gave up in the tree until a neighbour's store takes it (maple_tree.ts).
 */
function* vma_adjust(vma: VmAreaStruct, start: number, end: number, pgoff: number): Gen {
  vma.vm_start = start;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
  yield emit.vma_adjust({ vma: vma.id, start, end, pgoff });
}

/** vma_set_range() and vma_iter_store() in one step: a VMA that grows takes its new range in the tree. */
function* vma_adjust_stored(vma: VmAreaStruct, start: number, end: number, pgoff: number): Gen {
  vma.vm_start = start;
  vma.vm_end = end;
  vma.vm_pgoff = pgoff;
  vma.vm_mm.mm_mt.store(vma);
  yield emit.vma_adjust({ vma: vma.id, start, end, pgoff });
}

/** vma_prepare()/vma_complete() bracket: i_mmap_rwsem for write around a file VMA's change. */
function* i_mmap_lock_write(file: AddressSpace | null): Gen {
  if (file) yield* down_write(file.i_mmap_rwsem);
}

function* i_mmap_unlock_write(file: AddressSpace | null): Gen {
  if (file) yield* up_write(file.i_mmap_rwsem);
}

/**
 * vma_iter_store_new(): put a write-locked, detached VMA into the tree and attach it. From here on
 * RCU readers can find it (and find it write-locked until mmap_write_unlock). `replaced`: gathered
 * VMAs still in the tree over its range (a MAP_FIXED mmap_region): the one store overwrites them,
 * so a reader finds either an old VMA or the new one, never a hole.
 */
export function* vma_iter_store_new(mm: MmStruct, vma: VmAreaStruct, replaced: readonly VmAreaStruct[] = []): Gen {
  for (const old of replaced) mm.mm_mt.erase(old);
  mm.mm_mt.store(vma);
  yield* vma_mark_attached(vma);
}

/**
 * __split_vma(): split `vma` at addr; the new VMA takes the part below (new_below) or above.
 * Returns the new VMA. Both are write-locked first.
 */
export function* __split_vma(vma: VmAreaStruct, addr: number, new_below: boolean): Gen<VmAreaStruct> {
  const mm = vma.vm_mm;
  const fresh = yield* vm_area_dup(vma);
  const pages_below = (addr - vma.vm_start) / PAGE_SIZE;
  yield* vma_start_write(vma);
  yield* vma_start_write(fresh);
  yield* i_mmap_lock_write(vma.vm_file);
  // The original shrinks, then the new one is stored over the part split off: until that store the
  // tree still maps the part to the original, write-locked, so a lockless reader finds no hole.
  if (new_below) {
    yield* vma_adjust(fresh, vma.vm_start, addr, vma.vm_pgoff);
    yield* vma_adjust(vma, addr, vma.vm_end, vma.vm_pgoff + pages_below);
  } else {
    yield* vma_adjust(fresh, addr, vma.vm_end, vma.vm_pgoff + pages_below);
    yield* vma_adjust(vma, vma.vm_start, addr, vma.vm_pgoff);
  }
  yield* vma_iter_store_new(mm, fresh);
  yield* i_mmap_unlock_write(vma.vm_file);
  return fresh;
}

/** Do `a` and `b` have the attributes of one VMA (is_mergeable_vma: flags, ops, file)? */
function same_attributes(a: VmAreaStruct, flags: number, ops: VmOperations | null, file: AddressSpace | null): boolean {
  return a.vm_flags === flags && a.vm_ops === ops && a.vm_file === file;
}

/** vma_pages(): the VMA's length in pages. */
function vma_pages(vma: VmAreaStruct): number {
  return (vma.vm_end - vma.vm_start) / PAGE_SIZE;
}

/**
 * Absorb `victims` into `target`, which then spans [start, end): every VMA involved is write-locked,
 * the absorbed ones are detached and freed (commit_merge / vma_complete). `replaced`: gathered
 * VMAs still in the tree over the range (MAP_FIXED), overwritten by the same store.
 */
function* commit_merge(
  target: VmAreaStruct, victims: VmAreaStruct[], start: number, end: number, pgoff: number,
  replaced: readonly VmAreaStruct[] = [],
): Gen {
  const mm = target.vm_mm;
  yield* vma_start_write(target);
  for (const v of victims) yield* vma_start_write(v);
  dup_anon_vma(target, victims);
  yield* i_mmap_lock_write(target.vm_file);
  for (const v of victims) mm.mm_mt.erase(v);
  for (const v of replaced) mm.mm_mt.erase(v);
  yield* vma_adjust_stored(target, start, end, pgoff);
  yield* i_mmap_unlock_write(target.vm_file);
  for (const v of victims) {
    yield* vma_mark_detached(v);
    yield* vm_area_free(v);
  }
}

/**
 * dup_anon_vma(): a VMA that takes over the pages of others takes their anon_vma when it has none
 * (here a flag: the pages' rmap needs one, and a later write fault need not prepare it).
 */
function dup_anon_vma(target: VmAreaStruct, sources: readonly VmAreaStruct[]): void {
  if (!target.anon_vma && sources.some((v) => v.anon_vma)) target.anon_vma = true;
}

/** What mmap wants to map at [start, end), for vma_merge_new_range. */
export interface NewRange {
  start: number;
  end: number;
  flags: number;
  ops: VmOperations | null;
  file: AddressSpace | null;
  pgoff: number;
}

/**
 * vma_merge_new_range(): map [start, end) by growing a neighbour instead of a new VMA, when one has
 * the same attributes and a contiguous vm_pgoff. Merging left, prev grows up over the range;
 * right, next grows down; both ways, prev grows over the range and next, and next is removed.
 * A VM_SPECIAL mapping never merges. Returns the VMA that now maps the range, or null (no merge:
 * the caller allocates). `replaced`: MAP_FIXED's gathered VMAs still in the tree over the range.
 */
export function* vma_merge_new_range(mm: MmStruct, range: NewRange, replaced: readonly VmAreaStruct[]): Gen<VmAreaStruct | null> {
  const { start, end, flags, ops, file, pgoff } = range;
  if (flags & VM_SPECIAL) return null;
  const prev = mm.mm_mt.prev(start);
  const next = mm.mm_mt.find(end);
  const can_merge_left = prev !== undefined && prev.vm_end === start && same_attributes(prev, flags, ops, file)
    && prev.vm_pgoff + vma_pages(prev) === pgoff;
  // The kernel also refuses to merge both ways when prev and next have different anon_vmas. The
  // model's anon_vma is a flag, not an object, so it cannot tell: it merges (docs/semantics.md).
  const can_merge_right = next !== undefined && next.vm_start === end && same_attributes(next, flags, ops, file)
    && next.vm_pgoff === pgoff + (end - start) / PAGE_SIZE;
  if (can_merge_left) {
    const victims = can_merge_right ? [next!] : [];
    yield* commit_merge(prev, victims, prev.vm_start, can_merge_right ? next!.vm_end : end, prev.vm_pgoff, replaced);
    return prev;
  }
  if (can_merge_right) {
    yield* commit_merge(next!, [], start, next!.vm_end, pgoff, replaced);
    return next!;
  }
  return null;
}

/**
 * vma_merge_existing_range(), which vma_modify() tries before any split: [start, end) of `middle`
 * is to take `newflags`. When the range begins at middle's start and prev would then match it
 * (flags, ops, file, contiguous vm_pgoff), or ends at middle's end and next would, merge there:
 *  - all of middle: it is removed, and prev grows over it (and over next, which is removed too,
 *    if it matches as well), or next grows down over it;
 *  - a part: prev grows up to `end` and middle now starts there, or middle now ends at `start` and
 *    next grows down to it. No VMA is made or freed.
 * Write-locks middle, then next, then prev, as the kernel does. Returns the VMA that now covers
 * [start, end), whose flags are `newflags` already, or null: no merge, the caller splits. (The
 * kernel's anon_vma compatibility test is not made: the model's anon_vma is a flag.)
 */
function* vma_merge_existing_range(middle: VmAreaStruct, start: number, end: number, newflags: number): Gen<VmAreaStruct | null> {
  const left_side = start === middle.vm_start;
  const right_side = end === middle.vm_end;
  if (newflags & VM_SPECIAL || (!left_side && !right_side)) return null;
  const mm = middle.vm_mm;
  const prev = left_side ? mm.mm_mt.prev(start) : undefined;
  const next = right_side ? mm.mm_mt.next(middle) : undefined;
  const pgoff = middle.vm_pgoff + (start - middle.vm_start) / PAGE_SIZE;
  const pglen = (end - start) / PAGE_SIZE;
  const matches = (v: VmAreaStruct | undefined): v is VmAreaStruct => v !== undefined && same_attributes(v, newflags, middle.vm_ops, middle.vm_file);
  const merge_left = matches(prev) && prev.vm_end === start && prev.vm_pgoff + vma_pages(prev) === pgoff;
  const merge_right = matches(next) && next.vm_start === end && next.vm_pgoff === pgoff + pglen;
  if (!merge_left && !merge_right) return null;
  yield* vma_start_write(middle);
  if (merge_right) yield* vma_start_write(next);
  if (merge_left) yield* vma_start_write(prev);
  const file = middle.vm_file;
  const removed: VmAreaStruct[] = [];
  dup_anon_vma(merge_left ? prev : next!, merge_left && merge_right ? [next!, middle] : [middle]);
  yield* i_mmap_lock_write(file);
  // Each neighbour grows before middle shrinks, so a lookup in [start, end) finds one of them.
  if (merge_left) {
    if (left_side && right_side) removed.push(middle);
    if (merge_right) removed.push(next!);
    for (const v of removed) mm.mm_mt.erase(v);
    yield* vma_adjust_stored(prev, prev.vm_start, merge_right ? next!.vm_end : end, prev.vm_pgoff);
    if (removed.length === 0) yield* vma_adjust(middle, end, middle.vm_end, middle.vm_pgoff + pglen);
  } else {
    if (left_side) removed.push(middle);
    for (const v of removed) mm.mm_mt.erase(v);
    yield* vma_adjust_stored(next!, start, next!.vm_end, next!.vm_pgoff - pglen);
    if (removed.length === 0) yield* vma_adjust(middle, middle.vm_start, start, middle.vm_pgoff);
  }
  yield* i_mmap_unlock_write(file);
  for (const v of removed) {
    yield* vma_mark_detached(v);
    yield* vm_area_free(v);
  }
  return merge_left ? prev : next!;
}

/**
 * vma_modify_flags(): make [start, end) of `vma` a VMA of its own to take `newflags`: a merge with
 * a neighbour if one matches (vma_merge_existing_range), else split off what lies outside the
 * range. Returns that VMA; the caller then write-locks it and sets the flags.
 */
export function* vma_modify_flags(vma: VmAreaStruct, start: number, end: number, newflags: number): Gen<VmAreaStruct> {
  const merged = yield* vma_merge_existing_range(vma, start, end, newflags);
  if (merged) return merged;
  if (vma.vm_start < start) yield* __split_vma(vma, start, true);
  if (vma.vm_end > end) yield* __split_vma(vma, end, false);
  return vma;
}

/**
 * vms_gather_munmap_vmas(): split the first VMA at start, then write-lock and detach every VMA of
 * [start, end) in address order, splitting the last at end when the loop reaches it. Returns them
 * (in address order). They stay in the mm's tree, as in the kernel
 * (they go to a detached tree, so that an abort could put them back): munmap clears the range at
 * once (vma_iter_clear), MAP_FIXED only when the new mapping is stored over it.
 */
export function* vms_gather_munmap_vmas(mm: MmStruct, start: number, end: number): Gen<VmAreaStruct[]> {
  const first = mm.mm_mt.find(start);
  if (first === undefined || first.vm_start >= end) return [];
  if (first.vm_start < start) yield* __split_vma(first, start, true);
  const gathered: VmAreaStruct[] = [];
  // The last VMA is split inside the loop, once the ones before it are write-locked and detached.
  for (let vma = mm.mm_mt.find(start); vma !== undefined && vma.vm_start < end; vma = mm.mm_mt.next(vma)) {
    if (vma.vm_end > end) yield* __split_vma(vma, end, false);
    yield* vma_start_write(vma);
    yield* vma_mark_detached(vma);
    gathered.push(vma);
  }
  return gathered;
}

/** vma_iter_clear_gfp(): take the gathered VMAs out of the mm's tree (munmap's point of no return). */
export function vma_iter_clear(mm: MmStruct, vmas: readonly VmAreaStruct[]): void {
  for (const vma of vmas) mm.mm_mt.erase(vma);
}

/** remove_vma(): vma_close, fput, then free. */
export function remove_vma(vma: VmAreaStruct): Gen {
  return vm_area_free(vma);
}

/**
 * vms_clear_ptes(): zap and free the page tables under the gathered VMAs. The neighbours outside
 * [start, end) bound what free_pgtables may free; gathered VMAs still in the tree lie inside it.
 */
export function* vms_clear_ptes(mm: MmStruct, vmas: VmAreaStruct[], start: number, end: number, mm_wr_locked: boolean): Gen {
  const prev = mm.mm_mt.prev(start);
  const next = mm.mm_mt.find(end);
  yield* unmap_region(mm, vmas, prev ? prev.vm_end : 0, next ? next.vm_start : 0, mm_wr_locked);
}

/**
 * vms_complete_munmap_vmas(): zap and free what the gathered VMAs mapped, unless that was done
 * already (`ptes_cleared`: MAP_FIXED's vms_clean_up_area), then free them.
 * `mm_wr_locked`: false on the munmap(2) path, which downgraded to the read lock first.
 */
export function* vms_complete_munmap_vmas(
  mm: MmStruct, vmas: VmAreaStruct[], start: number, end: number, mm_wr_locked: boolean, ptes_cleared = false,
): Gen {
  if (!ptes_cleared) yield* vms_clear_ptes(mm, vmas, start, end, mm_wr_locked);
  for (const vma of vmas) yield* remove_vma(vma);
}
