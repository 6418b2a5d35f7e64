/**
 * Stamped event rows for tests that drive a sink directly: the event is written with the
 * vocabulary's typed emitter, and `stamp` turns what it staged into the row a sink receives, as the
 * simulator does (`stamp(seq, tick, tid, emit.copy({ addr, len, folio, hash }))`).
 */
import type { RecordedDecisions } from '../../src/trace/decisions.js';
import { staged } from '../../src/trace/vocab/index.js';

/** What EventSink.event() takes: seq, tick, tid, kind, the four fields in slot order, the blob. */
export type SinkRow = [number, number, number, number, number, number, number, number, Uint8Array | undefined];

/** The row of the event just staged by an emitter (the emitter's return value is its argument). */
export function stamp(seq: number, tick: number, tid: number, _staged: 0): SinkRow {
  return [seq, tick, tid, staged.kind, staged.a, staged.b, staged.c, staged.d, staged.data];
}

/** Every decision a cursor holds, in order (Trace.decisions() reads them as a replay takes them). */
export function allDecisions(decisions: RecordedDecisions): number[] {
  const out: number[] = [];
  for (let tid = decisions.next(); tid !== undefined; tid = decisions.next()) out.push(tid);
  return out;
}
