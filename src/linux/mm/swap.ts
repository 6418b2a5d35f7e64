/**
 * LRU insertion and software access tracking (mm/swap.c): the classic two-list LRU, and with the
 * multi-gen LRU its entry points into lru_gen.ts (lru_gen_inc_refs, the faulted-in folio's PG_active).
 *
 * Activation is batched as in the kernel: folio_activate() claims the folio (clears PG_lru), takes a
 * reference and queues it on the CPU's lru_activate folio_batch -- one CPU per task here -- and the
 * batch moves its folios to the active list under lru_lock only when it fills
 * (FOLIO_BATCH_SIZE) or is drained (lru_add_drain: reclaim; lru_add_drain_all: move_pages'
 * lru_cache_disable). Until then the folio stays on its inactive list with PG_lru clear, so
 * reclaim's isolation passes it over. Simplification: the lru_add batch still drains at once
 * (folio_add_lru takes lru_lock each time).
 */
import { emit } from '../../trace/vocab/index.js';
import { current, name } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import { kernel, perKernel } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { lru_gen_enabled, lru_gen_in_fault, lru_gen_inc_refs } from './lru_gen.js';
import { SpinLock, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import {
  type Folio, LRU_NONE, PG_active, PG_idle, PG_lru, PG_referenced, PG_unevictable, folio_change_flags, folio_get, folio_put,
  lru_move_to_flagged_list,
} from './folio.js';

const C_LRU_LOCK = name('lru_lock');
const WHY_QUEUE_ACTIVATE = name('folio_activate: queued');
const WHY_SET_LRU = name('folio_set_lru');

export const lru_lock: () => SpinLock = perKernel('lru_lock', () => new SpinLock(C_LRU_LOCK));

/**
 * folio_add_lru(): a new folio joins the inactive list of its type. With the multi-gen LRU, one
 * added by a page fault is active: it joins a young generation (see lru_gen_folio_seq).
 */
export function* folio_add_lru(folio: Folio): Gen {
  const lock = lru_lock();
  yield* spin_lock(lock);
  // The kernel sets it before queuing the folio on the lru_add batch, which the model drains at
  // once; set here it shows in lru_gen_add_folio's folio_flags event, as the flag it clears.
  // PF_MEMALLOC (reclaim's own allocations) is not modelled: no reclaim path adds folios.
  if (lru_gen_enabled() && !(folio.flags & PG_unevictable) && lru_gen_in_fault()) folio.flags |= PG_active;
  yield* lru_move_to_flagged_list(folio);
  yield* spin_unlock(lock);
}

/**
 * Folios reclaim has taken off the LRU (isolate_lru_folios in mm/vmscan.c) and not yet put back.
 * They have PG_lru clear like a folio still waiting in a per-CPU lru_add batch, but unlike one,
 * folio_mark_accessed() must not mark them active (__lru_cache_activate_folio only finds folios in
 * the local lru_add batch).
 */
export function lru_isolated(): Set<Folio> {
  return kernel().subsystem('lru_isolated', () => new Set<Folio>());
}

/** FOLIO_BATCH_SIZE: folios a per-CPU folio_batch holds before it is moved. */
export const FOLIO_BATCH_SIZE = 31;

/** The lru_activate batch of each CPU (task). */
function activate_batches(): Map<Task, Folio[]> {
  return kernel().subsystem('lru_activate', () => new Map<Task, Folio[]>());
}

/**
 * folio_activate(): queue an LRU folio for the active list. folio_test_clear_lru() claims it: a
 * folio without PG_lru (reclaim isolated it, or it is queued already) is left alone. The batch
 * holds a reference until it is moved.
 */
export const folio_activate = traced('folio_activate', function* (folio: Folio): Gen {
  if (folio.flags & (PG_active | PG_unevictable)) return;
  if (!(folio.flags & PG_lru)) return;
  yield* folio_change_flags(folio, 0, PG_lru, WHY_QUEUE_ACTIVATE);
  yield* folio_get(folio);
  const batches = activate_batches();
  let batch = batches.get(current());
  if (!batch) batches.set(current(), (batch = []));
  batch.push(folio);
  if (batch.length >= FOLIO_BATCH_SIZE) yield* folio_batch_move_lru(batch);
});

/**
 * folio_batch_move_lru() with lru_activate: under lru_lock each queued folio goes to the active
 * list (unless it became active or unevictable meanwhile) and gets PG_lru back; then the batch's
 * references are dropped.
 */
function* folio_batch_move_lru(batch: Folio[]): Gen {
  const folios = batch.splice(0);
  const lock = lru_lock();
  yield* spin_lock(lock);
  for (const folio of folios) {
    if (!(folio.flags & (PG_active | PG_unevictable))) {
      folio.flags |= PG_active;
      yield* lru_move_to_flagged_list(folio);
    }
    if (!(folio.flags & PG_lru)) yield* folio_change_flags(folio, PG_lru, 0, WHY_SET_LRU);
  }
  yield* spin_unlock(lock);
  for (const folio of folios) yield* folio_put(folio);
}

/** lru_add_drain(): move this CPU's queued activations now (reclaim does, before isolating). */
export function* lru_add_drain(): Gen {
  const batch = activate_batches().get(current());
  if (batch && batch.length > 0) yield* folio_batch_move_lru(batch);
}

/**
 * lru_add_drain_all(): every CPU's queued activations are moved. The kernel queues a work item on
 * each CPU and waits for them; here the caller moves them itself, in task order.
 */
export function* lru_add_drain_all(): Gen {
  for (const batch of activate_batches().values()) if (batch.length > 0) yield* folio_batch_move_lru(batch);
}

/**
 * folio_mark_accessed() (kernel-spec §5.3): inactive,unreferenced -> inactive,referenced ->
 * active,unreferenced. Two touches activate a folio. Called by GUP's FOLL_TOUCH and by file reads.
 */
export function* folio_mark_accessed(folio: Folio): Gen {
  const from = folio.flags;
  if (lru_gen_enabled()) {
    // The multi-gen LRU counts the access (refs, then PG_workingset) and moves nothing; the
    // eviction weighs the count (sort_folio). PG_idle is left alone, as the kernel returns first.
    lru_gen_inc_refs(folio);
    yield emit.folio_mark_accessed({ folio: folio.id, from, to: folio.flags });
    return;
  }
  if (!(folio.flags & PG_referenced)) {
    folio.flags |= PG_referenced;
  } else if (folio.flags & PG_unevictable) {
    // Unevictable folios are not aged.
  } else if (!(folio.flags & PG_active)) {
    folio.flags &= ~PG_referenced;
    if (folio.flags & PG_lru) {
      // PG_active comes with the move to the active list (the lru_move event of folio_activate).
      folio.flags &= ~PG_idle;
      yield emit.folio_mark_accessed({ folio: folio.id, from, to: folio.flags });
      yield* folio_activate(folio);
      return;
    }
    // PG_lru clear: __lru_cache_activate_folio() marks it active only if it waits in this CPU's
    // lru_add batch, i.e. is on no list yet (the model's lru_add batch drains at once, so that is
    // a folio not added yet). A folio reclaim isolated, or one already queued on an lru_activate
    // batch (still on its list), is not found there and the activation is lost.
    const waitingForLruAdd = folio.lru === LRU_NONE && !lru_isolated().has(folio);
    if (waitingForLruAdd) folio.flags |= PG_active;
  }
  folio.flags &= ~PG_idle;
  yield emit.folio_mark_accessed({ folio: folio.id, from, to: folio.flags });
}
