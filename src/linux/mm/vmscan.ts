/**
 * Page reclaim (mm/vmscan.c, classic two-list LRU, MGLRU off; kernel-spec §5.3): kswapd isolates
 * folios from the inactive lists, asks folio_check_references() what each one's recent use says,
 * and shrink_folio_list() acts on the verdict in the kernel's order: KEEP rotates the folio back on
 * its inactive list, ACTIVATE sets PG_active (it goes to the active list when put back); a RECLAIM
 * verdict on an anonymous folio swaps it out -- add_to_swap (a slot, the swap cache),
 * try_to_unmap (each PTE becomes a swap entry), pageout (swap_writepage: the write is submitted
 * and the folio kept until it completes) and, once it is clean and unmapped, __remove_mapping,
 * which freezes the reference count at what the isolation and the swap cache hold: anybody else
 * holding a reference (a fast-path reader, a racing swap-in) makes it fail, and the folio stays.
 * A folio written out in one pass is freed by a later one.
 *
 * Reduced: page-cache folios are not reclaimed (a RECLAIM / RECLAIM_CLEAN file folio is kept, as
 * if its mapping could not be written this pass); large anonymous folios are kept (no split for
 * swap); shrink_active_list (active list aging), demotion, PG_reclaim (folio_rotate_reclaimable),
 * writeback throttling and vm_swap_full() are not modelled; nothing pins folios (FOLL_PIN), so
 * folio_maybe_dma_pinned() is always false and its checks are left out.
 */
import { emit, FolioReferences } from '../../trace/vocab/index.js';
import { name, sim } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { Completion, complete_all } from '../kernel/completion.js';
import { traced } from '../kernel/ftrace.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { TaskStruct } from '../kernel/sched.js';
import {
  type Folio, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, LRU_NONE, PG_active, PG_dirty, PG_lru, PG_referenced, PG_swapcache,
  PG_writeback, folio_change_flags, folio_get, folio_is_file_lru, folio_on_active_lru, folio_put, folio_ref_freeze,
  folio_ref_unfreeze, folio_try_get, folio_trylock, folio_unlock, free_frozen_folio, lru_lists, lru_move_to_flagged_list,
  lruvec_del_folio,
} from './folio.js';
import { VM_EXEC, VM_LOCKED } from './mm_types.js';
import { swap_writepage } from './page_io.js';
import { type FolioReferencedArg, folio_referenced, try_to_unmap } from './rmap.js';
import { lru_gen_enabled, lru_gen_set_refs } from './lru_gen.js';
import { lru_gen_shrink_node } from './lru_gen_vmscan.js';
import { folio_add_lru, lru_add_drain, lru_isolated, lru_lock } from './swap.js';
import { __delete_from_swap_cache, add_to_swap, swap_cache_lock } from './swap_state.js';
import { put_swap_folio } from './swapfile.js';

// enum folio_references: the reclaim_verdict event names them (FolioReferences).
export const FOLIOREF_RECLAIM = FolioReferences.codes.reclaim;
export const FOLIOREF_RECLAIM_CLEAN = FolioReferences.codes.reclaim_clean;
export const FOLIOREF_KEEP = FolioReferences.codes.keep;
export const FOLIOREF_ACTIVATE = FolioReferences.codes.activate;

const WHY_CLEAR_REFERENCED = name('folio_test_clear_referenced');
const WHY_PUTBACK = name('folio_putback_lru');
const WHY_SET_REFERENCED = name('folio_set_referenced');
const WHY_SET_ACTIVE = name('folio_set_active');
const WHY_CLEAR_DIRTY_FOR_IO = name('folio_clear_dirty_for_io');
const W_KSWAPD = name('kswapd_wait');

function* folio_test_clear_referenced(folio: Folio): Gen<boolean> {
  const old = yield* folio_change_flags(folio, 0, PG_referenced, WHY_CLEAR_REFERENCED);
  return (old & PG_referenced) !== 0;
}

export interface References {
  verdict: number;
  /** Referencing PTEs the rmap walk found (and made old). */
  ptes: number;
  /** PG_referenced was set (and has been cleared). */
  referenced: boolean;
}

/**
 * folio_check_references() (§5.3): the classic LRU policy, or the multi-gen LRU's. With the
 * multi-gen LRU, PG_referenced is not test-and-cleared here: a folio no PTE referenced is reclaimed
 * whatever its refs (the eviction weighed those already, in sort_folio), and a referenced one is
 * kept the first time and activated the next (lru_gen_set_refs: PG_referenced, then PG_workingset).
 */
