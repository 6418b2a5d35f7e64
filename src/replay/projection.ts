/**
 * Projection: the state at an event from the log alone -- the nearest snapshot at or before it,
 * then the events after the snapshot folded in. No kernel code runs.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { decodeModel, emptyModel, fold, type Model, type RunContext } from './model.js';

export function runContext(trace: Trace, run: number): RunContext {
  return { names: trace.names(run), taskNames: new Map(trace.tasks(run).map((t) => [t.tid, t.name])) };
}

export interface Projection {
  model: Model;
  /** The event the snapshot it started from was taken at (0: from the beginning). */
  fromSnapshot: number;
  folded: number;
}

export function project(trace: Trace, run: RunInfo, seq: number, opts: { useSnapshots?: boolean } = {}): Projection {
  const ctx = runContext(trace, run.id);
  const snap = opts.useSnapshots === false ? undefined : trace.snapshotAtOrBefore(run.id, seq);
  const model = snap ? decodeModel(snap.data) : emptyModel();
  const from = model.seq;
  for (const chunk of trace.eventChunks(run.id, from + 1, seq)) {
    for (const [s, tick, tid, kind, a, b, c, d, data] of chunk) fold(model, ctx, s, tick, tid, kind, a, b, c, d, data);
  }
  return { model, fromSnapshot: snap ? snap.seq : 0, folded: model.seq - from };
}
