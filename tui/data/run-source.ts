/**
 * One run as the browser reads it: events paged from SQLite by seq (never the whole run), decoded
 * through the vocabulary and spelt out as list lines, and the run's count refreshed while it is
 * still being recorded (--follow).
 */
import { errors, isMmtraceError } from '../../src/errors.js';
import { runNames, taskName, type RunNames } from '../../src/reduce/read-run.js';
import type { EventFilter, EventRow, RunInfo, Trace } from '../../src/trace/reader.js';
import { Decoder, formatField, kindByName, type TraceEvent } from '../../src/trace/vocab/index.js';

/** An event as the list shows it. */
export interface EventLine {
  seq: number;
  tick: number;
  tid: number;
  task: string;
  kind: string;
  family: string;
  /** `field=value` pairs, values spelt out (addresses in hex, enums and flags by name). */
  fields: string;
  event: TraceEvent;
}

/** A field value the way a kernel developer reads it. */
function fieldText(type: Parameters<typeof formatField>[0], value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return `[${value.join(',')}]`;
  return formatField(type, value);
}

/** `name=value ...` for a decoded event, in the vocabulary's field order. */
export function fieldsText(e: TraceEvent): string {
  const def = kindByName(e.kind);
  if (!def) return '';
  const record = e as unknown as Record<string, unknown>;
  const parts = def.fields.map((f, i) => `${f}=${fieldText(def.types[i]!, record[f])}`);
  if (def.blobField) parts.push(`${def.blobField.name}=${fieldText('int', record[def.blobField.name])}`);
  return parts.join(' ');
}

export class RunSource {
  decoder: Decoder;
  names: RunNames;
  private info: RunInfo;

  constructor(readonly trace: Trace, run: RunInfo) {
    this.info = run;
    this.names = runNames(trace, run.id);
    this.decoder = new Decoder(this.names.names);
  }

  get run(): RunInfo {
    return this.info;
  }

  /** Committed events. */
  get count(): number {
    return this.info.events;
  }

  /** Read the run's header again (a run still recording grows); true when anything changed. */
  refresh(): boolean {
    const before = this.info;
    this.info = this.runAgain(before);
    if (this.info.events === before.events && this.info.status === before.status) return false;
    // names and tasks are written with the batches that first use them
    this.names = runNames(this.trace, before.id);
    this.decoder = new Decoder(this.names.names);
    return true;
  }

  /** The run's header as the file has it now: gone when it was deleted or replaced meanwhile. */
  private runAgain(before: RunInfo): RunInfo {
    try {
      return this.trace.run(before.id);
    } catch (e) {
      throw isMmtraceError(e, 'EUNKNOWN_RUN') ? errors.runGone(this.trace.file, before.name) : e;
    }
  }

  taskName(tid: number): string {
    return taskName(this.names, tid);
  }

  /** The task ids whose name (or tid) is `name`. */
  tidsNamed(name: string): number[] {
    const out: number[] = [];
    for (const [tid, n] of this.names.taskNames) if (n === name || String(tid) === name) out.push(tid);
    return out;
  }

  line(row: EventRow): EventLine {
    const event = this.decoder.decode(row);
    return {
      seq: row[0], tick: row[1], tid: row[2], task: this.taskName(row[2]), kind: event.kind,
      family: kindByName(event.kind)?.family ?? 'unknown', fields: fieldsText(event), event,
    };
  }

  /** Events [from, to] by seq. */
  rows(from: number, to: number): EventRow[] {
    if (to < from) return [];
    return [...this.trace.events(this.info.id, Math.max(1, from), Math.min(to, this.count))];
  }

  event(seq: number): EventLine | undefined {
    const [row] = this.rows(seq, seq);
    return row && this.line(row);
  }

  /**
   * Up to `limit` events matching `filter` from `from` on (inclusive), in `direction`; without a
   * filter, the events themselves.
   */
  matching(filter: EventFilter | null, from: number, limit: number, direction: 'forward' | 'backward'): EventRow[] {
    if (filter === null) {
      return direction === 'forward' ? this.rows(from, from + limit - 1) : this.rows(from - limit + 1, from).reverse();
    }
    const rows = this.trace.matchingEvents(this.info.id, filter, from, limit, direction);
    return rows.filter((r) => r[0] <= this.count);
  }

  /** The first event at or after (forward) / at or before (backward) `from` that matches. */
  next(filter: EventFilter, from: number, direction: 'forward' | 'backward'): number | undefined {
    return this.matching(filter, from, 1, direction)[0]?.[0];
  }
}
