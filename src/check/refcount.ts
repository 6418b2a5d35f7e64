/**
 * refcount: no folio or VMA reference count goes below zero, and every short-lived reference a
 * request takes is dropped by its end: the reference GUP grabs on a page to copy from it (or the
 * fast path after its folio walk) is put once the bytes are copied. Short-lived means taken inside
 * __access_remote_vm but not inside handle_mm_fault: a fault's references (a page mapped into the
 * page tables, a page-cache folio read in) belong to the mapping and outlive the request, and
 * folio_activate's to the per-CPU lru_activate batch.
 */
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import type { CheckContext } from './context.js';

export function refcount(ctx: CheckContext): Reducer {
  /** Per task in a request: references taken and dropped so far, and where the first was taken. */
  const open = new Map<number, { taken: number; dropped: number; firstSeq: number }>();
  ctx.requests.onBegin((_r, tid) => open.set(tid, { taken: 0, dropped: 0, firstSeq: 0 }));
  ctx.requests.onEnd((r, tid) => {
    const refs = open.get(tid);
    open.delete(tid);
    if (!refs || refs.taken <= refs.dropped) return;
    const kept = refs.taken - refs.dropped;
    ctx.report({
      checker: 'refcount', severity: 'bug', request: r.id, seqs: [refs.firstSeq, r.lastSeq ?? refs.firstSeq],
      message: `${r.id} took ${refs.taken} folio reference(s) and dropped ${refs.dropped}: ${kept} leaked past the end of the request`,
      witnesses: [ctx.witness(r.lastSeq ?? refs.firstSeq, tid, 'request_end')],
    });
  });
  // A reference taken in folio_activate belongs to the lru_activate batch that queued the folio,
  // dropped when the batch is moved, whoever moves it.
  const shortLived = (tid: number) => ctx.stacks.inside(tid, '__access_remote_vm') && !ctx.stacks.inside(tid, 'handle_mm_fault')
    && !ctx.stacks.inside(tid, 'folio_activate');
  const took = (tid: number, seq: number) => {
    const refs = open.get(tid);
    if (!refs || !shortLived(tid)) return;
    if (refs.taken === 0) refs.firstSeq = seq;
    refs.taken++;
  };
  return reducerOf({
    folio_get: (e) => took(e.tid, e.seq),
    folio_try_get(e) {
      if (e.ok) took(e.tid, e.seq);
    },
    folio_put(e) {
      const refs = open.get(e.tid);
      if (refs && shortLived(e.tid)) refs.dropped++;
      if (e.ref < 0) {
        ctx.report({
          checker: 'refcount', severity: 'bug', request: ctx.requestOf(e.tid), seqs: [e.seq],
          message: `folio ${e.folio}'s reference count went below zero (${e.ref}): a folio_put without a reference`,
          witnesses: [ctx.witness(e.seq, e.tid, 'folio_put')],
        });
      }
    },
    vma_refcnt(e) {
      // VM_REFCNT_EXCLUDE_READERS_FLAG rides above the count, so a negative value is an underflow.
      if (e.new < 0) {
        ctx.report({
          checker: 'refcount', severity: 'bug', request: ctx.requestOf(e.tid), seqs: [e.seq],
          message: `VMA ${e.vma}'s vm_refcnt went below zero (${e.old} -> ${e.new})`,
          witnesses: [ctx.witness(e.seq, e.tid, 'vma_refcnt')],
        });
      }
    },
  });
}
