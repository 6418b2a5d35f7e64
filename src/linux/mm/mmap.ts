/**
 * mmap(2), munmap(2), VMA lookup and stack expansion (mm/mmap.c, mm/vma.c; kernel-spec §1.5, §4.1,
 * §8.1, §10).
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { TASK_SIZE } from '../arch/x86/include/pgtable_types.js';
import { untag } from '../arch/x86/include/uaccess_64.js';
import { EINTR, EINVAL, ENOMEM } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { syscall } from '../kernel/syscall.js';
import { type AddressSpace, create_file } from './filemap.js';
import {
  mmap_read_lock, mmap_read_unlock, mmap_write_downgrade, mmap_write_lock, mmap_write_lock_killable,
  mmap_write_unlock, vma_mark_detached, vma_start_write,
} from './mmap_lock.js';
import {
  HPAGE_SIZE, type HugetlbfsMapping, hugetlb_vm_ops, hugetlbfs_file, hugetlbfs_file_mmap,
} from './hugetlb.js';
import { free_pgtables, unmap_vmas } from './memory.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import {
  type MmStruct, type VmAreaStruct, type VmOperations, PAGE_SIZE, VM_ACCESS_FLAGS, VM_DONTEXPAND, VM_EXEC, VM_GROWSDOWN, VM_HUGETLB,
  VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE, vma_lookup,
} from './mm_types.js';
import {
  remove_vma, vm_area_alloc, vma_iter_clear, vma_iter_store_new, vma_merge_new_range, vms_clear_ptes,
  vms_complete_munmap_vmas, vms_gather_munmap_vmas,
} from './vma.js';

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x100;
export const MAP_HUGETLB = 0x40000;

export { vma_lookup };

/** Top-down allocation starts below the stack's gap (mmap_base). */
export const MMAP_BASE = 0x7f0000000000;
/** stack_guard_gap: 256 pages. */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** RLIMIT_STACK default: 8 MiB. */
export const STACK_RLIMIT = 8 << 20;

const SYS_MMAP = name('mmap');
const SYS_MUNMAP = name('munmap');

/** Operations of file mappings: filemap_fault, filemap_map_pages, filemap_page_mkwrite. */
export const generic_file_vm_ops: VmOperations = { name: 'generic_file_vm_ops', map_pages: true, fault: true, page_mkwrite: true };
/**
 * Operations of shared anonymous memory (shmem): no ->page_mkwrite, and shmem cannot write back, so
 * a shared writable mapping of it is writable from its first fault (vm_page_prot).
 */
export const shmem_anon_vm_ops: VmOperations = { name: 'shmem_anon_vm_ops', map_pages: true, fault: true };

