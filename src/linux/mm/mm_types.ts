/**
 * The structures of the mm (include/linux/mm_types.h): struct mm_struct, struct vm_area_struct,
 * struct folio with its page flags (page-flags.h), the page-table page (struct ptdesc), and struct
 * address_space (include/linux/fs.h), with the kernel's field names; the vm_flags bits and small
 * helpers of include/linux/mm.h.
 *
 * A header: the mm files import their structures from here and never each other for them. The
 * structures point to one another (a folio to its address_space, which holds folios; an mm to its
 * page tables, whose locks may be the mm's), so they are declared together, as one header.
 */
import { name } from '../../sim/sim.js';
import type { Task } from '../../sim/task.js';
import { LruList, PageFlags, VM_REFCNT_EXCLUDE_READERS_FLAG, VmFault, VmFlags } from '../../trace/vocab/index.js';
import { PageBytes } from '../../trace/page-bytes.js';
import {
  PAGE_SHIFT, PAGE_SIZE, PMD_LEVEL, PTE_LEVEL, PTRS_PER_TABLE, _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER,
  entry_size,
} from '../arch/x86/include/pgtable_types.js';
import { kernel, type Kernel, perKernel } from '../kernel.js';
import { RwSemaphore } from '../kernel/locking/rwsem.js';
import { SpinLock } from '../kernel/locking/spinlock.js';
import { MapleTree } from '../lib/maple_tree.js';

// enum vm_fault_reason (include/linux/mm_types.h): the fault event's result bits.
export const VM_FAULT_OOM = VmFault.bits.VM_FAULT_OOM;
export const VM_FAULT_SIGBUS = VmFault.bits.VM_FAULT_SIGBUS;
export const VM_FAULT_MAJOR = VmFault.bits.VM_FAULT_MAJOR;
export const VM_FAULT_SIGSEGV = VmFault.bits.VM_FAULT_SIGSEGV;
export const VM_FAULT_NOPAGE = VmFault.bits.VM_FAULT_NOPAGE;
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
/** FAULT_FLAG_DEFAULT: what a user fault starts with (FAULT_FLAG_INTERRUPTIBLE is not modelled). */
export const FAULT_FLAG_DEFAULT = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;

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
/** VM_SPECIAL: mappings the VMA code never merges, expands or splits for mlock. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** madvise(MADV_HUGEPAGE): THP wanted for this VMA. */
export const VM_HUGEPAGE = VmFlags.bits.VM_HUGEPAGE;
export const VM_SHADOW_STACK = VmFlags.bits.VM_SHADOW_STACK;

/** The flags mprotect may change; VMAs merge only if the rest is equal. */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

/** Set by a writer or detacher to keep readers out (kernel-spec §2.1); vma_refcnt events show it. */
export { VM_REFCNT_EXCLUDE_READERS_FLAG };
export const VM_REFCNT_LIMIT = VM_REFCNT_EXCLUDE_READERS_FLAG - 1;
/** vm_lock_seq starts at UINT_MAX: never equal to an mm_lock_seq that has been reached. */
export const UINT_MAX = 0xffffffff;

export { PAGE_SHIFT, PAGE_SIZE };

// page flags (include/linux/page-flags.h), as bits of folio.flags: events carry them, so the
// vocabulary numbers them.
export const PG_locked = PageFlags.bits.PG_locked;
export const PG_writeback = PageFlags.bits.PG_writeback;
export const PG_referenced = PageFlags.bits.PG_referenced;
export const PG_uptodate = PageFlags.bits.PG_uptodate;
export const PG_dirty = PageFlags.bits.PG_dirty;
export const PG_lru = PageFlags.bits.PG_lru;
export const PG_active = PageFlags.bits.PG_active;
export const PG_reserved = PageFlags.bits.PG_reserved;
export const PG_workingset = PageFlags.bits.PG_workingset;
export const PG_swapcache = PageFlags.bits.PG_swapcache;
export const PG_swapbacked = PageFlags.bits.PG_swapbacked;
export const PG_unevictable = PageFlags.bits.PG_unevictable;
export const PG_idle = PageFlags.bits.PG_idle;

