/**
 * hugetlbfs and hugetlb mappings (mm/hugetlb.c, fs/hugetlbfs/inode.c; kernel-spec §5.4, §4.2,
 * §11.1, §12.11), 2 MiB huge pages only (PMD leaves; no 1 GiB pages, no reservations, no
 * surplus pool accounting):
 *
 *  - hugetlbfs files: an AddressSpace marked hugetlb whose page cache holds order-9 folios
 *    (index in base pages, a multiple of 512). No backing store: a folio starts zeroed and holds
 *    what was written through mappings. Such a file is not in files() (it has no byte contents to
 *    log); the replay model knows its folios through folio_alloc / page_cache_add.
 *  - mmap: VM_HUGETLB | VM_DONTEXPAND, VM_MAYSHARE for MAP_SHARED; huge-page-aligned address and
 *    length; the hugetlb VMA lock (vm_private_data) is allocated at mmap time for shared mappings
 *    (hugetlbfs_file_mmap). MAP_HUGETLB of anonymous memory maps an internal hugetlbfs file. The
 *    mmap(2) entry itself, sys_mmap_hugetlb, is in mm/mmap.ts: the mmap code sits above the fault
 *    and unmap code of this file.
 *  - the hugetlb VMA lock taken for read around page-table walks (vma_pgtable_walk_begin/end) by
 *    GUP and folio_walk_start, for write by the final unmap.
 *  - hugetlb_fault(): hugetlb_fault_mutex for (mapping, index) -> hugetlb VMA lock (read) ->
 *    huge_pte_alloc(), which with PMD sharing takes i_mmap_rwsem (read) in huge_pmd_share() ->
 *    (page cache) -> the PMD lock; lock chain of kernel-spec §11.1.
 *  - huge_pmd_share(): a fault in a VM_MAYSHARE VMA covering a whole PUD-aligned 1 GiB range
 *    whose PUD entry is none looks for another VMA of the same file (i_mmap) mapping the same range
 *    shareably; if that one has a PMD table there, this PUD entry points at it (pt_share_count++).
 *    One table then has two parents: its id, entries and split PMD lock are shared.
 *  - unmap (munmap, exit): hugetlb_zap_begin (hugetlb VMA lock write -> i_mmap_rwsem write),
 *    __unmap_hugepage_range: a shared table is not zapped but unshared (huge_pmd_unshare: clear
 *    this PUD entry, drop the share); an exclusive one has its PMD leaves cleared (the folio
 *    reference goes to the gather). tlb_flush_unshared_tables() before the locks drop:
 *    tlb_remove_table_sync_one() when the table is left with a single user. The table itself is
 *    freed by free_pgtables() of its last user, through the gather (RCU), never while shared.
 *
 * Model restrictions: a table is shared only between mappings of the same file range at the same
 * virtual address (the model's page tables carry one `base` address; the kernel shares whenever
 * the PMD index matches). No hugetlb COW: a MAP_PRIVATE mapping gets private zeroed folios, mapped
 * writable at first fault, and never reads the file's page cache. No partial unmap / split of a
 * hugetlb VMA; mprotect, mremap and MADV_DONTNEED of one return -EINVAL (the generic paths are not
 * hugetlb-aware here, and would treat its PMD leaves as THPs).
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  _PAGE_DIRTY, _PAGE_PSE, _PAGE_RW,
  PMD_LEVEL, PMD_SIZE, PUD_LEVEL, PUD_SIZE,
  entry_none, entry_pfn, entry_present, mk_entry, pmd_addr, pte_dirty,
} from '../arch/x86/include/pgtable_types.js';
import { EINVAL } from '../include/errno.js';
import { kernel } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { down_read, down_write, RwSemaphore, up_read, up_write } from '../kernel/locking/rwsem.js';
import { spin_lock } from '../kernel/locking/spinlock.js';
import { AddressSpace, filemap_add_folio } from './filemap.js';
import {
  type Folio, HPAGE_PMD_ORDER, PG_uptodate, folio_alloc, folio_get, folio_mapcount_dec, folio_mapcount_inc,
  folio_mark_dirty, folio_put, page_folio,
} from './folio.js';
import {
  FAULT_FLAG_WRITE, type MmStruct, PAGE_SIZE, VM_FAULT_SIGBUS, VM_MAYSHARE, VM_WRITE, type VmAreaStruct, type VmOperations,
  is_vm_hugetlb_page, vmas, vm_page_prot,
} from './mm_types.js';
import {
  type MmuGather, tlb_end_vma, tlb_flush_unshared_tables, tlb_remove_folio, tlb_track_range, tlb_unshare_pmd_ptdesc,
} from './mmu_gather.js';
import {
  type EntryPtr, type PageTable, entry_ptr, entry_table,
  pmd_lock, read_entry, set_entry, spin_unlock, table_alloc, table_entry,
} from './pgtable.js';

/** A huge page: 2 MiB, one PMD leaf. */
export const HPAGE_SIZE = PMD_SIZE;
const C_FAULT_MUTEX = name('hugetlb_fault_mutex');
const C_HUGETLB_VMA_LOCK = name('hugetlb_vma_lock');
const HOW_NO_PAGE = name('hugetlb_no_page');
const HOW_NO_PAGE_CACHED = name('hugetlb_no_page:page_cache');
const HOW_NO_PAGE_PRIVATE = name('hugetlb_no_page:private');
const HOW_RACED = name('hugetlb_no_page:raced');
const HOW_PRESENT = name('hugetlb_fault:present');
const HOW_NO_FILE = name('hugetlb_fault:no file');

