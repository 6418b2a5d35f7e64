/**
 * The swap cache (mm/swap_state.c): the folios that stand for swap slots while they are being
 * written out or read in, or are mapped again but keep their slot. A folio in it has PG_swapcache
 * and folio->swap set and holds a reference of the cache (one per page); the slot has
 * SWAP_HAS_CACHE. Reclaim adds an anonymous folio with add_to_swap() and removes it with
 * __remove_mapping() once it is written and unmapped; a swap-in adds the folio it reads into
 * (read_swap_cache_async) and do_swap_page() maps it from here.
 *
 * Also folio_free_swap() and free_swap_and_cache() (mm/swapfile.c in the kernel), here beside the
 * cache they empty: swapfile.ts, the slots, sits below this file.
 *
 * Reduced: small folios only (no large-folio swap); swap readahead (swap_cluster_readahead,
 * swap_vma_readahead) reads only the faulting entry; no workingset shadow entries.
 */
import { emit } from '../../trace/vocab/index.js';
import { name, no_event, sim } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { EEXIST } from '../include/errno.js';
import { kernel, type Kernel } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { SpinLock, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import {
  type Folio, PG_dirty, PG_locked, PG_swapcache, PG_writeback, folio_alloc, folio_change_flags, folio_mark_dirty,
  folio_put, folio_put_refs, folio_ref_add, folio_try_get, folio_trylock, folio_unlock,
} from './folio.js';
import { swap_read_folio } from './page_io.js';
import { folio_add_lru } from './swap.js';
import {
  __swap_count, folio_alloc_swap, put_swap_folio, swap_entry_put, swap_slot_has_cache, swapcache_prepare,
} from './swapfile.js';

const C_SWAP_CACHE_LOCK = name('swap_cache.i_pages');
const W_SWAPCACHE_RACE = name('schedule_timeout_uninterruptible');
const WHY_SET_DIRTY = name('folio_set_dirty');

interface SwapCache {
  /** swap_address_space(entry)->i_pages: the folio standing for each slot. */
  readonly folios: Map<number, Folio>;
  /** The xarray's lock (xa_lock_irq): insertions, deletions and __remove_mapping's freeze. */
  readonly lock: SpinLock;
}

function swap_cache(k: Kernel = kernel()): SwapCache {
  return k.subsystem('swap_cache', () => ({ folios: new Map<number, Folio>(), lock: new SpinLock(C_SWAP_CACHE_LOCK) }));
}

/** The swap cache's xa_lock, for __remove_mapping (vmscan.ts), which freezes and deletes under it. */
export function swap_cache_lock(): SpinLock {
  return swap_cache().lock;
}

/**
 * The folio standing for `offset` now, without a reference: a lookup by the workloads and the
 * replay reader (no events), not kernel code.
 */
export function swap_cache_peek(offset: number, k: Kernel = kernel()): Folio | null {
  return (k.subsystems.get('swap_cache') as SwapCache | undefined)?.folios.get(offset) ?? null;
}

/**
 * add_to_swap_cache(): the folio stands for slot `offset` (whose SWAP_HAS_CACHE the caller holds):
 * a reference for the cache, PG_swapcache and folio->swap, stored under the xa_lock.
 */
function* add_to_swap_cache(folio: Folio, offset: number): Gen {
  const cache = swap_cache();
  yield* folio_ref_add(folio, folio.nr_pages);
  yield* spin_lock(cache.lock);
  folio.flags |= PG_swapcache;
  folio.swap = offset;
  cache.folios.set(offset, folio);
  yield emit.swap_cache_add({ folio: folio.id, offset });
  yield* spin_unlock(cache.lock);
}

/**
 * __delete_from_swap_cache() (the caller holds the xa_lock and the folio lock): the folio no longer
 * stands for its slot. The cache's reference and the slot's SWAP_HAS_CACHE are the caller's to drop.
 */
export function* __delete_from_swap_cache(folio: Folio, offset: number): Gen {
  swap_cache().folios.delete(offset);
  folio.flags &= ~PG_swapcache;
  folio.swap = 0;
  yield emit.swap_cache_delete({ folio: folio.id, offset });
}

/** delete_from_swap_cache(): out of the cache, SWAP_HAS_CACHE dropped, the cache's reference put. */
function* delete_from_swap_cache(folio: Folio): Gen {
  const cache = swap_cache();
  const offset = folio.swap;
  yield* spin_lock(cache.lock);
  yield* __delete_from_swap_cache(folio, offset);
  yield* spin_unlock(cache.lock);
  yield* put_swap_folio(offset);
  yield* folio_put_refs(folio, folio.nr_pages);
}

/**
 * add_to_swap() (folio locked, anonymous, small, not in the swap cache): allocate a slot and put
 * the folio in the swap cache for it, then dirty it -- it must be written before it can be freed
 * (a PTE's dirty bit would dirty it at unmap anyway; a clean folio needs it too). false when there
 * is no free slot.
 */
export const add_to_swap = traced('add_to_swap', function* (folio: Folio): Gen<boolean> {
  const offset = yield* folio_alloc_swap();
  if (!offset) return false;
  yield* add_to_swap_cache(folio, offset);
  yield* folio_mark_dirty(folio);
  return true;
});

/**
 * swap_cache_get_folio(): the folio standing for `offset`, with a reference, or null. The lookup is
 * lockless (RCU + folio_try_get); a folio whose count __remove_mapping has frozen is being deleted
 * from the cache: the kernel re-reads the xarray until it is gone, here the lookup waits for the
 * xa_lock the deletion holds and looks again.
 */
export function* swap_cache_get_folio(offset: number): Gen<Folio | null> {
  const cache = swap_cache();
  for (;;) {
    const folio = cache.folios.get(offset);
    if (!folio) return null;
    if (yield* folio_try_get(folio)) return folio;
    yield* spin_lock(cache.lock);
    yield* spin_unlock(cache.lock);
  }
}

/** What __read_swap_cache_async() found or made. */
export interface SwapCacheFolio {
  readonly folio: Folio;
  /** A new folio, locked, in the swap cache, not uptodate: the caller starts the read. */
  readonly allocated: boolean;
}

/**
 * __read_swap_cache_async(): the swap cache's folio for `offset` (with a reference), or a new one
 * put there for the read: allocated, locked (__folio_set_locked before anybody can see it),
 * SWAP_HAS_CACHE claimed with swapcache_prepare, added to the cache and the LRU. null when the slot
 * is no longer in use (somebody else swapped it in and freed it). A racing swap-in that claimed
 * SWAP_HAS_CACHE but has not added its folio yet makes this one sleep a tick and look again.
 */
function* __read_swap_cache_async(offset: number): Gen<SwapCacheFolio | null> {
  for (;;) {
    const cached = yield* swap_cache_get_folio(offset);
    if (cached) return { folio: cached, allocated: false };
    if (__swap_count(offset) === 0) return null; // swap_entry_swapped(): skip an unused slot
    const folio = yield* folio_alloc(0, true, PG_locked);
    const err = yield* swapcache_prepare(offset);
    if (err === 0) {
      yield* add_to_swap_cache(folio, offset);
      yield* folio_add_lru(folio);
      return { folio, allocated: true };
    }
    yield* folio_put(folio);
    if (err !== -EEXIST) return null;
    yield* sim().sleep(1, W_SWAPCACHE_RACE);
  }
}

/**
 * swapin_readahead() reduced to the faulting entry (read_swap_cache_async): the folio, with a
 * reference; when it is new, its read has been submitted and it stays locked until the read
 * completes. null when the slot is no longer in use.
 */
export const swapin_readahead = traced('swapin_readahead', function* (offset: number): Gen<SwapCacheFolio | null> {
  const found = yield* __read_swap_cache_async(offset);
  if (found?.allocated) yield* swap_read_folio(found.folio, offset);
  return found;
});

/**
 * folio_free_swap() (folio locked): a folio of the swap cache whose slot no swap PTE refers to any
 * more, and that is not being written, leaves the cache and frees its slot; it is dirtied, since
 * the device no longer has a copy. Returns whether it did.
 */
export function* folio_free_swap(folio: Folio): Gen<boolean> {
  if (!(folio.flags & PG_swapcache)) return false;
  if (folio.flags & PG_writeback) return false;
  if (__swap_count(folio.swap) > 0) return false; // folio_swapped()
  yield* delete_from_swap_cache(folio);
  yield* folio_change_flags(folio, PG_dirty, 0, WHY_SET_DIRTY);
  return true;
}

/**
 * free_swap_cache() (mm/swap_state.c): an unmapped folio still in the swap cache leaves it, if it
 * can be locked without waiting -- what a COW copy does to the folio it copied, and what the
 * mmu_gather does to each folio it releases (free_pages_and_swap_cache). Most folios are in no
 * swap cache: for them it is a step without an event, not a generator.
 */
export function free_swap_cache(folio: Folio): Gen {
  if (!(folio.flags & PG_swapcache) || folio.mapcount > 0) return no_event(undefined);
  return free_unmapped_swap_cache(folio);
}

function* free_unmapped_swap_cache(folio: Folio): Gen {
  if (!(yield* folio_trylock(folio))) return;
  yield* folio_free_swap(folio);
  yield* folio_unlock(folio);
}

/**
 * free_swap_and_cache() for one swap PTE being zapped (the PTL held): the slot loses the reference;
 * if only the swap cache still holds it, __try_to_reclaim_swap() frees the cache folio's hold on it
 * -- if the folio can be locked without waiting (folio_trylock), else it stays for reclaim.
 */
export function* free_swap_and_cache(offset: number): Gen {
  const left = yield* swap_entry_put(offset);
  if (left > 0 || !swap_slot_has_cache(offset)) return;
  const folio = yield* swap_cache_get_folio(offset);
  if (!folio) return;
  if (yield* folio_trylock(folio)) {
    yield* folio_free_swap(folio);
    yield* folio_unlock(folio);
  }
  yield* folio_put(folio);
}
