/**
 * The one loop over a run's events: read in chunks from the store, decode each row once (into an
 * event object reused per kind), and hand it to every reducer in order.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { Decoder, KINDS, type RawRow } from '../trace/vocab/index.js';
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
  const decoder = new Decoder(trace.names(run.id));
  const byKind = reducersByKind(reducers);
  let read = 0;
  for (const chunk of trace.eventChunks(run.id, opts.from, opts.to) as Iterable<RawRow[]>) {
    for (let i = 0; i < chunk.length; i++) {
      const row = chunk[i]!;
      const e = decoder.view(row);
      const code = row[3];
      const targets = byKind[code] ?? reducers;
      for (let j = 0; j < targets.length; j++) targets[j]!.event(e, code);
    }
    read += chunk.length;
    opts.onChunk?.(read);
  }
}

/**
 * The reducers each kind goes to, by kind code, in the order given (a reducer may rely on one
 * before it, as the diff's facts rely on the VMA map). A kind this build does not know goes to all.
 */
function reducersByKind(reducers: readonly Reducer[]): Reducer[][] {
  const table: Reducer[][] = [];
  for (const def of KINDS) table[def.kind] = reducers.filter((r) => r.kinds === undefined || r.kinds.includes(def.name));
  return table;
}