/** hugetlbfs_vm_ops (fs/hugetlbfs/inode.c). */
export const hugetlb_vm_ops: VmOperations = { name: 'hugetlb_vm_ops', fault: true };

/** A hugetlbfs inode's mapping: page-cache folios are order-9 hugetlb folios. */
export class HugetlbfsMapping extends AddressSpace {
  readonly hugetlb = true;
  constructor(fileName: string, readonly i_size: number) {
    super(fileName, new Uint8Array(0), 0);
  }
}

/** hugetlbfs files by name (a mount of /dev/hugepages), per kernel. */
function hugetlbfs_files(): Map<string, HugetlbfsMapping> {
  return kernel().subsystem('hugetlbfs', () => new Map<string, HugetlbfsMapping>());
}

/** Open (creating if needed) a hugetlbfs file of `size` bytes (rounded up to huge pages). No event: no contents. */
export function hugetlbfs_file(fileName: string, size: number): HugetlbfsMapping {
  const all = hugetlbfs_files();
  let f = all.get(fileName);
  if (!f) {
    f = new HugetlbfsMapping(fileName, Math.ceil(size / HPAGE_SIZE) * HPAGE_SIZE);
    all.set(fileName, f);
  }
  return f;
}

// --- locks --------------------------------------------------------------------------------------

/** hugetlb_fault_mutex_table: a small table of mutexes (rwsems taken for write), by hash. */
const NUM_FAULT_MUTEXES = 8;

/** hugetlb_fault_mutex_hash(mapping, idx) -> the mutex. */
function hugetlb_fault_mutex(mapping: AddressSpace, idx: number): RwSemaphore {
  const table = kernel().subsystem('hugetlb_fault_mutex_table', () =>
    Array.from({ length: NUM_FAULT_MUTEXES }, () => null as RwSemaphore | null));
  const hash = (mapping.id * 31 + Math.floor(idx / (HPAGE_SIZE / PAGE_SIZE))) % NUM_FAULT_MUTEXES;
  table[hash] ??= new RwSemaphore(C_FAULT_MUTEX);
  return table[hash]!;
}

/** The hugetlb VMA lock (struct hugetlb_vma_lock, vm_private_data), made on first use. */
export function hugetlb_vma_lock(vma: VmAreaStruct): RwSemaphore {
  vma.hugetlb_vma_lock ??= new RwSemaphore(C_HUGETLB_VMA_LOCK);
  return vma.hugetlb_vma_lock;
}

export function* hugetlb_vma_lock_read(vma: VmAreaStruct): Gen {
  yield* down_read(hugetlb_vma_lock(vma));
}

export function* hugetlb_vma_unlock_read(vma: VmAreaStruct): Gen {
  yield* up_read(hugetlb_vma_lock(vma));
}

