/**
 * The swap device and its slots (mm/swapfile.c): one swap area, of swap type 0, that swapon() sets
 * up (page_io.ts). Each slot (offset) has a swap_map count -- how many swap PTEs refer to it -- and the
 * SWAP_HAS_CACHE bit, set while a folio of the swap cache (swap_state.ts) stands for the slot. A
 * slot with neither is free. The bytes a slot holds are what the last write to it left there
 * (page_io.ts); they go when the slot is freed.
 *
 * Reduced: one swap device (no priorities, no swapoff, so get_swap_device() always succeeds);
 * slots are handed out lowest first under si->lock (no clusters, no per-CPU slot caches, no
 * discard); a count never reaches SWAP_MAP_MAX (no fork: one PTE per slot), so there are no
 * continuation pages. The rss counters (MM_SWAPENTS) are not modelled.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { EEXIST, ENOENT } from '../include/errno.js';
import { kernel, type Kernel } from '../kernel.js';
import { SpinLock, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { PAGE_SIZE } from './mm_types.js';

const C_SWAP_LOCK = name('swap_info.lock');

/** struct swap_info_struct, reduced. */
export interface SwapInfo {
  /** The swap type its entries carry (0: the only device). */
  readonly type: number;
  /** Slots, the first (the swap header) never handed out. */
  readonly max: number;
  /** swap_map[offset] without SWAP_HAS_CACHE: the swap PTEs referring to the slot. */
  readonly swap_map: Uint16Array;
  /** SWAP_HAS_CACHE of each slot. */
  readonly has_cache: Uint8Array;
  /** What the device holds for a slot that has been written. */
  readonly data: Map<number, Uint8Array>;
  /** Ticks one page of I/O takes (the device's latency: a disk). */
  readonly io_ticks: number;
  /** si->lock: slot allocation and swap_map changes. */
  readonly lock: SpinLock;
}

/** The swap device, or null before swapon(). */
export function swap_info(k: Kernel = kernel()): SwapInfo | null {
  return (k.subsystems.get('swap_info') as SwapInfo | undefined) ?? null;
}

function the_swap_info(): SwapInfo {
  const si = swap_info();
  if (!si) throw new Error('a swap entry without a swap device (swapon() was not called)');
  return si;
}

/**
 * alloc_swap_info() and the rest of swapon's setup: a swap area of `pages` pages whose I/O takes
 * `io_ticks`. swapon() (page_io.ts) also starts the device's I/O completion.
 */
export function alloc_swap_info(pages: number, io_ticks: number): SwapInfo {
  if (swap_info()) throw new Error('swapon() twice: one swap device is modelled');
  const si: SwapInfo = {
    type: 0, max: pages, swap_map: new Uint16Array(pages), has_cache: new Uint8Array(pages), data: new Map(),
    io_ticks, lock: new SpinLock(C_SWAP_LOCK),
  };
  kernel().subsystems.set('swap_info', si);
  return si;
}

/** The slot's new state: the swap_map event, and its bytes dropped once it is free (swap_range_free). */
function* set_swap_map(si: SwapInfo, offset: number, count: number, cache: boolean): Gen {
  si.swap_map[offset] = count;
  si.has_cache[offset] = cache ? 1 : 0;
  if (count === 0 && !cache) si.data.delete(offset);
  yield emit.swap_map({ offset, count, cache });
}

/**
 * folio_alloc_swap() for a small folio: the lowest free slot, with SWAP_HAS_CACHE set for the
 * folio that will stand for it in the swap cache. 0 when the device is full or there is none (the
 * kernel's get_swap_pages() finding no space).
 */
export function* folio_alloc_swap(): Gen<number> {
  const si = swap_info();
  if (!si) return 0;
  yield* spin_lock(si.lock);
  let offset = 1;
  while (offset < si.max && (si.swap_map[offset] !== 0 || si.has_cache[offset] !== 0)) offset++;
  if (offset < si.max) yield* set_swap_map(si, offset, 0, true);
  else offset = 0;
  yield* spin_unlock(si.lock);
  return offset;
}

/** __swap_count(): the swap PTEs referring to the slot. */
export function __swap_count(offset: number): number {
  return the_swap_info().swap_map[offset]!;
}

/** swap_cache_has(): is SWAP_HAS_CACHE set for the slot? */
export function swap_slot_has_cache(offset: number): boolean {
  return the_swap_info().has_cache[offset] !== 0;
}

/**
 * swap_duplicate(): one more swap PTE refers to the slot (try_to_unmap_one installing one). 0, or
 * -ENOENT for a slot that is free (the caller then restores the PTE).
 */
export function* swap_duplicate(offset: number): Gen<number> {
  const si = the_swap_info();
  yield* spin_lock(si.lock);
  const count = si.swap_map[offset]!;
  const cache = si.has_cache[offset] !== 0;
  const free = count === 0 && !cache;
  if (!free) yield* set_swap_map(si, offset, count + 1, cache);
  yield* spin_unlock(si.lock);
  return free ? -ENOENT : 0;
}

/**
 * swapcache_prepare(): claim SWAP_HAS_CACHE for a swap-in that will add its folio to the swap
 * cache. 0, -EEXIST when another folio has it (a racing swap-in, or a cache folio being deleted),
 * or -ENOENT when the slot is no longer used.
 */
export function* swapcache_prepare(offset: number): Gen<number> {
  const si = the_swap_info();
  yield* spin_lock(si.lock);
  const count = si.swap_map[offset]!;
  let err = 0;
  if (si.has_cache[offset]) err = -EEXIST;
  else if (count === 0) err = -ENOENT;
  else yield* set_swap_map(si, offset, count, true);
  yield* spin_unlock(si.lock);
  return err;
}

/**
 * swap_entries_put_map() for one slot: a swap PTE referring to it is gone (swap_free after a
 * swap-in mapped the page, or a zap). Returns the count left.
 */
export function* swap_entry_put(offset: number): Gen<number> {
  const si = the_swap_info();
  yield* spin_lock(si.lock);
  const count = si.swap_map[offset]! - 1;
  yield* set_swap_map(si, offset, count, si.has_cache[offset] !== 0);
  yield* spin_unlock(si.lock);
  return count;
}

/** put_swap_folio() for a small folio: the swap cache no longer stands for the slot. */
export function* put_swap_folio(offset: number): Gen {
  const si = the_swap_info();
  yield* spin_lock(si.lock);
  yield* set_swap_map(si, offset, si.swap_map[offset]!, false);
  yield* spin_unlock(si.lock);
}

/** The device's copy of a slot's page (zeros for a slot never written), for a read to return. */
export function swap_slot_read(offset: number): Uint8Array {
  return the_swap_info().data.get(offset) ?? new Uint8Array(PAGE_SIZE);
}

/** A write lands on the device: the slot now holds these bytes. */
export function swap_slot_write(offset: number, bytes: Uint8Array): void {
  the_swap_info().data.set(offset, bytes.slice());
}
