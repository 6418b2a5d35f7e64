/**
 * The one loop over a run's events: read in chunks from the store and hand each row to the
 * reducers through one Dispatch (decoded once, in an object reused per kind).
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import type { RawRow } from '../trace/vocab/index.js';
import { Dispatch } from './dispatch.js';
import type { Reducer } from './reducer.js';

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
  trace: Trace, run: RunInfo, reducers: readonly Reducer[],
  opts: { from?: number; to?: number; onChunk?: (eventsRead: number) => void } = {},
): void {
  const dispatch = new Dispatch(reducers, trace.names(run.id));
  // One row array refilled for every event: the dispatch decodes it into a reused view at once.
  const row = [0, 0, 0, 0, 0, 0, 0, 0, null] as unknown as RawRow;
  const slots = row as unknown as (number | Buffer | null)[];
  let read = 0;
  for (const b of trace.eventBlocks(run.id, opts.from, opts.to)) {
    for (let i = 0; i < b.count; i++) {
      slots[0] = b.firstSeq + i;
      slots[1] = b.tick[i]!;
      slots[2] = b.tid[i]!;
      slots[3] = b.kind[i]!;
      slots[4] = b.a[i]!;
      slots[5] = b.b[i]!;
      slots[6] = b.c[i]!;
      slots[7] = b.d[i]!;
      slots[8] = b.data.get(i) ?? null;
      dispatch.row(row);
    }
    read += b.count;
    opts.onChunk?.(read);
  }
}