export function* folio_check_references(folio: Folio): Gen<References> {
  const pra: FolioReferencedArg = { mapcount: 0, referenced: 0, vm_flags: 0 };
  const ptes = yield* folio_referenced(folio, pra);
  // A folio found in a VM_LOCKED VMA goes to the unevictable list as it is: the kernel decides
  // that before it reads (and clears) PG_referenced, so a locked folio keeps its mark. (The
  // kernel's next check, rmap lock contention, cannot arise here: see rmap.ts.)
  if (pra.vm_flags & VM_LOCKED) return { verdict: FOLIOREF_ACTIVATE, ptes, referenced: (folio.flags & PG_referenced) !== 0 };
  if (lru_gen_enabled()) return yield* lru_gen_check_references(folio, ptes);
  const referenced = yield* folio_test_clear_referenced(folio);
  const r = (verdict: number): References => ({ verdict, ptes, referenced });
  if (ptes) {
    // Every mapped folio starts with a young PTE from the fault that mapped it: a second look
    // (PG_referenced from the previous scan) or a second mapping is what activates it.
    yield* folio_change_flags(folio, PG_referenced, 0, WHY_SET_REFERENCED);
    if (referenced || ptes > 1) return r(FOLIOREF_ACTIVATE);
    // Executable file pages are activated on their first use.
    if (pra.vm_flags & VM_EXEC && folio_is_file_lru(folio)) return r(FOLIOREF_ACTIVATE);
    return r(FOLIOREF_KEEP);
  }
  // Referenced through read()/GUP only, not mapped-and-used: a clean file page goes cheaply.
  if (referenced && folio_is_file_lru(folio)) return r(FOLIOREF_RECLAIM_CLEAN);
  return r(FOLIOREF_RECLAIM);
}

/** folio_check_references()'s lru_gen branch; `referenced` reports PG_referenced as it was. */
function* lru_gen_check_references(folio: Folio, ptes: number): Gen<References> {
  const referenced = (folio.flags & PG_referenced) !== 0;
  const r = (verdict: number): References => ({ verdict, ptes, referenced });
  if (!ptes) return r(FOLIOREF_RECLAIM);
  return r((yield* lru_gen_set_refs(folio)) ? FOLIOREF_ACTIVATE : FOLIOREF_KEEP);
}

/** What shrink_folio_list() did: the pages it freed, and the folios to put back on the LRU. */
export interface ShrinkResult {
  reclaimed: number;
  kept: Folio[];
}

/**
 * shrink_folio_list(): each isolated folio is locked (folio_trylock: a folio somebody holds
 * locked is kept), judged, and reclaimed, kept or activated. Freed folios are not put back.
 * (ignore_references, MADV_PAGEOUT's reclaim_pages, is not modelled.)
 */
export const shrink_folio_list = traced('shrink_folio_list', function* (folios: Folio[]): Gen<ShrinkResult> {
  const result: ShrinkResult = { reclaimed: 0, kept: [] };
  for (const folio of folios) {
    if (yield* shrink_folio(folio)) result.reclaimed += folio.nr_pages;
    else result.kept.push(folio);
  }
  return result;
});

/** One folio of shrink_folio_list()'s loop. Returns whether it was freed. */
function* shrink_folio(folio: Folio): Gen<boolean> {
  if (!(yield* folio_trylock(folio))) return false; // keep
  // Under writeback from an earlier pass (case 2 of the kernel's three): activate it and go on.
  if (folio.flags & PG_writeback) return yield* activate_locked(folio);
  const verdict = yield* judge(folio);
  if (verdict === FOLIOREF_ACTIVATE) return yield* activate_locked(folio);
  if (verdict === FOLIOREF_KEEP) return yield* keep_locked(folio);
  // Page-cache reclaim and large-folio swap are not modelled (file header).
  if (folio_is_file_lru(folio) || folio.nr_pages > 1) return yield* keep_locked(folio);
  // Anonymous process memory has backing store? Try to allocate it some swap space here.
  if (!(folio.flags & PG_swapcache) && !(yield* add_to_swap(folio))) return yield* activate_locked(folio);
  if (folio.mapcount > 0) {
    yield* try_to_unmap(folio);
    if (folio.mapcount > 0) return yield* activate_locked(folio);
  }
  if (folio.flags & PG_dirty) {
    if (verdict === FOLIOREF_RECLAIM_CLEAN) return yield* keep_locked(folio);
    const written = yield* pageout(folio);
    if (written === PAGE_KEEP) return yield* keep_locked(folio);
    if (written === PAGE_SUCCESS) {
      // The write is in flight and the folio unlocked: a later pass frees it once it is clean
      // (the kernel's synchronous-write shortcut, "probably a ramdisk", does not arise).
      return false;
    }
  }
  if (!(yield* __remove_mapping(folio))) return yield* keep_locked(folio);
  yield* folio_unlock(folio);
  // free_it: the frozen folio leaves isolation and is freed (free_unref_folios).
  lru_isolated().delete(folio);
  yield* free_frozen_folio(folio);
  return true;
}

