/**
 * mixed-vmas (the first review finding on the series): one __access_remote_vm() call returns bytes
 * copied before and after a VMA of the target mm changed, so the result combines data from VMAs
 * that never coexisted. Mainline holds the mmap_lock for the whole call, so no VMA of the target
 * can change between its copies; the fast path holds one VMA's lock at a time.
 *
 * One exception is mainline's own: when a read hits a hole, __access_remote_vm() calls
 * expand_stack(), which drops the mmap_lock, takes it for write and downgrades it. VMAs may change
 * meanwhile, on any path, by design; changes while the reader is inside expand_stack() do not count.
 *
 * A read inside one VMA is not safe from it either: when the fast path stops part-way (a page not
 * present, a zero page) and __access_remote_vm() does the rest under mmap_lock, the VMA can be
 * replaced before that lock is had. The report then says which fallback split the call, since no
 * switch of the review's (singleVmaOnly included) covers it; redoWhole does: the fast path's copies
 * are dropped (fast_path_discard) and the call starts over under mmap_lock.
 */
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import type { CheckContext } from './context.js';

interface Call {
  copies: number;
  /** VMA changes in the target mm since the last copy. */
  changes: number;
  firstCopySeq: number;
  reported: boolean;
  /** The fast path's fallback after it had copied bytes in this call, if it made one. */
  fallback: { copied: number; reason: string } | undefined;
}

/** What the report adds when the fast path's fallback split the call between the two lock regimes. */
function fallbackNote(call: Call): string {
  if (call.fallback === undefined) return '';
  const { copied, reason } = call.fallback;
  return ` (the fast path copied ${copied} bytes, fell back on "${reason}", and the mmap_lock path read the rest after the change)`;
}

export function mixedVmas(ctx: CheckContext): Reducer {
  const calls = new Map<number, Call>();
  ctx.vmas.onChange((mm) => {
    for (const [tid, call] of calls) {
      if (ctx.stacks.inside(tid, 'expand_stack')) continue;
      const reads = ctx.targets.of(tid);
      if (call.copies > 0 && (mm === undefined || reads === undefined || reads === mm)) call.changes++;
    }
  });
  ctx.requests.onEnd((_r, tid) => calls.delete(tid));
  return reducerOf({
    call_enter(e) {
      if (e.fn === '__access_remote_vm' && ctx.requests.inFlight(e.tid)) calls.set(e.tid, { copies: 0, changes: 0, firstCopySeq: 0, reported: false, fallback: undefined });
    },
    fast_path_fallback(e) {
      const call = calls.get(e.tid);
      if (call && e.copied > 0) call.fallback = { copied: e.copied, reason: e.reason };
    },
    fast_path_discard(e) {
      // The bytes copied so far are not part of the result: the call starts over.
      const call = calls.get(e.tid);
      if (call) Object.assign(call, { copies: 0, changes: 0, fallback: undefined });
    },
    copy(e) {
      const call = calls.get(e.tid);
      if (!call) return;
      if (call.copies === 0) call.firstCopySeq = e.seq;
      if (call.copies > 0 && call.changes > 0 && !call.reported) {
        call.reported = true;
        const request = ctx.requestOf(e.tid);
        ctx.report({
          checker: 'mixed-vmas', severity: 'bug', request, seqs: [call.firstCopySeq, e.seq],
          message: `${request}: one __access_remote_vm call copied before and after ${call.changes} VMA change(s) of the target mm: the result mixes data from VMAs that never coexisted${fallbackNote(call)}`,
          witnesses: [ctx.witness(e.seq, e.tid, `copy of ${e.len} bytes at 0x${e.addr.toString(16)} after the VMAs changed`)],
        });
      }
      call.copies++;
      call.changes = 0;
    },
  });
}