export function* hugetlb_vma_lock_write(vma: VmAreaStruct): Gen {
  yield* down_write(hugetlb_vma_lock(vma));
}

/**
 * __hugetlb_vma_unlock_write_free(): the final unmap releases and frees the VMA lock
 * (vm_private_data = NULL), so huge_pmd_share() no longer considers this VMA a source of tables.
 */
function* __hugetlb_vma_unlock_write_free(vma: VmAreaStruct): Gen {
  yield* up_write(hugetlb_vma_lock(vma));
  vma.hugetlb_vma_lock = undefined;
}

// --- mmap ---------------------------------------------------------------------------------------

/**
 * vma_pgtable_walk_begin() (mm/memory.c, seeds/002): hugetlb VMAs take the hugetlb VMA lock for
 * read, which keeps shared PMD tables (huge_pmd_share) from being unshared under a page-table
 * walker (GUP's follow_page_mask, folio_walk_start).
 */
export function* vma_pgtable_walk_begin(vma: VmAreaStruct): Gen {
  if (is_vm_hugetlb_page(vma)) yield* hugetlb_vma_lock_read(vma);
}

export function* vma_pgtable_walk_end(vma: VmAreaStruct): Gen {
  if (is_vm_hugetlb_page(vma)) yield* hugetlb_vma_unlock_read(vma);
}

/**
 * hugetlbfs_file_mmap(): the VMA gets VM_HUGETLB | VM_DONTEXPAND (as SpecialMapping.vm_flags) and,
 * for shared mappings, its hugetlb VMA lock (hugetlb_reserve_pages -> hugetlb_vma_lock_alloc).
 */
export function* hugetlbfs_file_mmap(vma: VmAreaStruct): Gen<number> {
  if (vma.vm_start % HPAGE_SIZE !== 0 || vma.vm_end % HPAGE_SIZE !== 0) return -EINVAL;
  if (vma.vm_flags & VM_MAYSHARE) hugetlb_vma_lock(vma);
  return 0;
}

// --- page tables --------------------------------------------------------------------------------

/** The index (in base pages) of the huge page at haddr in the VMA's file (vma_hugecache_offset). */
function vma_hugecache_offset(vma: VmAreaStruct, haddr: number): number {
  return vma.vm_pgoff + (haddr - vma.vm_start) / PAGE_SIZE;
}

/** vma_shareable() / want_pmd_share(): VM_MAYSHARE and the VMA covers addr's whole PUD range. */
function want_pmd_share(vma: VmAreaStruct, addr: number): boolean {
  if (!(vma.vm_flags & VM_MAYSHARE)) return false;
  const base = Math.floor(addr / PUD_SIZE) * PUD_SIZE;
  return base >= vma.vm_start && base + PUD_SIZE <= vma.vm_end;
}

interface HugeWalk {
  readonly pudp: EntryPtr;
  /** The PMD slot of the address. */
  readonly pmdp: EntryPtr;
}

/**
 * hugetlb_walk() / huge_pte_offset(): the PMD slot mapping addr in vma's mm, or null when the PGD
 * or PUD entry is none. The caller holds the hugetlb VMA lock or i_mmap_rwsem (the tables cannot
 * be unshared/freed meanwhile).
 */
function* hugetlb_walk(vma: VmAreaStruct, addr: number): Gen<HugeWalk | null> {
  const mm = vma.vm_mm;
  const pgd = yield* read_entry(entry_ptr(mm.pgd, addr), true);
  if (entry_none(pgd)) return null;
  const pudp = entry_ptr(entry_table(pgd), addr);
  const pud = yield* read_entry(pudp, true);
  if (entry_none(pud) || !entry_present(pud)) return null;
  return { pudp, pmdp: entry_ptr(entry_table(pud), addr) };
}

/**
 * page_table_shareable(): the address in svma mapping the same file page as addr in vma, if svma
 * may share its PMD table with vma there (same flags, a shareable VMA covering the whole PUD range,
 * a hugetlb VMA lock not yet freed by a final unmap); 0 otherwise. Model: the same address only.
 */
