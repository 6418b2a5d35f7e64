/**
 * Files and the page cache (struct address_space, mm/filemap.c). A file is a named byte array;
 * page-cache folios hold copies of its pages. `io_ticks` models a slow backing store (a FUSE
 * daemon, a network file system): reading a page in sleeps that long -- while holding whatever the
 * faulting path holds, which is the CVE-2018-1120 hazard.
 */
import { emit } from '../../trace/vocab/index.js';
import { name, sim } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { type Kernel, perKernel } from '../kernel.js';
import { down_read, up_read } from '../kernel/locking/rwsem.js';
import { folio_alloc, folio_get, folio_lock, folio_put, folio_trylock, folio_unlock, folio_wait_unlocked } from './folio.js';
import { release_fault_lock, type VmFault } from './internal.js';
import {
  AddressSpace, FAULT_FLAG_ALLOW_RETRY, FAULT_FLAG_TRIED, type Folio, PAGE_SIZE, PG_uptodate, VM_FAULT_MAJOR,
  VM_FAULT_RETRY,
} from './mm_types.js';
import { folio_add_lru } from './swap.js';

export { AddressSpace } from './mm_types.js';

const W_IO = name('read_folio I/O');
const W_FOLIO_WAIT_LOCKED = name('folio_wait_locked');

export const files: (k?: Kernel) => Map<string, AddressSpace> = perKernel('files', () => new Map<string, AddressSpace>());

/** Create (or replace) a file with the given contents; the log carries the contents. */
export function* create_file(fileName: string, data: Uint8Array, io_ticks = 0): Gen<AddressSpace> {
  const f = new AddressSpace(fileName, data, io_ticks);
  files().set(fileName, f);
  yield emit.file_create({ file: sim().intern(fileName), size: data.length, io_ticks, data: data.slice() });
  return f;
}

/** filemap_get_folio(): a cached folio with a reference for the caller, or null. */
export function* filemap_get_folio(mapping: AddressSpace, index: number): Gen<Folio | null> {
  const folio = mapping.i_pages.get(index);
  if (!folio) return null;
  yield* folio_get(folio);
  return folio;
}

/**
 * filemap_fault(): the page-cache folio holding page `index` of the faulting VMA's file, returned
 * locked (VM_FAULT_LOCKED) and with a reference for the caller, which unlocks it once the page is
 * mapped or copied -- or VM_FAULT_RETRY, with the fault lock already released.
 *
 * A fault that may retry (FAULT_FLAG_ALLOW_RETRY, first attempt: a user fault, not remote GUP)
 * does not sleep holding mmap_lock or the VMA lock. Before reading a page in (I/O), or before
 * waiting for a folio somebody else holds locked, it releases the fault lock
 * (maybe_unlock_mmap_for_io), sleeps, and returns VM_FAULT_RETRY (with VM_FAULT_MAJOR after I/O):
 * do_user_addr_fault takes the lock again and redoes the fault, which now finds the page cached.
 * Without ALLOW_RETRY the fault sleeps with its lock held.
 *
 * Locking the folio waits for whoever holds it: khugepaged's collapse_file holds the old folios
 * and the new one locked until it is done. A folio that left the page cache while we waited
 * (collapse_file replaced it, or it was truncated) is dropped and looked up again, as filemap_fault's
 * `folio->mapping != mapping` re-check does.
 * Reduced: the read is synchronous and the folio enters the page cache when it completes (the
 * kernel inserts it locked and not uptodate first, so that other faults wait on its lock);
 * readahead is not modelled.
 */
export function* filemap_fault(vmf: VmFault, index: number): Gen<Folio | number> {
  const mapping = vmf.vma.vm_file!;
  let dropped = false;
  for (;;) {
    let folio = yield* filemap_get_folio(mapping, index);
    let major = false;
    if (!folio) {
      if (mapping.io_ticks > 0) dropped ||= yield* maybe_unlock_mmap_for_io(vmf);
      folio = yield* read_folio(mapping, index);
      major = mapping.io_ticks > 0;
    }
    if (!(yield* folio_trylock(folio))) {
      dropped ||= yield* maybe_unlock_mmap_for_io(vmf);
      yield* folio_lock(folio);
    }
    const cached = folio.mapping === mapping;
    if (dropped || !cached) {
      yield* folio_unlock(folio);
      yield* folio_put(folio);
    }
    if (dropped) return VM_FAULT_RETRY | (major ? VM_FAULT_MAJOR : 0);
    if (cached) return folio;
  }
}

/**
 * maybe_unlock_mmap_for_io(): on the first attempt of a fault that may retry, release the fault
 * lock (release_fault_lock) before sleeping. Returns whether it did.
 */
function* maybe_unlock_mmap_for_io(vmf: VmFault): Gen<boolean> {
  const first_retry = (vmf.flags & FAULT_FLAG_ALLOW_RETRY) !== 0 && (vmf.flags & FAULT_FLAG_TRIED) === 0;
  if (!first_retry) return false;
  yield* release_fault_lock(vmf);
  return true;
}

