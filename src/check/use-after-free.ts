/**
 * use-after-free: any access to a freed folio or page table. The model marks its own detections
 * (a `use_after_free` event where kernel code touches a freed object, e.g. a page-table walk through
 * a table freed without waiting for RCU); on top of that this checker follows frees itself:
 *
 * - a folio is freed by folio_free until folio_alloc hands its id out again: a reference taken or
 *   dropped, an access mark or a copy from it in between is a use after free;
 * - a page table is freed by pgtable_free (at once, or when its RCU callback or IPI sync runs; not
 *   while merely queued) until pgtable_alloc reuses its id: an entry set in it in between is one.
 *
 * A VMA is different: SLAB_TYPESAFE_BY_RCU lets lock_vma_under_rcu() touch a freed or reused VMA,
 * which vma_start_read() detects (detached, foreign) before anyone relies on it. What must not
 * happen is a copy through a VMA the task holds read-locked after that VMA object was detached, or
 * freed and reused (a new vma_create of its id: another mm or address): the read lock is what should
 * have kept it in place.
 */
import type { Hold } from '../reduce/lock-holders.js';
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import type { TraceEvent } from '../trace/vocab/index.js';
import type { CheckContext } from './context.js';

export function useAfterFree(ctx: CheckContext): Reducer {
  /** What became of a VMA the task holds read-locked, if it is no longer the object it locked. */
  const vmaChanged = (hold: Hold): string | null => {
    const now = ctx.vmas.get(hold.id);
    if (!now) return null;
    if (now.createdAt > hold.seq) return `VMA ${hold.id} was freed and created again (event ${now.createdAt})`;
    if (!now.attached) return `VMA ${hold.id} was detached`;
    return null;
  };
  const freedFolios = new Map<number, number>();
  const freedTables = new Map<number, number>();
  const report = (e: TraceEvent, message: string, freedAt?: number) => {
    ctx.report({
      checker: 'use-after-free', severity: 'bug', message, request: ctx.requestOf(e.tid),
      seqs: freedAt === undefined ? [e.seq] : [freedAt, e.seq],
      witnesses: [ctx.witness(e.seq, e.tid, e.kind)],
    });
  };
  const folioUse = (e: TraceEvent, folio: number) => {
    const freedAt = freedFolios.get(folio);
    if (freedAt !== undefined) report(e, `${e.kind} on folio ${folio}, freed at event ${freedAt}`, freedAt);
  };
  return reducerOf({
    use_after_free: (e) => report(e, `the model caught a use after free: ${e.what} (object ${e.obj})`),
    folio_alloc: (e) => freedFolios.delete(e.folio),
    folio_free: (e) => freedFolios.set(e.folio, e.seq),
    folio_get: (e) => folioUse(e, e.folio),
    folio_put: (e) => folioUse(e, e.folio),
    folio_mark_accessed: (e) => folioUse(e, e.folio),
    copy(e) {
      if (e.folio > 0) folioUse(e, e.folio);
      for (const hold of ctx.locks.heldBy(e.tid)) {
        if (hold.object !== 'vma' || hold.mode !== 'read') continue;
        const changed = vmaChanged(hold);
        if (changed) report(e, `copy at 0x${e.addr.toString(16)} through a read-locked VMA that changed under the lock: ${changed}`, hold.seq);
      }
    },
    pgtable_alloc: (e) => freedTables.delete(e.table),
    pgtable_free(e) {
      if (e.mode !== 'rcu_queued') freedTables.set(e.table, e.seq);
    },
    pgtable_set(e) {
      const freedAt = freedTables.get(e.table);
      if (freedAt !== undefined) report(e, `entry for 0x${e.addr.toString(16)} set in page table ${e.table}, freed at event ${freedAt}`, freedAt);
    },
  });
}