function page_table_shareable(svma: VmAreaStruct, vma: VmAreaStruct, addr: number, idx: number): number {
  const saddr = svma.vm_start + (idx - svma.vm_pgoff) * PAGE_SIZE;
  if (saddr !== addr) return 0;
  const sbase = Math.floor(saddr / PUD_SIZE) * PUD_SIZE;
  if (svma.vm_flags !== vma.vm_flags) return 0;
  if (sbase < svma.vm_start || sbase + PUD_SIZE > svma.vm_end) return 0;
  if (!svma.hugetlb_vma_lock) return 0; // !svma->vm_private_data
  return saddr;
}

/**
 * i_mmap of a hugetlbfs mapping: the VMAs mapping file page idx. The model keeps no interval tree:
 * every VMA object of the file not yet freed (a VMA leaves i_mmap in free_pgtables, shortly before
 * remove_vma; page_table_shareable's VMA-lock check excludes VMAs past their final zap anyway).
 */
function i_mmap_vmas(mapping: AddressSpace, idx: number): VmAreaStruct[] {
  return [...vmas().values()].filter((v) => v.vm_file === mapping && !v.freed &&
    idx >= v.vm_pgoff && idx < v.vm_pgoff + (v.vm_end - v.vm_start) / PAGE_SIZE);
}

/**
 * huge_pmd_share(): under i_mmap_rwsem (read), find a VMA of another mm mapping this range
 * shareably with a PMD table in place, take a share of it (pt_share_count++) and point this mm's
 * (none) PUD entry at it under page_table_lock -- or drop the share if a racing fault populated
 * the PUD meanwhile. Then pmd_alloc as usual (allocating a table if nothing was shared).
 */
const huge_pmd_share = traced('huge_pmd_share', function* (
  mm: MmStruct, vma: VmAreaStruct, addr: number, pudp: EntryPtr,
): Gen<EntryPtr> {
  const mapping = vma.vm_file!;
  const idx = vma_hugecache_offset(vma, addr);
  yield* down_read(mapping.i_mmap_rwsem);
  let shared: PageTable | null = null;
  for (const svma of i_mmap_vmas(mapping, idx)) {
    if (svma === vma) continue;
    const saddr = page_table_shareable(svma, vma, addr, idx);
    if (!saddr) continue;
    const spte = yield* hugetlb_walk(svma, saddr);
    if (spte) {
      shared = spte.pmdp.table;
      shared.pt_share_count++; // ptdesc_pmd_pts_inc
      break;
    }
  }
  if (shared) {
    yield* spin_lock(mm.page_table_lock);
    const now = yield* read_entry(pudp, false);
    if (entry_none(now)) yield* set_entry(pudp, table_entry(shared)); // pud_populate: a second parent
    else shared.pt_share_count--; // ptdesc_pmd_pts_dec: somebody populated it first
    yield* spin_unlock(mm.page_table_lock);
  }
  const pmd = (yield* table_alloc(mm, pudp, PMD_LEVEL, addr))!; // pmd_alloc
  yield* up_read(mapping.i_mmap_rwsem);
  return entry_ptr(pmd, addr);
});

/** huge_pte_alloc(): the PMD slot for addr, sharing the PMD table when possible. */
function* huge_pte_alloc(mm: MmStruct, vma: VmAreaStruct, addr: number): Gen<EntryPtr> {
  const pud = (yield* table_alloc(mm, entry_ptr(mm.pgd, addr), PUD_LEVEL, addr))!; // pud_alloc
  const pudp = entry_ptr(pud, addr);
  if (want_pmd_share(vma, addr)) {
    const pudv = yield* read_entry(pudp, true);
    if (entry_none(pudv)) return yield* huge_pmd_share(mm, vma, addr, pudp);
  }
  const pmd = (yield* table_alloc(mm, pudp, PMD_LEVEL, addr))!; // pmd_alloc
  return entry_ptr(pmd, addr);
}

/** make_huge_pte(): present, user, young, PSE; writable (and dirty) when the VMA is. */
function make_huge_pte(vma: VmAreaStruct, folio: Folio): number {
  let flags = vm_page_prot(vma) | _PAGE_PSE;
  if (vma.vm_flags & VM_WRITE) flags |= _PAGE_RW | _PAGE_DIRTY;
  return mk_entry(folio.pfn, flags);
}

// --- faults -------------------------------------------------------------------------------------

