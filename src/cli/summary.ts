/** Aggregates of a recorded run, read back from its trace file. */
import { aggregate, type Row, type RunAggregates } from '../trace/aggregate.js';
import type { Trace } from '../trace/reader.js';
import { runContext } from '../replay/projection.js';

export function aggregateRun(trace: Trace, run: number): RunAggregates {
  const { names, taskNames: tasks } = runContext(trace, run);
  const kinds = new Map(trace.kinds().map((k) => [k.kind, k.name]));
  const rows = trace.events(run) as Iterable<Row>;
  return aggregate(rows, names, tasks, (k) => kinds.get(k) ?? `kind${k}`);
}

/** Bytes as a C string list: NULs shown as spaces, the rest escaped. */
export function printable(data: Uint8Array): string {
  let s = '';
  for (const b of data) s += b === 0 ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return s.trimEnd();
}