/**
 * __folio_lock_or_retry() (mm/filemap.c): lock the folio for a fault. If somebody else holds it (a
 * read in flight: swap I/O), a fault that may retry releases its lock first (the VMA lock or
 * mmap_lock), sleeps until the folio is unlocked -- without taking it -- and returns
 * VM_FAULT_RETRY; any other fault (remote GUP: no FAULT_FLAG_ALLOW_RETRY) sleeps for the lock
 * holding its own. 0: the folio is locked. Reduced: the waits are not killable
 * (FAULT_FLAG_KILLABLE's early return is not modelled).
 */
export function* folio_lock_or_retry(folio: Folio, vmf: VmFault): Gen<number> {
  if (yield* folio_trylock(folio)) return 0;
  if (yield* maybe_unlock_mmap_for_io(vmf)) {
    yield* folio_wait_unlocked(folio, W_FOLIO_WAIT_LOCKED);
    return VM_FAULT_RETRY;
  }
  yield* folio_lock(folio);
  return 0;
}

/**
 * Read page `index` into the page cache under invalidate_lock (unless a racing fault did it
 * first), with a reference for the caller. Lock order (§11.2): mmap_lock (held by the caller,
 * unless it dropped it for the I/O) -> invalidate_lock -> folio_lock.
 */
function* read_folio(mapping: AddressSpace, index: number): Gen<Folio> {
  yield* down_read(mapping.invalidate_lock);
  let folio = mapping.i_pages.get(index);
  if (folio) {
    yield* folio_get(folio);
  } else {
    folio = yield* folio_alloc(0, false);
    if (mapping.io_ticks > 0) yield* sim().sleep(mapping.io_ticks, W_IO);
    // The read completes: bytes in, uptodate, into the cache (which keeps the allocation's
    // reference; the caller gets one more).
    const start = index * PAGE_SIZE;
    folio.write(mapping.data.subarray(start, Math.min(start + PAGE_SIZE, mapping.data.length)));
    yield* filemap_add_folio(mapping, folio, index, true);
    yield* folio_add_lru(folio);
    yield* folio_get(folio);
  }
  yield* up_read(mapping.invalidate_lock);
  return folio;
}

/** i_mmap_lock_read(): the file's rmap tree (i_mmap) stays stable: no VMA is linked or unlinked. */
export function* i_mmap_lock_read(mapping: AddressSpace): Gen {
  yield* down_read(mapping.i_mmap_rwsem);
}

export function* i_mmap_unlock_read(mapping: AddressSpace): Gen {
  yield* up_read(mapping.i_mmap_rwsem);
}

/**
 * The page-cache side of khugepaged's collapse_file() (kernel-spec §4.3), step one: the new large
 * `folio` enters the page cache at `index` (folio->mapping, ->index, uptodate) holding the file's
 * bytes for its whole range -- for the pages that were not cached, what page_cache_sync_readahead()
 * would have read (the kernel reads them into small folios first and collapses those; here they go
 * straight into the new folio, which keeps 2 MiB of small folios out of the run). The caller then
 * copies the cached pages in (their bytes may differ from the file's: dirty shared pages) and
 * publishes the folio with page_cache_replace(). The allocation's reference becomes the cache's.
 */
export function* page_cache_add_large(mapping: AddressSpace, folio: Folio, index: number): Gen {
  const start = index * PAGE_SIZE;
  folio.write(mapping.data.subarray(start, Math.min(start + folio.size(), mapping.data.length)));
  yield* filemap_add_folio(mapping, folio, index, false);
}

/**
 * filemap_add_folio(): an uptodate `folio` becomes the page cache's folio at `index` of `mapping`
 * (folio->mapping, ->index; the page_cache_add event). `store`: into i_pages now; collapse_file
 * publishes its folio later (page_cache_replace).
 */
export function* filemap_add_folio(mapping: AddressSpace, folio: Folio, index: number, store: boolean): Gen {
  folio.flags |= PG_uptodate;
  folio.mapping = mapping;
  folio.index = index;
  if (store) mapping.i_pages.set(index, folio);
  yield emit.page_cache_add({ folio: folio.id, file: nameId(mapping), index });
}

/**
 * collapse_file()'s xas_store of the new folio over [index, index + nr_pages): every slot of the
 * range now finds `folio` (a multi-index entry), and each old small folio leaves the cache
 * (folio->mapping = NULL). The old folios keep the cache's reference: the caller drops it once the
 * page tables mapping them are gone. Stores nothing and returns false if one of `holes` (slots
 * that were empty when collapse_file scanned the range) has been filled meanwhile.
 */
export function* page_cache_replace(
  mapping: AddressSpace, folio: Folio, index: number, olds: readonly Folio[], holes: readonly number[],
): Gen<boolean> {
  if (holes.some((hole) => mapping.i_pages.has(hole))) return false;
  for (let i = 0; i < folio.nr_pages; i++) mapping.i_pages.set(index + i, folio);
  for (const old of olds) {
    old.mapping = null;
    yield emit.page_cache_delete({ folio: old.id, file: nameId(mapping), index: old.index });
  }
  return true;
}

function nameId(mapping: AddressSpace): number {
  return sim().intern(mapping.name);
}