/**
 * hugetlb_no_page(): the entry is none. Shared: the file's page-cache folio (a reference for the
 * mapping), or a new zeroed one added to the page cache (which keeps the allocation's reference).
 * Private (no hugetlb COW modelled): a new zeroed folio whose allocation reference is the
 * mapping's. Then, under the PMD lock, re-check none, add the rmap and set the PMD leaf.
 */
function* hugetlb_no_page(vma: VmAreaStruct, mapping: AddressSpace, idx: number, ptep: EntryPtr): Gen<{ how: typeof HOW_NO_PAGE; ret: number }> {
  let folio: Folio;
  let how = HOW_NO_PAGE;
  if (vma.vm_flags & VM_MAYSHARE) {
    const cached = mapping.i_pages.get(idx);
    if (cached) {
      how = HOW_NO_PAGE_CACHED;
      folio = cached;
      yield* folio_get(folio); // filemap_lock_hugetlb_folio
    } else {
      folio = yield* folio_alloc(HPAGE_PMD_ORDER, false); // alloc_hugetlb_folio + folio_zero_user
      // __folio_mark_uptodate + hugetlb_add_to_page_cache (the allocation's reference is the cache's).
      yield* filemap_add_folio(mapping, folio, idx, true);
      yield* folio_get(folio); // the mapping's
    }
  } else {
    how = HOW_NO_PAGE_PRIVATE;
    folio = yield* folio_alloc(HPAGE_PMD_ORDER, false, PG_uptodate);
  }
  const ptl = yield* pmd_lock(vma.vm_mm, ptep); // huge_pte_lock
  const now = yield* read_entry(ptep, false);
  if (!entry_none(now)) {
    yield* spin_unlock(ptl);
    yield* folio_put(folio);
    return { how: HOW_RACED, ret: 0 };
  }
  yield* folio_mapcount_inc(folio); // hugetlb_add_file_rmap / hugetlb_add_new_anon_rmap
  yield* set_entry(ptep, make_huge_pte(vma, folio)); // set_huge_pte_at
  yield* spin_unlock(ptl);
  return { how, ret: 0 };
}

/**
 * hugetlb_fault() (handle_mm_fault dispatches hugetlb VMAs here): the caller holds mmap_lock or
 * the VMA lock. hugetlb_fault_mutex -> hugetlb VMA lock (read) -> huge_pte_alloc (maybe
 * huge_pmd_share: i_mmap_rwsem read) -> hugetlb_no_page (PMD lock). A present entry needs nothing
 * (shared mappings are mapped writable; a read finds it young). Emits the fault event.
 */
export const hugetlb_fault = traced('hugetlb_fault', function* (
  vma: VmAreaStruct, address: number, flags: number,
): Gen<number> {
  const mapping = vma.vm_file;
  if (!mapping) {
    yield emit.fault({ vma: vma.id, addr: address, how: HOW_NO_FILE.id, result: VM_FAULT_SIGBUS });
    return VM_FAULT_SIGBUS;
  }
  const mm = vma.vm_mm;
  const haddr = pmd_addr(address);
  const idx = vma_hugecache_offset(vma, haddr);
  const mutex = hugetlb_fault_mutex(mapping, idx);
  yield* down_write(mutex); // mutex_lock(&hugetlb_fault_mutex_table[hash])
  yield* hugetlb_vma_lock_read(vma);
  const ptep = yield* huge_pte_alloc(mm, vma, haddr);
  const entry = yield* read_entry(ptep, true); // huge_ptep_get
  let how = HOW_PRESENT;
  let ret = 0;
  if (entry_none(entry)) {
    const r = yield* hugetlb_no_page(vma, mapping, idx, ptep);
    how = r.how;
    ret = r.ret;
  } else if (flags & FAULT_FLAG_WRITE && !(vma.vm_flags & VM_WRITE)) {
    // hugetlb_wp() (COW) is not modelled. A user write is refused before (access_error), but a
    // FOLL_FORCE write into a read-only private mapping reaches here, which the kernel would copy.
    ret = VM_FAULT_SIGBUS;
  }
  yield* hugetlb_vma_unlock_read(vma);
  yield* up_write(mutex);
  yield emit.fault({ vma: vma.id, addr: address, how: how.id, result: ret });
  return ret;
});

