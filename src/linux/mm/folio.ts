/**
 * Folio operations (include/linux/mm.h, page_ref.h, mm/swap.c's folio_put, mm/filemap.c's folio
 * lock): references, mapcounts, the LRU lists, the zero pages. struct folio and its page flags are
 * declared in mm_types.ts and re-exported here under the names the mm files use.
 * A "struct page *" is its pfn; page_folio() finds the folio through the kernel's pfn map.
 */
import { emit, LruList } from '../../trace/vocab/index.js';
import { name, no_event, one_event, sim, type Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { kernel, perKernel } from '../kernel.js';
import { folio_lru_gen, lru_gen_add_folio, lru_gen_del_folio, lru_gen_enabled, lru_gen_is_active } from './lru_gen.js';
import {
  Folio, folio_is_file_lru, LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_NONE, LRU_UNEVICTABLE,
  PG_active, PG_dirty, PG_locked, PG_lru, PG_reserved, PG_unevictable, PG_uptodate, PG_writeback, pages,
} from './mm_types.js';

export {
  Folio, folio_is_file_lru, pages,
  PG_locked, PG_referenced, PG_uptodate, PG_dirty, PG_lru, PG_active, PG_reserved, PG_workingset, PG_swapbacked,
  PG_unevictable, PG_idle, PG_writeback, PG_swapcache,
  LRU_NONE, LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE,
} from './mm_types.js';

const UAF_FOLIO = name('folio used after free');
const WARN_REFCOUNT = name('VM_BUG_ON_FOLIO(folio_ref_count(folio) <= 0)');



export function page_folio(pfn: number): Folio {
  const f = pages().get(pfn);
  if (!f) throw new Error(`pfn ${pfn} has no folio`);
  return f;
}

/** folio_page_idx(): index of page `pfn` within its folio. */
export function folio_page_idx(folio: Folio, pfn: number): number {
  return pfn - folio.pfn;
}

/** The shared zero page (ZERO_PAGE / zero_pfn): one reserved folio of zeros, set up at boot. */
export function zero_folio(): Folio {
  const f = kernel().subsystems.get('zero_page') as Folio | undefined;
  if (!f) throw new Error('the zero page is used before init_zero_page()');
  return f;
}

export function* init_zero_page(): Gen {
  const f = yield* folio_alloc(0, false, PG_reserved | PG_uptodate);
  kernel().subsystems.set('zero_page', f);
}

export function is_zero_pfn(pfn: number): boolean {
  return pfn === zero_folio().pfn;
}

/** HPAGE_PMD_ORDER: a PMD maps 512 pages. */
export const HPAGE_PMD_ORDER = 9;

/** HPAGE_PUD_ORDER: a PUD maps 2^18 pages (1 GiB). */
export const HPAGE_PUD_ORDER = 18;

/**
 * mm_get_huge_zero_folio() (mm/huge_memory.c): the huge zero folio, an order-9 folio of zeros
 * allocated on first use (the kernel's huge_zero_refcount / per-mm MMF_HUGE_ZERO_FOLIO pinning is
 * not modelled: once allocated it stays). Mapped read-only by PMD leaves on THP read faults.
 */
export function* mm_get_huge_zero_folio(): Gen<Folio> {
  const k = kernel();
  let f = k.subsystems.get('huge_zero_folio') as Folio | undefined;
  if (!f) {
    f = yield* folio_alloc(HPAGE_PMD_ORDER, false, PG_uptodate);
    k.subsystems.set('huge_zero_folio', f);
  }
  return f;
}

/** is_huge_zero_pfn(): does pfn lie in the huge zero folio? */
export function is_huge_zero_pfn(pfn: number): boolean {
  const f = kernel().subsystems.get('huge_zero_folio') as Folio | undefined;
  return f !== undefined && pfn >= f.pfn && pfn < f.pfn + f.nr_pages;
}

/** folio_alloc() (zeroed); `flags`: page flags it starts with besides PG_swapbacked for anon. */
export function folio_alloc(order: number, anon: boolean, flags = 0): Gen<Folio> {
  const f = new Folio(order, anon);
  f.flags |= flags;
  emit.folio_alloc({ folio: f.id, pfn: f.pfn, order, flags: f.flags });
  return one_event(f);
}

function* check_live(folio: Folio): Gen {
  if (folio.freed) yield emit.use_after_free({ what: UAF_FOLIO.id, obj: folio.id });
}

/** folio_get(): the caller already holds a reference or a lock that pins the folio. */
export function* folio_get(folio: Folio): Gen {
  yield* check_live(folio);
  folio._refcount++;
  yield emit.folio_get({ folio: folio.id, ref: folio._refcount });
}

/** folio_try_get(): +1 unless the count is 0 (a speculative lookup lost the race with freeing). */
export function* folio_try_get(folio: Folio): Gen<boolean> {
  const ok = folio._refcount > 0;
  if (ok) folio._refcount++;
  yield emit.folio_try_get({ folio: folio.id, ref: folio._refcount, ok });
  return ok;
}

/** folio_ref_add(): the GUP pin/get path of try_grab_folio (FOLL_GET: one reference per page). */
export function* folio_ref_add(folio: Folio, refs: number): Gen {
  yield* check_live(folio);
  folio._refcount += refs;
  yield emit.folio_get({ folio: folio.id, ref: folio._refcount });
}

/** folio_put(): at 0 the folio leaves the LRU and is freed (__folio_put). */
export function* folio_put(folio: Folio): Gen {
  if (folio._refcount <= 0) yield emit.warn({ what: WARN_REFCOUNT.id, obj: folio.id });
  folio._refcount--;
  yield emit.folio_put({ folio: folio.id, ref: folio._refcount });
  if (folio._refcount === 0) yield* __folio_put(folio);
}

/** folio_put_refs(): drop `refs` references at once (collapse_file's three on each old folio). */
export function* folio_put_refs(folio: Folio, refs: number): Gen {
  if (folio._refcount < refs) yield emit.warn({ what: WARN_REFCOUNT.id, obj: folio.id });
  folio._refcount -= refs;
  yield emit.folio_put({ folio: folio.id, ref: folio._refcount });
  if (folio._refcount === 0) yield* __folio_put(folio);
}

/**
 * folio_ref_freeze(): if the count is exactly `count`, make it 0 in one step (a cmpxchg), so that
 * nobody can take a reference any more (folio_try_get fails); else leave it. Returns whether it
 * froze. Reclaim freezes a folio before deleting it from its cache (__remove_mapping).
 */
export function* folio_ref_freeze(folio: Folio, count: number): Gen<boolean> {
  const ok = folio._refcount === count;
  if (ok) folio._refcount = 0;
  yield emit.folio_ref_freeze({ folio: folio.id, count, ok });
  return ok;
}

/** folio_ref_unfreeze(): give a frozen folio its count back. */
export function* folio_ref_unfreeze(folio: Folio, count: number): Gen {
  folio._refcount = count;
  yield emit.folio_ref_unfreeze({ folio: folio.id, ref: count });
}

/** free_unref_folios() for a folio reclaim froze at 0 and took out of its cache: it is freed. */
export function* free_frozen_folio(folio: Folio): Gen {
  yield* __folio_put(folio);
}

function* __folio_put(folio: Folio): Gen {
  // __page_cache_release(): off the LRU; PG_lru and PG_active go with it (__folio_clear_lru_flags).
  if (folio.lru !== LRU_NONE) yield* lruvec_del_folio(folio);
  folio.freed = true;
  const map = pages();
  for (let i = 0; i < folio.nr_pages; i++) map.delete(folio.pfn + i);
  yield emit.folio_free({ folio: folio.id });
}

/** The lruvec's lists, oldest first (a Set keeps insertion order). */
export const lru_lists: () => Set<Folio>[] = perKernel('lru', () => [new Set(), new Set(), new Set(), new Set(), new Set(), new Set()]);

/** folio_lru_list(): the list the folio's flags say it belongs on. */
export function folio_lru_list(folio: Folio): number {
  if (folio.flags & PG_unevictable) return LRU_UNEVICTABLE;
  const active = (folio.flags & PG_active) !== 0;
  if (folio_is_file_lru(folio)) return active ? LRU_ACTIVE_FILE : LRU_INACTIVE_FILE;
  return active ? LRU_ACTIVE_ANON : LRU_INACTIVE_ANON;
}

/**
 * lruvec_del_folio() (lru_lock held): off its list, with PG_lru and PG_active (the model's isolated
 * and freed folios carry neither; folio_isolate_lru reports `active` itself). With the multi-gen
 * LRU, off its generation's list, the generation cleared (lru_gen_del_folio).
 */
export function lruvec_del_folio(folio: Folio): Gen {
  if (folio_lru_gen(folio) >= 0) return lru_gen_del_folio(folio, true);
  const from = folio.lru;
  lru_lists()[from]!.delete(folio);
  folio.lru = LRU_NONE;
  folio.flags &= ~(PG_lru | PG_active);
  emit.lru_move({ folio: folio.id, from: LruList.name(from), to: 'none' });
  return one_event(undefined);
}

/** Is the folio on an active list: PG_active, or with the multi-gen LRU one of the two youngest generations. */
export function folio_on_active_lru(folio: Folio): boolean {
  const gen = folio_lru_gen(folio);
  return gen >= 0 ? lru_gen_is_active(gen) : (folio.flags & PG_active) !== 0;
}

/**
 * Move the folio to the list its flags name (the caller holds lru_lock). With the multi-gen LRU an
 * evictable folio goes to a generation instead (lruvec_add_folio -> lru_gen_add_folio): a new one
 * to the generation lru_gen_folio_seq picks, and one already on a list only if PG_active asks for
 * its activation (lru_activate: off its generation, into a young one).
 */
export function lru_move_to_flagged_list(folio: Folio): Gen {
  if (lru_gen_enabled() && !(folio.flags & PG_unevictable)) {
    if (folio.lru === LRU_NONE) return lru_gen_add_folio(folio, false);
    if (!(folio.flags & PG_active)) return no_event(undefined);
    return lru_gen_activate(folio);
  }
  const from = folio.lru;
  const to = folio_lru_list(folio);
  if (from === to) return no_event(undefined);
  const lists = lru_lists();
  if (from !== LRU_NONE) lists[from]!.delete(folio);
  lists[to]!.add(folio);
  folio.lru = to;
  folio.flags |= PG_lru;
  emit.lru_move({ folio: folio.id, from: LruList.name(from), to: LruList.name(to) });
  return one_event(undefined);
}

/** lru_activate() with the multi-gen LRU: off its generation, into a young one. */
function* lru_gen_activate(folio: Folio): Gen {
  yield* lru_gen_del_folio(folio, false);
  folio.flags |= PG_active;
  yield* lru_gen_add_folio(folio, false);
}

export function folio_mapcount_inc(folio: Folio): Gen {
  folio.mapcount++;
  emit.folio_mapcount({ folio: folio.id, mapcount: folio.mapcount });
  return one_event(undefined);
}

/**
 * folio_add_new_anon_rmap(RMAP_EXCLUSIVE): the first mapping of a new anonymous folio, which only
 * this process can reach: PageAnonExclusive.
 */
export function folio_add_new_anon_rmap(folio: Folio): Gen {
  folio.anon_exclusive = true;
  return folio_mapcount_inc(folio);
}

/** Add n mappings at once (a PMD split: +512 PTE mappings, -1 PMD mapping). */
export function* folio_mapcount_add(folio: Folio, n: number): Gen {
  folio.mapcount += n;
  yield emit.folio_mapcount({ folio: folio.id, mapcount: folio.mapcount });
}

export function folio_mapcount_dec(folio: Folio): Gen {
  folio.mapcount--;
  emit.folio_mapcount({ folio: folio.id, mapcount: folio.mapcount });
  return one_event(undefined);
}

export function folio_mark_dirty(folio: Folio): Gen {
  folio.flags |= PG_dirty;
  emit.folio_mark_dirty({ folio: folio.id });
  return one_event(undefined);
}

// --- the folio lock (mm/filemap.c: folio_lock, folio_unlock, folio_wait_bit_common) ---------------

/** Change page flags, with a folio_flags event if anything changed. Returns the old flags. */
export function* folio_change_flags(folio: Folio, set: number, clear: number, why: Name): Gen<number> {
  const old = folio.flags;
  const now = (old | set) & ~clear;
  if (now !== old) {
    folio.flags = now;
    yield emit.folio_flags({ folio: folio.id, old, new: now, why: why.id });
  }
  return old;
}

const WHY_LOCK = name('folio_lock');
const WHY_UNLOCK = name('folio_unlock');
const W_FOLIO_LOCK = name('folio_lock');

/**
 * folio_lock(): take PG_locked, sleeping (uninterruptibly) while somebody else holds it. The
 * kernel's exclusive waiter hand-off is reduced to wake-all and re-check.
 */
export function* folio_lock(folio: Folio): Gen {
  yield* check_live(folio);
  const s = sim();
  while (folio.flags & PG_locked) {
    folio.waiters.push(s.running!);
    yield* s.block(folio.id, W_FOLIO_LOCK);
  }
  const old = folio.flags;
  folio.flags |= PG_locked;
  yield emit.folio_flags({ folio: folio.id, old, new: folio.flags, why: WHY_LOCK.id });
}

/**
 * folio_trylock(): take PG_locked if it is clear, without sleeping. Returns whether it was taken
 * (khugepaged's collapse_file gives up on a folio somebody else holds locked).
 */
export function* folio_trylock(folio: Folio): Gen<boolean> {
  if (folio.flags & PG_locked) return false;
  yield* folio_change_flags(folio, PG_locked, 0, WHY_LOCK);
  return true;
}

/** folio_unlock(): clear PG_locked and wake every task waiting on the folio. */
export function* folio_unlock(folio: Folio): Gen {
  const old = folio.flags;
  folio.flags &= ~PG_locked;
  yield emit.folio_flags({ folio: folio.id, old, new: folio.flags, why: WHY_UNLOCK.id });
  for (const t of folio.waiters.splice(0)) yield* sim().wake(t);
}

/**
 * folio_mark_dirty_lock() (mm/page-writeback.c): folio_mark_dirty() under the folio lock, slept for
 * when somebody holds it (reclaim, migration, khugepaged, a swap-in). A remote write calls it after
 * its copy, still holding mmap_lock or the VMA lock and its GUP reference.
 */
export function* folio_mark_dirty_lock(folio: Folio): Gen {
  yield* folio_lock(folio);
  yield* folio_mark_dirty(folio);
  yield* folio_unlock(folio);
}

/**
 * Queue the current task on the folio's wait queue without sleeping yet (the kernel adds the wait
 * entry while still holding a lock that keeps the folio from being unlocked and freed, e.g. the
 * PTL in migration_entry_wait_on_locked()). folio_unlock() takes it off again.
 */
export function folio_wait_enqueue(folio: Folio): void {
  const me = sim().running!;
  if (!folio.waiters.includes(me)) folio.waiters.push(me);
}

/**
 * Sleep until PG_locked is clear, without taking it (folio_wait_bit_common with DROP behaviour, as
 * migration_entry_wait_on_locked() uses it); `waitClass` names the wait in the trace. Returns at
 * once if the folio was unlocked meanwhile (a queued waiter is then off the queue already). The
 * caller must not touch the folio afterwards: once unlocked it may be freed at any time.
 */
export function* folio_wait_unlocked(folio: Folio, waitClass: Name): Gen {
  const s = sim();
  while (folio.flags & PG_locked) {
    folio_wait_enqueue(folio);
    yield* s.block(folio.id, waitClass);
  }
}

const W_WRITEBACK = name('folio_wait_writeback');

/**
 * folio_wait_writeback(): sleep until the folio's writeback has ended (PG_writeback clear). The
 * waiters share the folio's queue with the lock's (the kernel's hashed wait table; each re-checks
 * its own bit when woken).
 */
export function* folio_wait_writeback(folio: Folio): Gen {
  while (folio.flags & PG_writeback) {
    folio_wait_enqueue(folio);
    yield* sim().block(folio.id, W_WRITEBACK);
  }
}

/** folio_wake_bit() after a bit of the folio changed: every waiter re-checks what it waits for. */
export function* folio_wake_waiters(folio: Folio): Gen {
  for (const t of folio.waiters.splice(0)) yield* sim().wake(t);
}
