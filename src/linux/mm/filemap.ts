/**
 * Files and the page cache (struct address_space, mm/filemap.c). A file is a named byte array;
 * page-cache folios hold copies of its pages. `io_ticks` models a slow backing store (a FUSE
 * daemon, a network file system): reading a page in sleeps that long -- while holding whatever the
 * faulting path holds, which is the CVE-2018-1120 hazard.
 */
import { K } from '../../trace/events.js';
import { ev, name, sim } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { kernel, type Kernel } from '../kernel.js';
import { down_read, RwSemaphore, up_read } from '../kernel/locking/rwsem.js';
import { type Folio, PG_uptodate, folio_alloc, folio_get } from './folio.js';
import { PAGE_SIZE } from './mm_types.js';
import { folio_add_lru } from './swap.js';

const C_I_MMAP = name('i_mmap_rwsem');
const C_INVALIDATE = name('invalidate_lock');
const W_IO = name('read_folio I/O');

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

export function files(k: Kernel = kernel()): Map<string, AddressSpace> {
  return k.subsystem('files', () => new Map<string, AddressSpace>());
}

/** Create (or replace) a file with the given contents; the log carries the contents. */
export function* create_file(fileName: string, data: Uint8Array, io_ticks = 0): Gen<AddressSpace> {
  const f = new AddressSpace(fileName, data, io_ticks);
  files().set(fileName, f);
  yield ev(K.file_create, sim().intern(fileName), data.length, io_ticks, 0, data.slice());
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
 * Read page `index` into the page cache if it is not there (filemap_fault's slow path under
 * invalidate_lock): returns the folio with a reference for the caller. Lock order (§11.2):
 * mmap_lock (held by the caller) -> invalidate_lock -> folio_lock.
 */
export function* filemap_read_folio(mapping: AddressSpace, index: number): Gen<Folio> {
  const cached = yield* filemap_get_folio(mapping, index);
  if (cached) return cached;
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
    folio.data.set(mapping.data.subarray(start, Math.min(start + PAGE_SIZE, mapping.data.length)));
    folio.flags |= PG_uptodate;
    folio.mapping = mapping;
    folio.index = index;
    mapping.i_pages.set(index, folio);
    yield ev(K.page_cache_add, folio.id, nameId(mapping), index);
    yield* folio_add_lru(folio);
    yield* folio_get(folio);
  }
  yield* up_read(mapping.invalidate_lock);
  return folio;
}

function nameId(mapping: AddressSpace): number {
  return sim().intern(mapping.name);
}
