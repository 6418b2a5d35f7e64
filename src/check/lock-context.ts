/**
 * lock-context: what the kernel's assertions and page-table rules require at each access.
 *
 * - A page-table entry read without the table's lock must be safe from the table being freed under
 *   it: the reader holds the mmap_lock, a VMA lock or an rmap lock (i_mmap_rwsem, anon_vma), or is
 *   in an RCU read-side section (or has IRQs off, which holds off the IPI and RCU table freeing).
 * - A PTE read with the lock (pte_offset_map_lock) must hold a page-table lock.
 * - Traced functions with lock assertions: GUP's walk (get_user_pages_remote, __get_user_pages,
 *   follow_page_mask, faultin_page: mmap_assert_locked) needs the mmap_lock; folio_walk_start
 *   (mmap_assert_locked, or vma_assert_locked with FW_VMA_LOCKED) and handle_mm_fault need the
 *   mmap_lock or a VMA lock.
 */
import { VMA_LOCK_CLASS } from '../reduce/lock-holders.js';
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import type { TraceEvent } from '../trace/vocab/index.js';
import type { CheckContext } from './context.js';

const WALK_PROTECTORS: ReadonlySet<string> = new Set(['mmap_lock', VMA_LOCK_CLASS, 'i_mmap_rwsem', 'anon_vma']);
const PAGE_TABLE_LOCKS: ReadonlySet<string> = new Set(['ptl', 'pmd_lock', 'page_table_lock']);

/** What each asserting traced function needs held: the lock classes any one of which will do. */
const MMAP_LOCK: ReadonlySet<string> = new Set(['mmap_lock']);
const MMAP_OR_VMA_LOCK: ReadonlySet<string> = new Set(['mmap_lock', VMA_LOCK_CLASS]);
const NEEDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['get_user_pages_remote', MMAP_LOCK],
  ['__get_user_pages', MMAP_LOCK],
  ['follow_page_mask', MMAP_LOCK],
  ['faultin_page', MMAP_LOCK],
  ['folio_walk_start', MMAP_OR_VMA_LOCK],
  ['handle_mm_fault', MMAP_OR_VMA_LOCK],
]);

export function lockContext(ctx: CheckContext): Reducer {
  const reported = new Set<string>();
  // As the lock-holder table's class sets, asked for before any event: a task's holds are then
  // tested against one with a single AND, for every page-table read (a fifth of all events).
  const walkProtectors = ctx.locks.classSet(WALK_PROTECTORS);
  const pageTableLocks = ctx.locks.classSet(PAGE_TABLE_LOCKS);
  const needs = new Map([...NEEDS].map(([fn, classes]) => [fn, ctx.locks.classSet(classes)]));
  const report = (e: TraceEvent, key: string, message: string) => {
    // One report per rule and place: a loop over many entries says it once.
    const where = `${key}@${ctx.stacks.of(e.tid).join('/')}`;
    if (reported.has(where)) return;
    reported.add(where);
    ctx.report({ checker: 'lock-context', severity: 'bug', message, seqs: [e.seq], witnesses: [ctx.witness(e.seq, e.tid, e.kind)], request: ctx.requestOf(e.tid) });
  };
  return reducerOf({
    pgtable_read(e) {
      if (e.lockless && !ctx.locks.holdsAny(e.tid, walkProtectors) && !ctx.locks.inRcu(e.tid)) {
        report(e, 'lockless', `lockless ${e.level} read at 0x${e.addr.toString(16)} outside RCU and without the mmap_lock, a VMA lock or an rmap lock: the table can be freed under the walk`);
      }
      if (!e.lockless && e.level === 'pte' && !ctx.locks.holdsAny(e.tid, pageTableLocks)) {
        report(e, 'ptl', `PTE read at 0x${e.addr.toString(16)} as locked, without holding a page-table lock`);
      }
    },
    call_enter(e) {
      const need = needs.get(e.fn);
      if (need && !ctx.locks.holdsAny(e.tid, need)) {
        report(e, e.fn, `${e.fn}() called without ${[...need.names].join(' or ')} held (${e.fn === 'folio_walk_start' ? 'mmap_assert_locked, or vma_assert_locked with FW_VMA_LOCKED' : 'mmap_assert_locked'})`);
      }
    },
  });
}