/** folio_check_references(), and the reclaim_verdict event that records it. */
function* judge(folio: Folio): Gen<number> {
  const refs = yield* folio_check_references(folio);
  yield emit.reclaim_verdict({ folio: folio.id, verdict: FolioReferences.name(refs.verdict), ptes: refs.ptes, referenced: refs.referenced });
  return refs.verdict;
}

/** activate_locked: the folio goes to the active list when it is put back; keep_locked. */
function* activate_locked(folio: Folio): Gen<boolean> {
  yield* folio_change_flags(folio, PG_active, 0, WHY_SET_ACTIVE);
  return yield* keep_locked(folio);
}

/** keep_locked: unlock it; it is put back on the LRU. */
function* keep_locked(folio: Folio): Gen<boolean> {
  yield* folio_unlock(folio);
  return false;
}

// pageout()'s outcomes (PAGE_ACTIVATE, a mapping without ->writepage, does not arise for swap).
const PAGE_KEEP = 0;
const PAGE_SUCCESS = 1;
const PAGE_CLEAN = 2;

/**
 * is_page_cache_freeable(): only the isolation and the swap cache hold the folio (one reference
 * per page of the cache's) -- no mapping, no GUP or fast-path reference.
 */
function is_page_cache_freeable(folio: Folio): boolean {
  return folio._refcount === 1 + folio.nr_pages;
}

/**
 * pageout() for a dirty folio of the swap cache (folio locked): PAGE_KEEP while somebody else holds
 * a reference; else folio_clear_dirty_for_io() and ->writepage (swap_writepage), which submits the
 * write and unlocks the folio: PAGE_SUCCESS.
 */
function* pageout(folio: Folio): Gen<number> {
  if (!is_page_cache_freeable(folio)) return PAGE_KEEP;
  const old = yield* folio_change_flags(folio, 0, PG_dirty, WHY_CLEAR_DIRTY_FOR_IO);
  if (!(old & PG_dirty)) return PAGE_CLEAN;
  yield* swap_writepage(folio);
  return PAGE_SUCCESS;
}

/**
 * __remove_mapping() for a folio of the swap cache (folio locked): under the cache's xa_lock,
 * freeze the reference count at what the isolation and the cache hold (a failing freeze: somebody
 * else holds a reference -- the folio stays); a folio dirtied meanwhile gets its count back and
 * stays too. Else it leaves the cache, and the slot loses SWAP_HAS_CACHE (put_swap_folio, after
 * the xa_lock). Returns whether the folio is now free to go, its count frozen at 0.
 */
function* __remove_mapping(folio: Folio): Gen<boolean> {
  const lock = swap_cache_lock();
  yield* spin_lock(lock);
  const expected = 1 + folio.nr_pages;
  if (!(yield* folio_ref_freeze(folio, expected))) {
    yield* spin_unlock(lock);
    return false;
  }
  if (folio.flags & PG_dirty) {
    yield* folio_ref_unfreeze(folio, expected);
    yield* spin_unlock(lock);
    return false;
  }
  const offset = folio.swap;
  yield* __delete_from_swap_cache(folio, offset);
  yield* spin_unlock(lock);
  yield* put_swap_folio(offset);
  return true;
}

/**
 * Take a folio its isolator holds a reference on off its LRU list (lru_lock held): it loses PG_lru
 * (and PG_active with the list: the replay model's lru_move clears both), so the LRU code leaves it
 * alone, and is marked isolated, so folio_mark_accessed does not mark it active either. The one
 * place reclaim's batch isolation and folio_isolate_lru share.
 */
function* lru_isolate(folio: Folio): Gen {
  lru_isolated().add(folio);
  yield* lruvec_del_folio(folio);
}

/** Undo lru_isolate: back on the list its flags name, dropping isolation's reference. */
function* lru_putback(folio: Folio): Gen {
  lru_isolated().delete(folio);
  yield* lru_move_to_flagged_list(folio);
  yield* folio_put(folio);
}

/**
 * isolate_lru_folios(): take up to nr folios off list `lru`, oldest first (lru_lock held). Each
 * gets a reference (folio_try_get) and is isolated.
 */
