/**
 * struct mm_struct and struct vm_area_struct (include/linux/mm_types.h), with the kernel's field
 * names, and the vm_flags bits (include/linux/mm.h).
 */
import { name } from '../../sim/sim.js';
import { VM_REFCNT_EXCLUDE_READERS_FLAG, VmFault, VmFlags } from '../../trace/vocab/index.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../arch/x86/include/pgtable_types.js';
import type { Task } from '../../sim/task.js';
import { kernel, type Kernel } from '../kernel.js';
import { RwSemaphore } from '../kernel/locking/rwsem.js';
import { SpinLock } from '../kernel/locking/spinlock.js';
import { MapleTree } from '../lib/maple_tree.js';
import type { AddressSpace } from './filemap.js';
import type { PageTable } from './pgtable.js';

// enum vm_fault_reason (include/linux/mm_types.h): the fault event's result bits.
export const VM_FAULT_OOM = VmFault.bits.VM_FAULT_OOM;
export const VM_FAULT_SIGBUS = VmFault.bits.VM_FAULT_SIGBUS;
export const VM_FAULT_MAJOR = VmFault.bits.VM_FAULT_MAJOR;
export const VM_FAULT_SIGSEGV = VmFault.bits.VM_FAULT_SIGSEGV;
export const VM_FAULT_RETRY = VmFault.bits.VM_FAULT_RETRY;
/** The huge path gave up; the fault continues at PTE level. */
export const VM_FAULT_FALLBACK = VmFault.bits.VM_FAULT_FALLBACK;
export const VM_FAULT_COMPLETED = VmFault.bits.VM_FAULT_COMPLETED;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

// enum fault_flag
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_ALLOW_RETRY = 1 << 2;
export const FAULT_FLAG_TRIED = 1 << 5;
export const FAULT_FLAG_KILLABLE = 1 << 4;
export const FAULT_FLAG_USER = 1 << 6;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_VMA_LOCK = 1 << 12;

// vm_flags (include/linux/mm.h): events carry them (vma_init, vma_flags), so the vocabulary numbers them.
export const VM_NONE = 0;
export const VM_READ = VmFlags.bits.VM_READ;
export const VM_WRITE = VmFlags.bits.VM_WRITE;
export const VM_EXEC = VmFlags.bits.VM_EXEC;
export const VM_SHARED = VmFlags.bits.VM_SHARED;
export const VM_MAYREAD = VmFlags.bits.VM_MAYREAD;
export const VM_MAYWRITE = VmFlags.bits.VM_MAYWRITE;
export const VM_MAYEXEC = VmFlags.bits.VM_MAYEXEC;
export const VM_MAYSHARE = VmFlags.bits.VM_MAYSHARE;
export const VM_GROWSDOWN = VmFlags.bits.VM_GROWSDOWN;
export const VM_PFNMAP = VmFlags.bits.VM_PFNMAP;
export const VM_LOCKED = VmFlags.bits.VM_LOCKED;
export const VM_IO = VmFlags.bits.VM_IO;
export const VM_DONTEXPAND = VmFlags.bits.VM_DONTEXPAND;
export const VM_ACCOUNT = VmFlags.bits.VM_ACCOUNT;
export const VM_HUGETLB = VmFlags.bits.VM_HUGETLB;
export const VM_MIXEDMAP = VmFlags.bits.VM_MIXEDMAP;
/** madvise(MADV_HUGEPAGE): THP wanted for this VMA. */
export const VM_HUGEPAGE = VmFlags.bits.VM_HUGEPAGE;

/** The flags mprotect may change; VMAs merge only if the rest is equal. */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

/** Set by a writer or detacher to keep readers out (kernel-spec §2.1); vma_refcnt events show it. */
export { VM_REFCNT_EXCLUDE_READERS_FLAG };
export const VM_REFCNT_LIMIT = VM_REFCNT_EXCLUDE_READERS_FLAG - 1;
/** vm_lock_seq starts at UINT_MAX: never equal to an mm_lock_seq that has been reached. */
export const UINT_MAX = 0xffffffff;

export { PAGE_SHIFT, PAGE_SIZE };

/**
 * vm_operations_struct, reduced to what the emulated paths use: a name for the trace, and
 * `->access` for VM_IO/VM_PFNMAP mappings (generic_access_phys).
 */
export interface VmOperations {
  readonly name: string;
  readonly access?: (vma: VmAreaStruct, addr: number, buf: Uint8Array, len: number, write: boolean) => Generator<0, number, void>;
}

export class VmAreaStruct {
  readonly id: number;
  /**
   * vm_refcnt: 0 detached; 1 attached (unlocked or write-locked); n+1 with n readers; with the
   * EXCLUDE_READERS flag added while a writer or detacher waits for readers to leave.
   */
  vm_refcnt = 0;
  vm_lock_seq = UINT_MAX;
  /** Freed to the (typesafe-by-RCU) VMA cache: the object may still be read, and reused. */
  freed = false;

