/**
 * LRU insertion and software access tracking (mm/swap.c), classic two-list LRU (MGLRU off).
 *
 * Simplification: the per-CPU folio_batch queues (lru_add, lru_activate) drain at once, under
 * lru_lock, instead of when the batch fills; the order of list moves is the same, only earlier.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { SpinLock, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import {
  type Folio, PG_active, PG_idle, PG_lru, PG_referenced, PG_unevictable, lru_move_to_flagged_list,
} from './folio.js';

const C_LRU_LOCK = name('lru_lock');

export function lru_lock(): SpinLock {
  return kernel().subsystem('lru_lock', () => new SpinLock(C_LRU_LOCK));
}

/** folio_add_lru(): a new folio joins the inactive list of its type. */
export function* folio_add_lru(folio: Folio): Gen {
  const lock = lru_lock();
  yield* spin_lock(lock);
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

/**
 * folio_activate(): move an LRU folio to the active list. The kernel claims the folio with
 * folio_test_clear_lru() when it queues it on the lru_activate batch, so a folio reclaim isolated
 * meanwhile (PG_lru clear) is left alone; here the batch drains at once under lru_lock, so the
 * check is made there -- without it an isolated folio would go back on a list behind reclaim's back.
 */
function* folio_activate(folio: Folio): Gen {
  const lock = lru_lock();
  yield* spin_lock(lock);
  if (folio.flags & PG_lru && !(folio.flags & (PG_active | PG_unevictable))) {
    folio.flags |= PG_active;
    yield* lru_move_to_flagged_list(folio);
  }
  yield* spin_unlock(lock);
}

/**
 * folio_mark_accessed() (kernel-spec §5.3): inactive,unreferenced -> inactive,referenced ->
 * active,unreferenced. Two touches activate a folio. Called by GUP's FOLL_TOUCH and by file reads.
 */
export function* folio_mark_accessed(folio: Folio): Gen {
  const from = folio.flags;
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
    // Not on the LRU yet: it will be added to the active list. (Not if reclaim isolated it: then
    // the kernel finds it in no lru_add batch and the activation is lost.)
    if (!lru_isolated().has(folio)) folio.flags |= PG_active;
  }
  folio.flags &= ~PG_idle;
  yield emit.folio_mark_accessed({ folio: folio.id, from, to: folio.flags });
}