// enum lru_list (the index of a list in lru_lists()), with LRU_NONE for a folio on no list.
export const LRU_NONE = LruList.codes.none;
export const LRU_INACTIVE_ANON = LruList.codes.inactive_anon;
export const LRU_ACTIVE_ANON = LruList.codes.active_anon;
export const LRU_INACTIVE_FILE = LruList.codes.inactive_file;
export const LRU_ACTIVE_FILE = LruList.codes.active_file;
export const LRU_UNEVICTABLE = LruList.codes.unevictable;
/** The multi-gen LRU's lists (lrugen->folios[gen][type]): the generation is in the folio's flags. */
export const LRU_GEN_ANON_LIST = LruList.codes.gen_anon;
export const LRU_GEN_FILE_LIST = LruList.codes.gen_file;

// --- struct folio -------------------------------------------------------------------------------

/**
 * struct folio with real data bytes. A "struct page *" is its pfn; page_folio() (mm/folio.ts)
 * finds the folio through the kernel's pfn map.
 *
 * Its bytes are allocated on demand, page by page (PageBytes, trace/page-bytes.ts): folio_alloc()
 * hands out zeroed memory, and a folio holds only what was written, so a 1 GiB folio of which a
 * page is written holds a page. Every reader goes through read() and sees the bytes a full
 * buffer would hold.
 */
export class Folio {
  readonly id: number;
  readonly pfn: number;
  readonly nr_pages: number;
  /** The folio's contents (what has been written; the rest reads as zeros). */
  readonly bytes: PageBytes;
  _refcount = 1;
  /** Small folio: _mapcount + 1 mappings; large: total mappings. Stored as the mapping count. */
  mapcount = 0;
  flags = 0;
  lru = LRU_NONE;
  mapping: AddressSpace | null = null;
  index = 0;
  freed = false;
  /**
   * PageAnonExclusive: this anonymous folio is mapped by one process only, so that process may
   * write to it without a COW copy (set by folio_add_new_anon_rmap and by remove_migration_ptes for
   * an exclusive entry, given up by try_to_migrate). The kernel keeps it per page; a folio is
   * mapped whole here (a PTE-mapped large anon folio is split first). Kernel-only state, as GUP and
   * do_wp_page read it: no event carries it.
   */
  anon_exclusive = false;
  /** folio->swap: the swap slot (offset on swap device 0) while PG_swapcache is set, else 0. */
  swap = 0;
  /**
   * Tasks sleeping until PG_locked clears (folio_lock, migration_entry_wait_on_locked): the
   * kernel's hashed folio_wait_table, one queue per folio here. Kernel-only state: the replay model
   * sees the sched_block / sched_wakeup events.
   */
  readonly waiters: Task[] = [];

  constructor(
    readonly order: number,
    readonly anon: boolean,
  ) {
    const k = kernel();
    this.id = k.newId();
    this.nr_pages = 1 << order;
    this.pfn = k.allocPfns(this.nr_pages);
    this.bytes = new PageBytes(this.nr_pages * PAGE_SIZE);
    if (anon) this.flags |= PG_swapbacked;
    const map = pages();
    for (let i = 0; i < this.nr_pages; i++) map.set(this.pfn + i, this);
  }

  size(): number {
    return this.nr_pages * PAGE_SIZE;
  }

  /**
   * The bytes [offset, offset + len) for copying from: a view (of the folio's own bytes or of
   * shared zeros) or a copy, so it must never be written through (write() is the way in).
   */
  read(offset: number, len: number): Uint8Array {
    return this.bytes.read(offset, len);
  }

  /** Store `src` at `offset`. */
  write(src: Uint8Array, offset = 0): void {
    this.bytes.write(src, offset);
  }

  /** copy_highpage()-style: `len` bytes of `src` from `srcOffset` into this folio at `dstOffset`. */
  copyFrom(src: Folio, srcOffset: number, len: number, dstOffset = 0): void {
    this.bytes.copyFrom(src.bytes, srcOffset, len, dstOffset);
  }
}

/** Folios by every pfn they cover (mem_map). */
export const pages: (k?: Kernel) => Map<number, Folio> = perKernel('pages', () => new Map<number, Folio>());

