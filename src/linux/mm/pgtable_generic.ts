/**
 * pte_offset_map() family (mm/pgtable-generic.c, kernel-spec §3.4-§3.5): map a PTE table under RCU,
 * and lock it with the PMD re-check that catches a table replaced or removed meanwhile.
 */
import { emit } from '../../trace/vocab/index.js';

import type { Gen } from '../../sim/task.js';
import { entry_leaf, entry_none, entry_present } from '../arch/x86/include/pgtable_types.js';
import { spin_lock, spin_unlock, type SpinLock } from '../kernel/locking/spinlock.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { kernel } from '../kernel.js';
import type { MmStruct } from './mm_types.js';
import {
  type EntryPtr, type PageTable, entry_ptr, entry_table, free_table_now, pgtable_free_queued, ptlock_ptr, read_entry,
} from './pgtable.js';
import { name } from '../../sim/sim.js';
import { framed } from '../../sim/frame.js';

const UAF_PTL = name('PTL of a freed page table');

export interface MappedPte {
  /** The PTE slot for the address. */
  readonly ptep: EntryPtr;
  /** The PMD value the table was found through. */
  readonly pmdval: number;
}

/**
 * __pte_offset_map(): RCU read lock, lockless PMD read; NULL (RCU dropped) if there is no PTE
 * table: none, not present, or a huge leaf. On success RCU stays held until pte_unmap().
 * (pmd_bad/pmd_clear_bad cannot arise: the model never writes malformed entries.)
 */
export function* __pte_offset_map(pmdp: EntryPtr, addr: number): Gen<MappedPte | null> {
  yield* rcu_read_lock();
  const pmdval = yield* read_entry(pmdp, true); // pmdp_get_lockless
  if (entry_none(pmdval) || !entry_present(pmdval) || entry_leaf(pmdval)) {
    yield* rcu_read_unlock();
    return null;
  }
  return { ptep: entry_ptr(entry_table(pmdval), addr), pmdval };
}

export const pte_offset_map = __pte_offset_map;

/** pte_unmap(): kunmap_local + rcu_read_unlock. */
export function pte_unmap(): Gen {
  return rcu_read_unlock();
}

export interface LockedPte extends MappedPte {
  readonly ptl: SpinLock;
}

/**
 * pte_offset_map_lock(): map, take the PTL derived from the PMD value, and re-check the PMD under
 * it; if the table was replaced or removed meanwhile, unlock and start again.
 */
export const pte_offset_map_lock = framed(function* pte_offset_map_lock(mm: MmStruct, pmdp: EntryPtr, addr: number): Gen<LockedPte | null> {
  for (;;) {
    const mapped = yield* __pte_offset_map(pmdp, addr);
    if (!mapped) return null;
    const table = mapped.ptep.table; // the table pmdval points to
    const ptl = ptlock_ptr(mm, table);
    // The split PTL lives in the table page: taking it in a freed table is a use-after-free.
    if (table.freed) yield emit.use_after_free({ what: UAF_PTL.id, obj: table.id });
    yield* spin_lock(ptl);
    const now = yield* read_entry(pmdp, false);
    const same = now === mapped.pmdval;
    yield emit.pmd_recheck({ addr, same, value: now });
    if (same) return { ptep: mapped.ptep, pmdval: mapped.pmdval, ptl };
    yield* pte_unmap_unlock(ptl);
  }
});

/** pte_offset_map_rw_nolock(): mapped under RCU, plus the lock pointer, without locking. */
export function* pte_offset_map_rw_nolock(mm: MmStruct, pmdp: EntryPtr, addr: number): Gen<LockedPte | null> {
  const mapped = yield* __pte_offset_map(pmdp, addr);
  if (!mapped) return null;
  return { ptep: mapped.ptep, pmdval: mapped.pmdval, ptl: ptlock_ptr(mm, mapped.ptep.table) };
}

/** pte_unmap_unlock(): spin_unlock(ptl), then pte_unmap(). */
export function* pte_unmap_unlock(ptl: SpinLock): Gen {
  yield* spin_unlock(ptl);
  yield* pte_unmap();
}

/**
 * pmdp_get_lockless_sync() (include/linux/pgtable.h, kernel-spec §3.3): after clearing a PMD, wait
 * for lockless readers that may have read half of it -- tlb_remove_table_sync_one() on configs that
 * read a PMD in two halves (CONFIG_GUP_GET_PXX_LOW_HIGH, 32-bit PAE). x86-64 reads it in one
 * READ_ONCE: a no-op, and no event.
 */
export function* pmdp_get_lockless_sync(): Gen {}

const WHAT_PTE_FREE = name('pte_free_defer');

/**
 * pte_free_defer() (mm/pgtable-generic.c, kernel-spec §4.3): free a PTE table that was unlinked
 * under pmd_lock + PTL after an RCU grace period (call_rcu -> pte_free), so a walker that found it
 * through a PMD value read under rcu_read_lock() (pte_offset_map) can still take its PTL and see
 * the PMD changed. Queued (rcu_queued), then freed by the callback (rcu_freed). Config
 * pteFreeImmediate (kernel-spec §12.4c) frees it at once (immediate), as without RCU-deferred freeing.
 */
export function* pte_free_defer(table: PageTable): Gen {
  if (kernel().config.pteFreeImmediate) {
    yield* free_table_now(table, 'immediate');
    return;
  }
  yield* pgtable_free_queued(table);
  yield* call_rcu(WHAT_PTE_FREE, table.id, function* () {
    yield* free_table_now(table, 'rcu_freed');
  });
}
