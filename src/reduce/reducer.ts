/**
 * A reducer folds one concept out of a run's decoded events: where the VMAs are, how long tasks
 * wait, which request each task has in flight. Every consumer (replay's aggregates, the diff, and
 * later the browser and the checkers) plugs the same reducers into one readRun() loop, so they all
 * report the same figures from the same rules.
 *
 * Events come from Decoder.view(): an object reused for every event of its kind, valid until the
 * next event of that kind. A reducer copies what it keeps; it never holds on to the event.
 */
import type { TraceEvent } from '../trace/vocab/index.js';

export interface Reducer {
  event(e: TraceEvent): void;
}
