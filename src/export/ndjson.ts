/**
 * NDJSON: one JSON object per event, `{seq, tick, tid, task, kind, ...fields}`, fields by name and
 * coded values by their names (as the vocabulary decodes them). Bytes (a copy's data) are hex.
 */
import { runNames, taskName } from '../reduce/read-run.js';
import type { RunInfo, Trace } from '../trace/reader.js';
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Exporter } from './exporter.js';
import type { Out } from './out.js';

/** The event's own fields, byte arrays as hex text (JSON would spell a Buffer out byte by byte). */
function fieldsOf(e: TraceEvent): Record<string, unknown> {
  const { seq: _seq, tick: _tick, tid: _tid, kind: _kind, ...fields } = e as TraceEvent & Record<string, unknown>;
  for (const [k, v] of Object.entries(fields)) if (v instanceof Uint8Array) fields[k] = Buffer.from(v).toString('hex');
  return fields;
}

export function ndjsonExport(trace: Trace, run: RunInfo, out: Out): Exporter {
  const names = runNames(trace, run.id);
  const lines = {
    event(e: TraceEvent) {
      const head = { seq: e.seq, tick: e.tick, tid: e.tid, task: taskName(names, e.tid), kind: e.kind };
      out.write(`${JSON.stringify({ ...head, ...fieldsOf(e) })}\n`);
    },
  };
  return { reducers: [lines], finish() {} };
}
