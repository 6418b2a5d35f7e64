/** Page tables: allocation, entries (set by the kernel or the MMU's accessed bits), freeing; user stores. */
import { entrySpan, PtLevel } from '../../trace/vocab/index.js';
import type { Folds, Model } from '../model-types.js';
import { folioOffset } from './folio.js';

export const pagetableFolds: Folds = {
  pgtable_alloc(m, e) {
    m.tables.set(e.table, { table: e.table, level: PtLevel.codes[e.level], base: e.addr, entries: new Map(), pendingFree: false });
  },
  pgtable_set(m, e) {
    setEntry(m, e.table, e.addr, e.value);
  },
  pte_young(m, e) {
    setEntry(m, e.table, e.addr, e.value);
  },
  pgtable_free(m, e) {
    // A table queued for RCU stays readable by lockless walkers until its grace period ends.
    if (e.mode === 'rcu_queued') {
      const t = m.tables.get(e.table);
      if (t) t.pendingFree = true;
    } else {
      m.tables.delete(e.table);
    }
  },
  user_access(m, e) {
    if (e.write && e.data) m.folios.get(e.folio)?.data.write(e.data, folioOffset(m, e.folio, e.addr));
  },
};

/** The table's entry for addr becomes value (0: cleared, and no longer listed). */
function setEntry(m: Model, table: number, addr: number, value: number): void {
  const t = m.tables.get(table);
  if (!t) return;
  const index = Math.floor((addr - t.base) / entrySpan(PtLevel.name(t.level)));
  if (value === 0) t.entries.delete(index);
  else t.entries.set(index, value);
}