  vm_flags = 0;
  vm_ops: VmOperations | null = null;
  vm_file: AddressSpace | null = null;
  vm_pgoff = 0;

  /**
   * A new slab object: a detached VMA; the caller then sets its flags and backing (vma_init event).
   * vm_area_alloc() (mm/vma.ts) takes a freed object from vm_area_cachep first, see reinit().
   */
  constructor(
    public vm_mm: MmStruct,
    public vm_start: number,
    public vm_end: number,
  ) {
    this.id = kernel().newId();
    vmas().set(this.id, this);
  }

  /**
   * vma_init() on an object vm_area_cachep hands out again (SLAB_TYPESAFE_BY_RCU, kernel-spec §2.1):
   * the same object -- the same `id`, which names the slab slot, not one lifetime -- now a detached
   * VMA of `mm` over [start, end) with fresh lock state (refcnt 0, vm_lock_seq UINT_MAX) and no
   * backing. A lockless reader still holding the pointer from before the free sees these contents.
   */
  reinit(mm: MmStruct, start: number, end: number): this {
    this.vm_mm = mm;
    this.vm_start = start;
    this.vm_end = end;
    this.vm_refcnt = 0;
    this.vm_lock_seq = UINT_MAX;
    this.freed = false;
    this.vm_flags = 0;
    this.vm_ops = null;
    this.vm_file = null;
    this.vm_pgoff = 0;
    this.anon_vma = false;
    this.hugetlb_vma_lock = undefined;
    vmas().set(this.id, this);
    return this;
  }

  /** anon_vma: set once an anonymous page is mapped (modelled as a flag; no anon_vma chains). */
  anon_vma = false;
  /** hugetlb VMAs: the hugetlb VMA lock (vm_private_data), made on first use. */
  hugetlb_vma_lock: RwSemaphore | undefined;
}

export function vma_is_anonymous(vma: VmAreaStruct): boolean {
  return vma.vm_ops === null;
}

export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

export function is_vm_hugetlb_page(vma: VmAreaStruct): boolean {
  return (vma.vm_flags & VM_HUGETLB) !== 0;
}

export function vma_pages(vma: VmAreaStruct): number {
  return (vma.vm_end - vma.vm_start) >>> PAGE_SHIFT;
}

const C_MMAP_LOCK = name('mmap_lock');
const C_PAGE_TABLE_LOCK = name('page_table_lock');
const C_ARG_LOCK = name('arg_lock');

export class MmStruct {
  readonly id: number;
  readonly mm_mt = new MapleTree<VmAreaStruct>();
  readonly mmap_lock = new RwSemaphore(C_MMAP_LOCK);
  /** seqcount: odd while mmap_lock is write-held. */
  mm_lock_seq = 0;
  readonly page_table_lock = new SpinLock(C_PAGE_TABLE_LOCK);
  readonly arg_lock = new SpinLock(C_ARG_LOCK);
  /** rcuwait: the one task sleeping until VMA readers drain (vma_start_write / detach). */
  vma_writer_wait: Task | null = null;
  mm_users = 1;
  mm_count = 1;
  arg_start = 0;
  arg_end = 0;
  env_start = 0;
  env_end = 0;
  start_stack = 0;
  /**
   * context.untag_mask (x86 LAM, a u64): all ones until LAM is enabled, then ~GENMASK(62, 57).
   * Addresses are numbers with the tag encoded compactly (arch/x86/include/uaccess_64.ts).
   */
  untag_mask = 0xffff_ffff_ffff_ffffn;
  /** context.lam_cr3_mask: X86_CR3_LAM_U57 once LAM is enabled. */
  lam_cr3_mask = 0;
  /** context.flags (MM_CONTEXT_LOCK_LAM ...). */
  context_flags = 0;
  /** Page tables. Set by mm_alloc_pgd(). */
  pgd!: PageTable;

  constructor(readonly owner_pid: number) {
    this.id = kernel().newId();
    mms().set(this.id, this);
  }

  get map_count(): number {
    return this.mm_mt.size;
  }
}

/** Every mm of the kernel (replay reads them; the kernel has no such list, only its tasks' mms). */
export function mms(k: Kernel = kernel()): Map<number, MmStruct> {
  return k.subsystem('mms', () => new Map<number, MmStruct>());
}

/** VMAs allocated and not yet freed: the vm_area_cachep objects in use. */
export function vmas(k: Kernel = kernel()): Map<number, VmAreaStruct> {
  return k.subsystem('vmas', () => new Map<number, VmAreaStruct>());
}

/**
 * vm_area_cachep's free objects (SLAB_TYPESAFE_BY_RCU): vm_area_free() pushes, vm_area_alloc()
 * pops -- most recently freed first, one list per kernel (across mms), so reuse is deterministic.
 * A freed object stays a vm_area_struct (typesafe), so readers under RCU may still look at it.
 */
export function vm_area_cachep(k: Kernel = kernel()): VmAreaStruct[] {
  return k.subsystem('vm_area_cachep', () => [] as VmAreaStruct[]);
}