export function PAGE_ALIGN(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * A length a memory syscall can take: a number of bytes. A workload module may pass anything, and
 * one that is not (NaN, Infinity) would otherwise map a VMA with no bounds, unmap everything above
 * the address, or split a VMA nowhere: -EINVAL.
 */
export function is_length(len: number): boolean {
  return Number.isSafeInteger(len) && len >= 0;
}

/** A length mmap and munmap take: a number of bytes above 0. */
function valid_length(len: number): boolean {
  return is_length(len) && len > 0;
}

/** find_vma(): the first VMA ending above addr. */
export function find_vma(mm: MmStruct, addr: number): VmAreaStruct | null {
  return mm.mm_mt.find(addr) ?? null;
}

/** calc_vm_prot_bits() | calc_vm_flag_bits() | mm->def_flags | VM_MAY*. */
export function vm_flags_for(prot: number, flags: number): number {
  let vm = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (prot & PROT_READ) vm |= VM_READ;
  if (prot & PROT_WRITE) vm |= VM_WRITE;
  if (prot & PROT_EXEC) vm |= VM_EXEC;
  if (flags & MAP_SHARED) vm |= VM_SHARED | VM_MAYSHARE;
  if (flags & MAP_GROWSDOWN) vm |= VM_GROWSDOWN;
  return vm;
}

/** get_unmapped_area() top-down: the highest gap of `len` below MMAP_BASE. */
export function get_unmapped_area(mm: MmStruct, len: number): number {
  let top = MMAP_BASE;
  const vmas = mm.mm_mt.all();
  for (let i = vmas.length - 1; i >= 0; i--) {
    const v = vmas[i]!;
    if (v.vm_start >= top) continue;
    if (v.vm_end <= top - len) return top - len;
    top = v.vm_start;
  }
  return top - len;
}

export interface MmapRequest {
  addr: number;
  len: number;
  prot: number;
  flags: number;
  file?: AddressSpace | null;
  pgoff?: number;
}

/**
 * mmap_region() (§10), as __mmap_region() orders it:
 *  - __mmap_setup(): gather what MAP_FIXED covers (split, write-lock, detach), leaving the old VMAs
 *    in the tree, and clear their PTEs and page tables there (vms_clean_up_area), with the mm
 *    write-locked;
 *  - merge with a neighbour (vma_merge_new_range), or allocate a new VMA, write-locked, and store it
 *    over the old ones, so RCU readers find it locked until mmap_write_unlock;
 *  - __mmap_complete(): free the old VMAs. So the new VMA is never one of them, and until the
 *    store a lockless walk finds an old one, write-locked, not a hole.
 */
const mmap_region = traced('mmap_region', function* (
  mm: MmStruct, addr: number, len: number, vm_flags: number, file: AddressSpace | null, pgoff: number,
  ops: VmOperations | null,
): Gen<number> {
  const end = addr + len;
  const old = yield* vms_gather_munmap_vmas(mm, addr, end);
  if (old.length > 0) yield* vms_clear_ptes(mm, old, addr, end, true);
  const merged = yield* vma_merge_new_range(mm, { start: addr, end, flags: vm_flags, ops, file, pgoff }, old);
  if (!merged) {
    const vma = yield* vm_area_alloc(mm, addr, end, vm_flags, ops, file, pgoff);
    yield* vma_start_write(vma);
    yield* vma_iter_store_new(mm, vma, old);
  }
  if (old.length > 0) yield* vms_complete_munmap_vmas(mm, old, addr, end, true, true);
  return addr;
});

/**
 * do_mmap() as vm_mmap_pgoff() runs it: mmap_write_lock_killable, map, mmap_write_unlock.
 * Returns the address or -errno.
 */
export function sys_mmap(mm: MmStruct, req: MmapRequest): Gen<number> {
  const len = PAGE_ALIGN(req.len);
  return syscall(SYS_MMAP, req.addr, len, req.prot, () => do_mmap_locked(mm, req, len));
}

function* do_mmap_locked(mm: MmStruct, req: MmapRequest, len: number): Gen<number> {
  if (!valid_length(len) || req.addr % PAGE_SIZE !== 0) return -EINVAL;
  const anonymous = (req.flags & MAP_ANONYMOUS) !== 0;
  let file = req.file ?? null;
  let ops: VmOperations | null = null;
  let pgoff = req.pgoff ?? 0;
  if (!anonymous) {
    if (!file) return -EINVAL;
    ops = generic_file_vm_ops;
  } else if (req.flags & MAP_SHARED) {
    // Shared anonymous memory is shmem: file-backed, not vma_is_anonymous().
    file = yield* create_file(`shmem:${mm.id}:${req.addr.toString(16)}`, new Uint8Array(len));
    ops = shmem_anon_vm_ops;
    pgoff = 0;
  }
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  let addr = req.addr;
  if (!(req.flags & MAP_FIXED) || addr === 0) addr = get_unmapped_area(mm, len);
  if (addr <= 0) {
    yield* mmap_write_unlock(mm);
    return -ENOMEM;
  }
  // A private anonymous mapping's vm_pgoff is its address in pages (do_mmap()): what merging checks.
  if (!file) pgoff = addr / PAGE_SIZE;
  const ret = yield* mmap_region(mm, addr, len, vm_flags_for(req.prot, req.flags), file, pgoff, ops);
  yield* mmap_write_unlock(mm);
  return ret;
}

/**
 * What a special file's or a driver's ->mmap makes of a mapping: its vm_ops, extra vm_flags, the
 * file, and work done on the new VMA (e.g. remap_pfn_range) with mmap_lock still held for write.
 */
export interface SpecialMapping {
  readonly ops: VmOperations;
  readonly file?: AddressSpace | null;
  readonly vm_flags?: number;
  /** The ->mmap hook: 0 or -errno (an error is returned; the VMA is not torn down, unlike the kernel). */
  readonly mmap?: (vma: VmAreaStruct) => Gen<number>;
}

/**
 * mmap(2) of a special file (a device like /dev/mem, memfd_secret): as sys_mmap, but the VMA gets
 * the file's vm_ops and flags, and ->mmap runs on it under the write lock. The kernel calls ->mmap
 * before the VMA is inserted; here it runs right after, while the VMA is still write-locked (no
 * reader can see it before mmap_write_unlock either way). Returns the address or -errno.
 */
export function sys_mmap_special(mm: MmStruct, req: MmapRequest, special: SpecialMapping): Gen<number> {
  const len = PAGE_ALIGN(req.len);
  return syscall(SYS_MMAP, req.addr, len, req.prot, () => do_mmap_special(mm, req, len, special));
}

function* do_mmap_special(mm: MmStruct, req: MmapRequest, len: number, special: SpecialMapping): Gen<number> {
  if (!valid_length(len) || req.addr % PAGE_SIZE !== 0) return -EINVAL;
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  let addr = req.addr;
  if (!(req.flags & MAP_FIXED) || addr === 0) addr = get_unmapped_area(mm, len);
  const vm_flags = vm_flags_for(req.prot, req.flags) | (special.vm_flags ?? 0);
  let ret = yield* mmap_region(mm, addr, len, vm_flags, special.file ?? null, req.pgoff ?? 0, special.ops);
  const vma = vma_lookup(mm, addr);
  if (vma && special.mmap) {
    const err = yield* special.mmap(vma);
    if (err < 0) ret = err;
  }
  yield* mmap_write_unlock(mm);
  return ret;
}

export interface HugetlbMmapRequest {
  addr: number;
  len: number;
  prot: number;
  /** MAP_SHARED / MAP_PRIVATE, MAP_FIXED, and MAP_ANONYMOUS | MAP_HUGETLB for anonymous hugetlb. */
  flags: number;
  /** A hugetlbfs file (null with MAP_ANONYMOUS | MAP_HUGETLB: an internal one is made). */
  file?: HugetlbfsMapping | null;
  /** Offset into the file, in base pages (a multiple of 512). */
  pgoff?: number;
}

/**
 * mmap(2) of a hugetlbfs file, or MAP_ANONYMOUS | MAP_HUGETLB (ksys_mmap_pgoff's
 * hugetlb_file_setup: an internal hugetlbfs file). Address, length and offset must be huge-page
 * aligned (-EINVAL). Returns the address or -errno. Runs sys_mmap_special with the hugetlbfs
 * file's operations (mm/hugetlb.ts).
 */
export function* sys_mmap_hugetlb(mm: MmStruct, req: HugetlbMmapRequest): Gen<number> {
  const pgoff = req.pgoff ?? 0;
  if (req.len % HPAGE_SIZE !== 0 || req.addr % HPAGE_SIZE !== 0 || pgoff % (HPAGE_SIZE / PAGE_SIZE) !== 0) return -EINVAL;
  let file = req.file ?? null;
  if (!file) {
    if (!(req.flags & MAP_ANONYMOUS) || !(req.flags & MAP_HUGETLB)) return -EINVAL;
    file = hugetlbfs_file(`anon_hugepage:${mm.id}:${req.addr.toString(16)}`, req.len);
  }
  const flags = req.flags & ~(MAP_ANONYMOUS | MAP_HUGETLB);
  return yield* sys_mmap_special(
    mm, { addr: req.addr, len: req.len, prot: req.prot, flags, file, pgoff },
    { ops: hugetlb_vm_ops, file, vm_flags: VM_HUGETLB | VM_DONTEXPAND, mmap: hugetlbfs_file_mmap },
  );
}

/** do_vmi_munmap()'s checks of the range: page-aligned, below TASK_SIZE, and not empty. */
function munmap_range_ok(start: number, len: number): boolean {
  return start % PAGE_SIZE === 0 && start <= TASK_SIZE && valid_length(len) && len <= TASK_SIZE - start;
}

/**
 * __vm_munmap(unlock = true), the munmap(2) path (§4.1): gather (split, write-lock, detach) under
 * the write lock, downgrade, then zap and free page tables under the read lock. The range is
 * checked with the write lock held (do_vmi_munmap()), so a bad one takes and drops the lock.
 */
export const __vm_munmap = traced('__vm_munmap', function* (mm: MmStruct, start: number, len: number): Gen<number> {
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  if (!munmap_range_ok(start, len)) {
    yield* mmap_write_unlock(mm);
    return -EINVAL;
  }
  const end = start + PAGE_ALIGN(len);
  const vmas = yield* vms_gather_munmap_vmas(mm, start, end);
  vma_iter_clear(mm, vmas);
  if (vmas.length === 0) {
    yield* mmap_write_unlock(mm);
    return 0;
  }
  yield* mmap_write_downgrade(mm);
  yield* vms_complete_munmap_vmas(mm, vmas, start, end, false);
  yield* mmap_read_unlock(mm);
  return 0;
});

export function sys_munmap(mm: MmStruct, start: number, len: number): Gen<number> {
  // untagged_addr(): the caller's own mask (all ones until it enables LAM)
  return syscall(SYS_MUNMAP, start, len, 0, () => __vm_munmap(mm, untag(mm, start), len));
}

/**
 * expand_downwards(): grow a VM_GROWSDOWN VMA down to addr if the rlimit and the guard gap to the
 * VMA below allow (no gap is kept to another stack or to an inaccessible VMA, a guard mapping), and
 * vm_pgoff can move down with it (the pages keep their offsets). The stack gets its anon_vma first
 * (anon_vma_prepare; here a flag).
 */
function* expand_downwards(vma: VmAreaStruct, addr: number): Gen<boolean> {
  if (!(vma.vm_flags & VM_GROWSDOWN)) return false;
  addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const prev = vma.vm_mm.mm_mt.prev(vma.vm_start);
  const guarded = prev !== undefined && !(prev.vm_flags & VM_GROWSDOWN) && (prev.vm_flags & VM_ACCESS_FLAGS) !== 0;
  if (guarded && addr - prev.vm_end < STACK_GUARD_GAP) return false;
  const grow = (vma.vm_start - addr) / PAGE_SIZE;
  if (grow > vma.vm_pgoff || vma.vm_end - addr > STACK_RLIMIT) return false;
  vma.anon_vma = true;
  yield* vma_start_write(vma);
  vma.vm_start = addr;
  vma.vm_pgoff -= grow;
  vma.vm_mm.mm_mt.store(vma);
  yield emit.vma_adjust({ vma: vma.id, start: vma.vm_start, end: vma.vm_end, pgoff: vma.vm_pgoff });
  return true;
}

/**
 * expand_stack() (called with mmap_lock held for read): drop it, take it for write, find the VMA
 * at or above addr and try to grow it down. Success: downgrade and return the VMA (read lock held).
 * Failure: unlock and return null -- the caller holds no lock any more.
 */
export const expand_stack = traced('expand_stack', function* (mm: MmStruct, addr: number): Gen<VmAreaStruct | null> {
  yield* mmap_read_unlock(mm);
  if (yield* mmap_write_lock_killable(mm)) return null;
  let vma = find_vma(mm, addr);
  if (vma && vma.vm_start > addr && !(yield* expand_downwards(vma, addr))) vma = null;
  yield emit.expand_stack({ addr, vma: vma ? vma.id : 0 });
  if (!vma) {
    yield* mmap_write_unlock(mm);
    return null;
  }
  yield* mmap_write_downgrade(mm);
  return vma;
});

/**
 * exit_mmap() (mm/mmap.c, kernel-spec §4.1): the last mm_users reference is gone. Zap everything
 * under the read lock (a fullmm gather), then under the write lock free the page tables, and detach
 * and free every VMA. The PGD itself goes with the mm_struct (mmdrop), not here.
 */
export const exit_mmap = traced('exit_mmap', function* (mm: MmStruct): Gen {
  yield* mmap_read_lock(mm);
  const all = [...mm.mm_mt.all()];
  const tlb = tlb_gather_mmu(mm, true);
  yield* unmap_vmas(tlb, all);
  yield* mmap_read_unlock(mm);
  // MMF_OOM_SKIP; then mt_clear_in_rcu(): nobody can look the tree up any more (no mm_users).
  yield* mmap_write_lock(mm);
  yield* free_pgtables(tlb, all, 0, 0, true);
  yield* tlb_finish_mmu(tlb);
  for (const vma of all) {
    mm.mm_mt.erase(vma);
    yield* vma_mark_detached(vma);
    yield* remove_vma(vma);
  }
  yield* mmap_write_unlock(mm);
});