// --- unmap --------------------------------------------------------------------------------------

/**
 * huge_pmd_unshare(): called with the PMD lock of ptep's table, the hugetlb VMA lock and
 * i_mmap_rwsem held for write. If the table is shared, clear this mm's PUD entry and drop the
 * share (tlb_unshare_pmd_ptdesc); the other users keep the table. Returns whether it unshared.
 */
function* huge_pmd_unshare(tlb: MmuGather, walk: HugeWalk, addr: number): Gen<boolean> {
  const table = walk.pmdp.table;
  if (table.pt_share_count === 0) return false;
  yield* set_entry(walk.pudp, 0); // pud_clear
  const base = Math.floor(addr / PUD_SIZE) * PUD_SIZE;
  tlb_unshare_pmd_ptdesc(tlb, table, base, base + PUD_SIZE);
  return true;
}

/**
 * __unmap_hugepage_range(): per PUD range, walk to the PMD table; a shared one is unshared (the
 * whole PUD range skipped); otherwise each PMD leaf is cleared under the PMD lock, its rmap
 * dropped and the folio's mapping reference handed to the gather. Model shortcut: none PMD slots
 * are skipped without an event (the kernel reads each under the lock and finds it none).
 * Ends with tlb_flush_unshared_tables() while the caller still holds the locks.
 */
const __unmap_hugepage_range = traced('__unmap_hugepage_range', function* (
  tlb: MmuGather, vma: VmAreaStruct, start: number, end: number,
): Gen {
  const mm = vma.vm_mm;
  for (let addr = start; addr < end; ) {
    const pud_end = Math.min(end, Math.floor(addr / PUD_SIZE) * PUD_SIZE + PUD_SIZE);
    const walk = yield* hugetlb_walk(vma, addr);
    if (!walk) {
      addr = pud_end;
      continue;
    }
    const ptl = yield* pmd_lock(mm, walk.pmdp);
    const unshared = yield* huge_pmd_unshare(tlb, walk, addr);
    yield* spin_unlock(ptl);
    if (!unshared) {
      const table = walk.pmdp.table;
      for (let a = addr; a < pud_end; a += HPAGE_SIZE) {
        const ptep = entry_ptr(table, a);
        if (entry_none(table.entries[ptep.idx]!)) continue;
        const lock = yield* pmd_lock(mm, ptep);
        const pte = yield* read_entry(ptep, false);
        if (entry_none(pte)) {
          yield* spin_unlock(lock);
          continue;
        }
        yield* set_entry(ptep, 0); // huge_ptep_get_and_clear
        tlb_track_range(tlb, a, a + HPAGE_SIZE); // tlb_remove_huge_tlb_entry
        const folio = page_folio(entry_pfn(pte));
        if (pte_dirty(pte) && vma.vm_flags & VM_MAYSHARE) yield* folio_mark_dirty(folio);
        yield* folio_mapcount_dec(folio); // hugetlb_remove_rmap
        yield* spin_unlock(lock);
        tlb_remove_folio(tlb, folio); // tlb_remove_page_size
      }
    }
    addr = pud_end;
  }
  yield* tlb_end_vma(tlb);
  yield* tlb_flush_unshared_tables(tlb);
});

/**
 * The hugetlb part of unmap_vmas() for a final unmap (munmap, exit_mmap): hugetlb_zap_begin
 * (hugetlb VMA lock write -> i_mmap_rwsem write), __unmap_hugepage_range, hugetlb_zap_end (the
 * VMA lock is released and freed before i_mmap_rwsem, kernel order).
 */
export const unmap_hugepage_vma = traced('unmap_hugepage_vma', function* (tlb: MmuGather, vma: VmAreaStruct): Gen {
  const mapping = vma.vm_file;
  if (!mapping) return;
  yield* hugetlb_vma_lock_write(vma);
  yield* down_write(mapping.i_mmap_rwsem);
  yield* __unmap_hugepage_range(tlb, vma, vma.vm_start, vma.vm_end);
  yield* __hugetlb_vma_unlock_write_free(vma);
  yield* up_write(mapping.i_mmap_rwsem);
});