// --- page-table pages (struct ptdesc) -------------------------------------------------------------

const C_PTL = name('ptl');
const C_PMD_LOCK = name('pmd_lock');

/**
 * A page-table page: 512 numeric entries and, for PTE and PMD tables, its own split lock (the lock
 * lives in the table page's ptdesc, so a walker derives it from the entry it read and must
 * revalidate). A table pointer entry holds the table page's pfn, resolved through tables(), so a
 * walker holding a stale entry reaches the stale (maybe freed) table, as on hardware.
 */
export class PageTable {
  readonly id: number;
  readonly pfn: number;
  readonly entries = new Float64Array(PTRS_PER_TABLE);
  /** Split PTL (PTE tables) or split PMD lock (PMD tables); null for upper levels. */
  readonly ptl: SpinLock | null;
  freed = false;
  /** Queued to be freed after an RCU grace period (tlb_remove_table, pte_free_defer). */
  pendingFree = false;
  /**
   * PMD tables: the PTE tables deposited with each huge PMD entry, by entry index
   * (pgtable_trans_huge_deposit keeps them in the PMD table's ptdesc, pmd_huge_pte()).
   */
  readonly deposited = new Map<number, PageTable[]>();
  /**
   * PMD tables shared by hugetlb mappings (mm/hugetlb.ts, huge_pmd_share): ptdesc->pt_share_count,
   * the number of PUD entries pointing here besides the first (0: not shared). Kernel-only state:
   * the replay model sees the PUD entries (pgtable_set), not the count.
   */
  pt_share_count = 0;

  constructor(
    readonly level: number,
    /** First virtual address this table maps. */
    readonly base: number,
  ) {
    const k = kernel();
    this.id = k.newId();
    this.pfn = k.allocPfns(1);
    this.ptl = level === PTE_LEVEL ? new SpinLock(C_PTL) : level === PMD_LEVEL ? new SpinLock(C_PMD_LOCK) : null;
    tables().set(this.pfn, this);
  }

  /** Virtual address mapped by entry `idx`. */
  addrOf(idx: number): number {
    return this.base + idx * entry_size(this.level);
  }

  populated(): number {
    let n = 0;
    for (let i = 0; i < PTRS_PER_TABLE; i++) if (this.entries[i] !== 0) n++;
    return n;
  }
}

/**
 * Table pages by pfn. A freed one stays, flagged, while a stale walker may still hold its pfn, so
 * the walker is caught (pgtable.ts FreedTables says how long).
 */
export const tables: (k?: Kernel) => Map<number, PageTable> = perKernel('pgtables', () => new Map<number, PageTable>());

// --- struct address_space (include/linux/fs.h) ----------------------------------------------------

const C_I_MMAP = name('i_mmap_rwsem');
const C_INVALIDATE = name('invalidate_lock');

/**
 * A file's page cache and rmap tree (mm/filemap.ts). A file is a named byte array; page-cache
 * folios hold copies of its pages.
 */
export class AddressSpace {
  readonly id: number;
  /** i_pages: page-cache folios by page index. */
  readonly i_pages = new Map<number, Folio>();
  readonly i_mmap_rwsem = new RwSemaphore(C_I_MMAP);
  readonly invalidate_lock = new RwSemaphore(C_INVALIDATE);

  constructor(
    readonly name: string,
    /** The file's contents. */
    readonly data: Uint8Array,
    /** Ticks one page read-in takes. */
    readonly io_ticks: number,
  ) {
    this.id = kernel().newId();
  }

  get nr_pages(): number {
    return Math.ceil(this.data.length / PAGE_SIZE);
  }
}


/**
 * vm_operations_struct, reduced to what the emulated paths use: a name for the trace, and
 * `->access` for VM_IO/VM_PFNMAP mappings (generic_access_phys).
 */
