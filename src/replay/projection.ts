/**
 * Projection: the state at an event from the log alone -- the nearest snapshot at or before it,
 * then the events after the snapshot decoded and folded in. No kernel code runs.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { Decoder } from '../trace/vocab/index.js';
import { fold } from './fold.js';
import { emptyModel, type Model, type RunContext } from './model-types.js';
import { decodeModel, isRefusal } from './snapshot.js';

/** A run's interned names (what its events' name fields index) and its task names. */
export function runContext(trace: Trace, run: number): RunContext & { names: readonly string[] } {
  return { names: trace.names(run), taskNames: new Map(trace.tasks(run).map((t) => [t.tid, t.name])) };
}

export interface Projection {
  model: Model;
  /** The event the snapshot it started from was taken at (0: from the beginning). */
  fromSnapshot: number;
  folded: number;
  /** Why the nearest snapshot was not used (folded from the first event instead), or null. */
  snapshotIgnored: string | null;
}

export function project(trace: Trace, run: RunInfo, seq: number, opts: { useSnapshots?: boolean } = {}): Projection {
  const ctx = runContext(trace, run.id);
  const decoder = new Decoder(ctx.names);
  const snap = opts.useSnapshots === false ? undefined : trace.snapshotAtOrBefore(run.id, seq);
  const stored = snap ? decodeModel(snap.data, (at) => trace.requestLog(run.id, at)) : undefined;
  const start = stored && !isRefusal(stored) ? stored : undefined;
  const model = start ?? emptyModel();
  const from = model.seq;
  advance(trace, run, model, seq, ctx, decoder);
  return {
    model,
    fromSnapshot: start ? snap!.seq : 0,
    folded: model.seq - from,
    snapshotIgnored: stored && isRefusal(stored) ? `snapshot at event ${snap!.seq} not used: ${stored.reason}` : null,
  };
}

/**
 * Fold the events after the model's own up to `seq` into it: how a reader that moves forward (the
 * browser's cursor) keeps one model instead of projecting again.
 */
export function advance(
  trace: Trace, run: RunInfo, model: Model, seq: number,
  ctx: RunContext = runContext(trace, run.id), decoder = new Decoder(trace.names(run.id)),
): void {
  for (const b of trace.eventBlocks(run.id, model.seq + 1, seq)) {
    // viewAt(): one reused object per kind, read from the block's columns; the folds copy what
    // they keep (bytes into folio data).
    for (let i = 0; i < b.count; i++) fold(model, ctx, decoder.viewAt(b, i), b.kind[i]!);
  }
}
