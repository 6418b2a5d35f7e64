/**
 * The one loop over a run's events: read in blocks from the store and hand each event to the
 * reducers through one Dispatch (decoded once from the block's columns, in an object reused per kind).
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { Dispatch } from './dispatch.js';
import type { ColumnReducer, Reducer } from './reducer.js';

/** A run's interned names (what its events' name fields index) and its task names by tid. */
export interface RunNames {
  names: readonly string[];
  taskNames: ReadonlyMap<number, string>;
}

export function runNames(trace: Trace, run: number): RunNames {
  return { names: trace.names(run), taskNames: new Map(trace.tasks(run).map((t) => [t.tid, t.name])) };
}

/** The events of tid 0 are the simulator's own (a timer firing, the idle step, the event limit). */
export const SIM_TASK = 'sim';

/** A task's name in a run: `sim` for tid 0, `tidN` for a tid the run never named. */
export function taskName(names: RunNames, tid: number): string {
  return names.taskNames.get(tid) ?? (tid === 0 ? SIM_TASK : `tid${tid}`);
}

/**
 * Feed every event of `run` (or of seqs [from, to]) to `reducers`, in order. `onChunk` is told the
 * events read so far after each chunk (progress).
 */
export function readRun(
  trace: Trace, run: RunInfo, reducers: readonly (Reducer | ColumnReducer)[],
  opts: { from?: number; to?: number; onChunk?: (eventsRead: number) => void } = {},
): void {
  const dispatch = new Dispatch(reducers, trace.names(run.id));
  let read = 0;
  for (const b of trace.eventBlocks(run.id, opts.from, opts.to)) {
    for (let i = 0; i < b.count; i++) dispatch.at(b, i);
    read += b.count;
    opts.onChunk?.(read);
  }
}
