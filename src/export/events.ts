/**
 * A run's events in order, a batch at a time, for exporters: each batch is handed over decoded
 * (reused objects, as readRun's reducers get them) and the caller may await between batches, which
 * is where an exporter lets its output drain.
 */
import { readRun } from '../reduce/read-run.js';
import type { ColumnReducer, Reducer } from '../reduce/reducer.js';
import type { RunInfo, Trace } from '../trace/reader.js';

/** Events per batch: one readRun() call each. */
const BATCH_EVENTS = 16384;

/** Feed every event of `run` to `reducers`, awaiting `between(eventsDone)` after each batch. */
export async function feedRun(
  trace: Trace, run: RunInfo, reducers: readonly (Reducer | ColumnReducer)[], between: (eventsDone: number) => Promise<void>,
): Promise<void> {
  for (let from = 1; from <= run.events; from += BATCH_EVENTS) {
    const to = Math.min(run.events, from + BATCH_EVENTS - 1);
    readRun(trace, run, reducers, { from, to });
    await between(to);
  }
}
