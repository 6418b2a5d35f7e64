/**
 * The read side of a trace file: one read-only connection and a typed method per question a reader
 * asks (kysely queries, run synchronously). The events of a run come through one raw prepared
 * statement, in chunks: that is the hot path of every consumer.
 *
 * Rows come back as stored; what they mean (a run's effective status, the decoded events) is the
 * trace layer's business.
 */
import type Database from 'better-sqlite3';
import { errors, MmtraceError } from '../errors.js';
import { all, first, newestRunSchema, openForRead, qb, readError, type Db } from './db.js';
import { layoutOfRow, slotOf, type KindLayout } from './layout.js';
import type { KindsTable, RunsTable } from './schema.js';
import type { Selectable } from 'kysely';

/** One event as stored: [seq, tick, tid, kind, a, b, c, d, data]. */
export type EventRow = [
  seq: number, tick: number, tid: number, kind: number,
  a: number, b: number, c: number, d: number, data: Buffer | null,
];

export type RunRow = Selectable<RunsTable>;

/** What the committed batches of a run add up to. */
export interface CommittedTotals {
  events: number;
  /** the chain value after the last committed batch (undefined: no batch committed) */
  lastHash: number | undefined;
}

/**
 * Which events to find. Kinds and fields are named as the file's own kinds table names them; a field
 * is compared with its stored value (an interned name by its id).
 */
export interface EventFilter {
  /** kind names; any kind when absent */
  kinds?: readonly string[];
  /** task ids; any task when absent */
  tids?: readonly number[];
  /** field name -> stored value; needs exactly one kind in `kinds` */
  fields?: Readonly<Record<string, number>>;
  /**
   * At least one of these holds: the named field of an event of that kind lies in [lo, hi] (how
   * the browser filters by address: every address field of every kind that has one).
   */
  anyField?: readonly { kind: string; field: string; lo: number; hi: number }[];
  /** The seq lies in one of these inclusive ranges (how the browser filters by request). */
  seqRanges?: readonly (readonly [number, number])[];
}

/** Which way a search goes from its starting event. */
export type Direction = 'forward' | 'backward';