export interface VmOperations {
  readonly name: string;
  /**
   * ->map_pages is set: the ops' ->fault may run under the VMA lock alone (every such ops has been
   * audited for it; vmf_can_call_fault). Fault-around itself is not modelled, only this.
   */
  readonly map_pages?: true;
  /** ->fault is set: faults on a none PTE fill it (without it, as in mmap_mem_ops, they get SIGBUS). */
  readonly fault?: true;
  /**
   * ->page_mkwrite is set: the filesystem wants to hear of the first write to each page of a shared
   * mapping (generic_file_vm_ops' filemap_page_mkwrite), so such a mapping needs dirty tracking
   * (vma_needs_dirty_tracking): its vm_page_prot is not writable.
   */
  readonly page_mkwrite?: true;
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

/** folio_is_file_lru(): a folio of the file LRU (not swap-backed). */
export function folio_is_file_lru(folio: Folio): boolean {
  return (folio.flags & PG_swapbacked) === 0;
}

/**
 * The entry bits vma->vm_page_prot gives every mapping of this VMA, before a fault adds write and
 * dirty (vm_get_page_prot(), x86 protection_map, then vma_set_page_prot()). A VMA with no access is
 * PAGE_NONE: not present, not user, _PAGE_PROTNONE -- what a FOLL_FORCE read (ptrace,
 * /proc/PID/mem) faults into a PROT_NONE mapping, which GUP follows and the owner's own loads still
 * fault on. Otherwise present, user and young, and writable only for a shared writable mapping that
 * wants no write notification (shmem, secretmem, hugetlbfs, device-dax): its pages are writable
 * from the first fault, read or write, and from mprotect(PROT_WRITE) on. A private mapping's is never
 * writable (its writes go through the fault, which may COW), nor that of a shared one whose
 * filesystem wants to hear of each first write (vma_set_page_prot() drops the write bit).
 */
export function vm_page_prot(vma: VmAreaStruct): number {
  if (!(vma.vm_flags & VM_ACCESS_FLAGS)) return _PAGE_PROTNONE | _PAGE_ACCESSED;
  const prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
  // vma_wants_writenotify(): with soft-dirty tracking (off until clear_refs: a new VMA has
  // VM_SOFTDIRTY) and uffd-wp not modelled, it is whether the mapping needs dirty tracking.
  return is_shared_writable(vma) && !vma_needs_dirty_tracking(vma) ? prot | _PAGE_RW : prot;
}

function is_shared_writable(vma: VmAreaStruct): boolean {
  return (vma.vm_flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE);
}

/**
 * vma_needs_dirty_tracking() (mm/mmap.c): must the first write to each page of this shared writable
 * mapping fault, so that the filesystem hears of it and the dirty page is accounted? The kernel
 * says yes for ->page_mkwrite or ->pfn_mkwrite (no ops here have the latter), then (unless
 * VM_PFNMAP) asks vma_fs_can_writeback(). In the model
 * the mappings that write back (generic files: a regular file's page cache goes back to its disk)
 * are exactly those with ->page_mkwrite; shmem, secretmem, hugetlbfs and device-dax cannot write
 * back, and have none.
 */
export function vma_needs_dirty_tracking(vma: VmAreaStruct): boolean {
  return is_shared_writable(vma) && vma.vm_ops?.page_mkwrite === true;
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

/** vma_lookup(): the VMA containing addr, or null. */
export function vma_lookup(mm: MmStruct, addr: number): VmAreaStruct | null {
  return mm.mm_mt.load(addr) ?? null;
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
export const mms: (k?: Kernel) => Map<number, MmStruct> = perKernel('mms', () => new Map<number, MmStruct>());

/** VMAs allocated and not yet freed: the vm_area_cachep objects in use. */
export const vmas: (k?: Kernel) => Map<number, VmAreaStruct> = perKernel('vmas', () => new Map<number, VmAreaStruct>());

/**
 * vm_area_cachep's free objects (SLAB_TYPESAFE_BY_RCU): vm_area_free() pushes, vm_area_alloc()
 * pops -- most recently freed first, one list per kernel (across mms), so reuse is deterministic.
 * A freed object stays a vm_area_struct (typesafe), so readers under RCU may still look at it.
 */
export function vm_area_cachep(k: Kernel = kernel()): VmAreaStruct[] {
  return k.subsystem('vm_area_cachep', () => [] as VmAreaStruct[]);
}
