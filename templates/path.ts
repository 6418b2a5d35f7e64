/**
 * An access-path module for mmtrace: your version of the series' fast path in
 * __access_remote_vm() (docs/writing-a-path.md). It starts as patch 3/3 v1 as posted -- the code
 * of mmtrace's built-in `fast` path without the review's switches -- written against the same
 * emulated kernel API (`mmtrace/linux`), so you can change it line by line like a patch.
 *
 *   npx mmtrace record cross-vma-race --path=gup,./__FILE__ --out=traces/__NAME__.db
 *   npx mmtrace diff traces/__NAME__.db#gup traces/__NAME__.db#__NAME__
 *
 * The run is named after this file (`__NAME__`). The hook runs inside the simulation: call only
 * kernel functions (each `yield*`s its events), no clocks, random numbers, timers or I/O.
 */
import {
  type AccessPathModule, FOLL_FORCE, FOLL_WRITE, FW_LEVEL_PMD, FW_LEVEL_PUD, FW_VMA_LOCKED, type Folio, type FolioWalk,
  type Gen, type MmStruct, PAGE_SIZE, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL, VM_IO, VM_MAYREAD, VM_PFNMAP, VM_READ,
  type VmAreaStruct, copy_from_folio, emit, entry_size, folio_get, folio_page_idx, folio_put, folio_walk_end,
  folio_walk_start, is_vm_hugetlb_page, kernel, lock_vma_under_rcu, name, traced, untag, vma_end_read,
  vma_is_secretmem,
} from 'mmtrace/linux';

// Why the fast path stopped, as the trace's fast_path_fallback events show it.
const FALLBACK_NO_VMA_LOCK = name('lock_vma_under_rcu failed');
const FALLBACK_VMA = name('VMA not for the fast path');
const FALLBACK_NOT_PRESENT = name('folio_walk_start: not found');
const FALLBACK_ZERO_PAGE = name('folio_walk_start: zero page');

/**
 * Which VMAs the fast path reads: the read side of check_vma_flags(), and nothing that
 * FW_VMA_LOCKED cannot walk (hugetlb) or that needs ->access (VM_IO, VM_PFNMAP).
 */
function fast_path_allowed(vma: VmAreaStruct, addr: number, len: number, gup_flags: number): boolean {
  const vm_flags = vma.vm_flags;
  if (vm_flags & (VM_IO | VM_PFNMAP) || is_vm_hugetlb_page(vma) || vma_is_secretmem(vma)) return false;
  const readable = (vm_flags & VM_READ) !== 0 || ((gup_flags & FOLL_FORCE) !== 0 && (vm_flags & VM_MAYREAD) !== 0);
  if (!readable) return false;
  return true;
}

/** Bytes one walk covers: to the end of the entry found, bounded by the folio, the VMA and len. */
function fast_path_span(fw: FolioWalk, folio: Folio, addr: number, len: number, vma: VmAreaStruct): number {
  const level = fw.level === FW_LEVEL_PUD ? PUD_LEVEL : fw.level === FW_LEVEL_PMD ? PMD_LEVEL : PTE_LEVEL;
  const entry_bytes = entry_size(level);
  const entry_left = entry_bytes - (addr % entry_bytes);
  const folio_left = (folio.nr_pages - folio_page_idx(folio, fw.page!)) * PAGE_SIZE - (addr % PAGE_SIZE);
  return Math.min(len, entry_left, folio_left, vma.vm_end - addr);
}

/**
 * access_remote_vm_fast(): copy what is resident without mmap_lock, VMA by VMA under the per-VMA
 * lock, one folio_walk_start(FW_VMA_LOCKED) per mapping entry. It stops at the first thing it
 * cannot do and returns the bytes copied; __access_remote_vm() does the rest under mmap_lock.
 */
const access_remote_vm_fast = traced('access_remote_vm_fast', function* (
  mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number> {
  const cfg = kernel().config;
  if (!cfg.CONFIG_PER_VMA_LOCK || !cfg.CONFIG_MMU_GATHER_RCU_TABLE_FREE) return 0;
  let pos = 0;
  addr = untag(mm, addr); // untagged_addr_remote_unlocked()
  while (len > 0) {
    const vma = yield* lock_vma_under_rcu(mm, addr);
    if (!vma) {
      yield emit.fast_path_fallback({ addr, copied: pos, reason: FALLBACK_NO_VMA_LOCK.id });
      break;
    }
    if (!fast_path_allowed(vma, addr, len, gup_flags)) {
      yield* vma_end_read(vma);
      yield emit.fast_path_fallback({ addr, copied: pos, reason: FALLBACK_VMA.id });
      break;
    }
    // Copy as much of this VMA as possible without taking its lock again.
    while (len > 0 && addr < vma.vm_end) {
      const out: { result?: FolioWalk } = {};
      const folio = yield* folio_walk_start(out, vma, addr, FW_VMA_LOCKED);
      const fw = out.result;
      if (!folio || !fw || fw.page === null) {
        if (folio && fw) yield* folio_walk_end(fw, vma);
        yield* vma_end_read(vma);
        yield emit.fast_path_fallback({ addr, copied: pos, reason: (folio ? FALLBACK_ZERO_PAGE : FALLBACK_NOT_PRESENT).id });
        return pos;
      }
      // Pin the folio so it stays valid once the page table lock is dropped.
      yield* folio_get(folio);
      yield* folio_walk_end(fw, vma);
      const span = fast_path_span(fw, folio, addr, len, vma);
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

const path: AccessPathModule = {
  description: '__DESCRIPTION__',
  /**
   * Called by __access_remote_vm() before it takes mmap_lock: the bytes copied from the start of
   * buf, or null to leave the whole access to mmap_lock (here: writes, as v1 does).
   */
  *access_remote_vm_fast_hook(mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number): Gen<number | null> {
    if (gup_flags & FOLL_WRITE) return null;
    return yield* access_remote_vm_fast(mm, addr, buf, len, gup_flags);
  },
};

export default path;