/** What a query returned: column names, and one array of values per row. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
}

export class TraceFile {
  private readonly eventsStmt: Database.Statement;
  private layoutCache: KindLayout[] | undefined;

  private constructor(readonly file: string, private readonly db: Db) {
    this.eventsStmt = db.prepare(
      'SELECT seq, tick, tid, kind, a, b, c, d, data FROM events WHERE run = ? AND seq >= ? AND seq <= ? ORDER BY seq',
    ).raw(true);
  }

  /** Open read-only. Throws ENOENT_TRACE, ENOTSQLITE, ENOTTRACE, ESCHEMA_NEWER. */
  /** `eventSchema`: the newest run event schema the reader knows; a file with a newer run is refused unchanged. */
  static async open(file: string, eventSchema?: number): Promise<TraceFile> {
    const db = await openForRead(file, { eventSchema });
    try {
      return new TraceFile(file, db);
    } catch (e) {
      db.close();
      throw e instanceof MmtraceError ? e : readError(file, e);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Every run header, in id order. */
  runs(): RunRow[] {
    return this.q(() => all(this.db, qb.selectFrom('runs').selectAll().orderBy('id')));
  }

  run(id: number): RunRow | undefined {
    return this.q(() => first(this.db, qb.selectFrom('runs').selectAll().where('id', '=', id)));
  }

  /** The run recorded with the newest event schema, if any run is stored. */
  newestSchemaRun(): Pick<RunRow, 'name' | 'schema_version'> | undefined {
    return this.q(() => newestRunSchema(this.db));
  }

  committedTotals(run: number): CommittedTotals {
    const last = this.q(() => first(this.db, qb.selectFrom('batches')
      .select(['hash']).where('run', '=', run).orderBy('last_seq', 'desc').limit(1)));
    const count = this.q(() => first(this.db, qb.selectFrom('batches')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('events'), eb.lit(0)).as('n')).where('run', '=', run)));
    return { events: Number(count?.n ?? 0), lastHash: last?.hash };
  }

  names(run: number): { id: number; text: string }[] {
    return this.q(() => all(this.db, qb.selectFrom('names').select(['id', 'text']).where('run', '=', run).orderBy('id')));
  }

  tasks(run: number): { tid: number; name: string; daemon: number }[] {
    return this.q(() => all(this.db, qb.selectFrom('tasks').select(['tid', 'name', 'daemon']).where('run', '=', run).orderBy('tid')));
  }

  /** Events of a run with from <= seq <= to, in order (the hot path: a raw prepared statement). */
  eventRows(run: number, from: number, to: number): EventRow[] {
    return this.q(() => this.eventsStmt.all(run, from, to) as EventRow[]);
  }

  lastSeq(run: number): number {
    const r = this.q(() => first(this.db, qb.selectFrom('events')
      .select((eb) => eb.fn.max<number | null>('seq').as('m')).where('run', '=', run)));
    return r?.m ?? 0;
  }

  batches(run: number): { last_seq: number; events: number; hash: number }[] {
    return this.q(() => all(this.db, qb.selectFrom('batches')
      .select(['last_seq', 'events', 'hash']).where('run', '=', run).orderBy('last_seq')));
  }

  /** The scheduler decisions blob of each batch, in order. */
  decisionBlobs(run: number): Uint8Array[] {
    return this.q(() => all(this.db, qb.selectFrom('batches')
      .select(['decisions']).where('run', '=', run).orderBy('last_seq'))).map((r) => r.decisions);
  }

  snapshotAtOrBefore(run: number, seq: number): { seq: number; data: Buffer } | undefined {
    return this.q(() => first(this.db, qb.selectFrom('snapshots').select(['seq', 'data'])
      .where('run', '=', run).where('seq', '<=', seq).orderBy('seq', 'desc').limit(1)));
  }

  snapshotCount(run: number): number {
    const row = this.q(() => first(this.db, qb.selectFrom('snapshots')
      .select((eb) => eb.fn.countAll<number>().as('n')).where('run', '=', run)));
    return Number(row?.n ?? 0);
  }

  /** Bytes of snapshot data stored for a run. */
  snapshotBytes(run: number): number {
    const row = this.q(() => first(this.db, qb.selectFrom('snapshots')
      .select((eb) => eb.fn.sum<number | null>(eb.fn('length', ['data'])).as('n')).where('run', '=', run)));
    return Number(row?.n ?? 0);
  }

  /** The request log's pieces of `run` up to event `seq`, in order (one per snapshot). */
  requestSegments(run: number, seq: number): { seq: number; data: Uint8Array }[] {
    return this.q(() => all(this.db, qb.selectFrom('request_log').select(['seq', 'data'])
      .where('run', '=', run).where('seq', '<=', seq).orderBy('seq')));
  }

  requests(run: number): { first_seq: number; last_seq: number | null }[] {
    return this.q(() => all(this.db, qb.selectFrom('requests')
      .select(['first_seq', 'last_seq']).where('run', '=', run).orderBy('first_seq')));
  }

  /** The event layout the file declares (its kinds table), by kind number. */
  layout(): readonly KindLayout[] {
    this.layoutCache ??= this.q(() => all(this.db, qb.selectFrom('kinds').selectAll().orderBy('kind')))
      .map((r: KindsTable) => layoutOfRow(r));
    return this.layoutCache;
  }

  /**
   * The seq of the n-th event (from 1) of `run` that matches every condition of `filter`, or
   * undefined. Kind and field names resolve through the file's own layout.
   */
  nthEvent(run: number, filter: EventFilter, n = 1): number | undefined {
    const q = this.matching(run, filter).select('seq');
    const row = this.q(() => first(this.db, q.orderBy('seq').limit(1).offset(n - 1)));
    return row?.seq;
  }

  /**
   * Up to `limit` events matching `filter`, from `fromSeq` (inclusive) on, forward or backward, in
   * the order they were met: how the browser pages a filtered list and finds the next match.
   */
  matchingRows(run: number, filter: EventFilter, fromSeq: number, limit: number, direction: Direction): EventRow[] {
    const forward = direction === 'forward';
    const q = this.matching(run, filter)
      .select(['seq', 'tick', 'tid', 'kind', 'a', 'b', 'c', 'd', 'data'])
      .where('seq', forward ? '>=' : '<=', fromSeq)
      .orderBy('seq', forward ? 'asc' : 'desc').limit(limit);
    const c = q.compile();
    return this.q(() => this.db.prepare(c.sql).raw(true).all(...(c.parameters as unknown[])) as EventRow[]);
  }

  /** The events of `run` that match every condition of `filter`, as a query to select from. */
  private matching(run: number, filter: EventFilter) {
    const kinds = (filter.kinds ?? []).map((name) => this.kindNamed(name));
    let q = qb.selectFrom('events').where('run', '=', run);
    if (filter.kinds) q = q.where('kind', 'in', kinds.length ? kinds.map((k) => k.kind) : [-1]);
    if (filter.tids) q = q.where('tid', 'in', filter.tids.length ? [...filter.tids] : [-1]);
    const fields = Object.entries(filter.fields ?? {});
    if (fields.length > 0 && kinds.length !== 1) throw new Error('nthEvent: field conditions need exactly one kind');
    for (const [field, value] of fields) q = q.where(this.slotNamed(kinds[0]!, field), '=', value);
    const anyField = filter.anyField;
    if (anyField) {
      q = q.where((eb) => eb.or(anyField.map((f) => {
        const k = this.kindNamed(f.kind);
        return eb.and([eb('kind', '=', k.kind), eb(this.slotNamed(k, f.field), '>=', f.lo), eb(this.slotNamed(k, f.field), '<=', f.hi)]);
      })));
    }
    const ranges = filter.seqRanges;
    if (ranges) q = q.where((eb) => eb.or(ranges.map(([lo, hi]) => eb.and([eb('seq', '>=', lo), eb('seq', '<=', hi)]))));
    return q;
  }

  private slotNamed(k: KindLayout, field: string) {
    const slot = slotOf(k, field);
    if (!slot) throw new Error(`nthEvent: kind ${k.name} has no field '${field}'`);
    return slot;
  }

  /**
   * One SQL statement of the user's, on this read-only connection: its column names and rows.
   * A statement that would write is refused before it runs (ESQL_WRITE), a bad one is ESQL.
   */
  query(sql: string): QueryResult {
    let stmt: Database.Statement;
    try {
      stmt = this.db.prepare(sql);
    } catch (e) {
      throw errors.badSql(this.file, (e as Error).message, e);
    }
    if (!stmt.readonly) throw errors.sqlWrites(this.file);
    if (!stmt.reader) return { columns: [], rows: [] };
    try {
      return { columns: stmt.columns().map((c) => c.name), rows: stmt.raw(true).all() as unknown[][] };
    } catch (e) {
      throw errors.badSql(this.file, (e as Error).message, e);
    }
  }

  private kindNamed(name: string): KindLayout {
    const k = this.layout().find((x) => x.name === name);
    if (!k) throw new Error(`nthEvent: the file declares no kind '${name}'`);
    return k;
  }

  /** Run a query, turning a SQLite error into the file's MmtraceError. */
  private q<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw readError(this.file, e);
    }
  }
}