function* isolate_lru_folios(lru: number, nr: number): Gen<Folio[]> {
  const list = lru_lists()[lru]!;
  const taken: Folio[] = [];
  for (const folio of [...list]) {
    if (taken.length >= nr) break;
    if (!(folio.flags & PG_lru)) continue;
    if (!(yield* folio_try_get(folio))) continue;
    yield* lru_isolate(folio);
    taken.push(folio);
  }
  return taken;
}

/** move_folios_to_lru(): back on the lists their flags name, dropping isolation's references. */
function* move_folios_to_lru(folios: Folio[]): Gen {
  for (const folio of folios) yield* lru_putback(folio);
}

/**
 * folio_isolate_lru(): take one folio off its LRU list with a reference (the caller holds one
 * already, or the PTL of a mapping). false if it is not on an LRU (being reclaimed, isolated
 * already, or not yet added). Returns whether the folio was active, for the putback or the new
 * folio (folio_migrate_flags).
 */
export function* folio_isolate_lru(folio: Folio): Gen<{ ok: boolean; active: boolean }> {
  const lock = lru_lock();
  yield* spin_lock(lock);
  if (!(folio.flags & PG_lru) || folio.lru === LRU_NONE) {
    yield* spin_unlock(lock);
    return { ok: false, active: false };
  }
  yield* folio_get(folio);
  const active = folio_on_active_lru(folio);
  yield* lru_isolate(folio);
  yield* spin_unlock(lock);
  return { ok: true, active };
}

/**
 * folio_putback_lru(): back on the LRU through folio_add_lru (active again if it was), dropping
 * isolation's reference.
 */
export function* folio_putback_lru(folio: Folio, active: boolean): Gen {
  lru_isolated().delete(folio);
  if (active) yield* folio_change_flags(folio, PG_active, 0, WHY_PUTBACK);
  yield* folio_add_lru(folio);
  yield* folio_put(folio);
}

/** shrink_inactive_list(): isolate under lru_lock, reclaim unlocked, put back what is left under lru_lock. Returns the pages freed. */
export const shrink_inactive_list = traced('shrink_inactive_list', function* (lru: number, nr_to_scan: number): Gen<number> {
  // This CPU's queued activations first; other CPUs' stay queued, and isolation passes over them.
  yield* lru_add_drain();
  const lock = lru_lock();
  yield* spin_lock(lock);
  const folios = yield* isolate_lru_folios(lru, nr_to_scan);
  yield* spin_unlock(lock);
  if (folios.length === 0) return 0;
  const { reclaimed, kept } = yield* shrink_folio_list(folios);
  yield* spin_lock(lock);
  yield* move_folios_to_lru(kept);
  yield* spin_unlock(lock);
  return reclaimed;
});

/**
 * One reclaim pass over the node: both inactive lists, everything on them; with the multi-gen LRU,
 * lru_gen_shrink_node (lru_gen_vmscan.ts). Returns the pages freed.
 */
export const shrink_node = traced('shrink_node', function* (): Gen<number> {
  if (lru_gen_enabled()) return yield* lru_gen_shrink_node({ shrink_folio_list, move_folios_to_lru });
  let reclaimable = 0;
  for (const lru of [LRU_INACTIVE_ANON, LRU_INACTIVE_FILE]) {
    reclaimable += yield* shrink_inactive_list(lru, lru_lists()[lru]!.size);
  }
  return reclaimable;
});

// --- kswapd ------------------------------------------------------------------------------------

interface Kswapd {
  readonly id: number;
  task: Task | null;
  /** One completion per wakeup_kswapd() not yet served: completed after the next full pass. */
  readonly pending: Completion[];
}

function kswapd_state(): Kswapd {
  return kernel().subsystem('kswapd', () => ({ id: kernel().newId(), task: null, pending: [] as Completion[] }));
}

/** kswapd_run(): start the node's kswapd (a daemon: the run may end while it sleeps). */
export function kswapd_run(): void {
  const st = kswapd_state();
  if (st.task) return;
  st.task = sim().spawn('kswapd0', function* (): Gen {
    for (;;) {
      while (st.pending.length === 0) yield* sim().block(st.id, W_KSWAPD);
      const served = st.pending.splice(0);
      yield* shrink_node();
      for (const done of served) yield* complete_all(done);
    }
  }, { daemon: true, data: new TaskStruct(0, 'kswapd0', null) });
}

/**
 * wakeup_kswapd(): ask for one reclaim pass. Returns a completion the caller may wait on (the
 * kernel's caller does not wait; a workload that wants to observe the pass does).
 */
export function* wakeup_kswapd(): Gen<Completion> {
  const st = kswapd_state();
  if (!st.task) throw new Error('wakeup_kswapd() before kswapd_run()');
  const done = new Completion();
  st.pending.push(done);
  yield* sim().wake(st.task);
  return done;
}
