/**
 * The read side of a trace file: one read-only connection and a typed method per question a reader
 * asks (kysely queries, run synchronously). The events of a run come as EventBlocks, columnar typed
 * arrays decoded in JS from its chunks (src/store/chunk.ts; a run of the row format is read through
 * one raw prepared statement): that is the hot path of every consumer.
 *
 * Rows come back as stored; what they mean (a run's effective status, the decoded events) is the
 * trace layer's business.
 */
import type Database from 'better-sqlite3';
import { errors, MmtraceError } from '../errors.js';
import { all, first, newestRunSchema, openForRead, qb, readError, type Db } from './db.js';
import { CHUNK_EVENTS, decodeChunk, decodeChunkTids, MAX_CHUNK_EVENTS, FORMAT_CHUNKS, makeBlock, blockHoldsRaw, rowOfBlock, slotAt, type EventBlock, type StoredChunk, type StoredKindFrame } from './chunk.js';
import { layoutOfRow, slotOf, type KindLayout } from './layout.js';
import type { KindsTable, RunsTable } from './schema.js';
import type { Selectable } from 'kysely';

/** One event as stored: [seq, tick, tid, kind, a, b, c, d, data]. */
export type EventRow = [
  seq: number, tick: number, tid: number, kind: number,
  a: number, b: number, c: number, d: number, data: Uint8Array | null,
];

export type RunRow = Selectable<RunsTable>;
export type { EventBlock };
export { blockHoldsRaw, makeBlock, rowOfBlock, slotAt };

/** Where framesStmt puts a frame's first_seq, after the columns decodeChunk reads. */
const FRAME_FIRST_SEQ = 9;

/** Chunks fetched per query while reading a run (the connection is free between fetches). */
const CHUNKS_PER_FETCH = 16;

/** The seqs a filter's seq ranges span (the whole run when it has none). */
function seqSpan(filter: EventFilter): { lo: number; hi: number } {
  const ranges = filter.seqRanges;
  if (!ranges || ranges.length === 0) return { lo: 1, hi: Number.MAX_SAFE_INTEGER };
  return { lo: Math.min(...ranges.map((r) => r[0])), hi: Math.max(...ranges.map((r) => r[1])) };
}

/** A blob of `event_data` as the reader fetches it: [seq, data]. */
type BlobRow = [seq: number, data: Buffer];

/** The index of the first of `rows` (in seq order) at or after `seq`: a binary search. */
function firstBlobAtOrAfter(rows: readonly BlobRow[], seq: number): number {
  let lo = 0, hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]![0] < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A block holding `rows` (the row format's events, in seq order, dense). */
function blockOfRows(rows: readonly EventRow[]): EventBlock {
  const out = makeBlock(rows.length);
  out.firstSeq = rows[0]![0];
  out.count = rows.length;
  rows.forEach((r, i) => {
    out.tick[i] = r[1]; out.tid[i] = r[2]; out.kind[i] = r[3];
    out.a[i] = r[4]; out.b[i] = r[5]; out.c[i] = r[6]; out.d[i] = r[7];
    if (r[8] !== null) out.data.set(i, r[8]);
  });
  return out;
}

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
  private readonly rowsStmt: Database.Statement;
  private readonly chunksStmt: Database.Statement;
  private readonly chunksBackStmt: Database.Statement;
  private readonly framesStmt: Database.Statement;
  private readonly tidsStmt: Database.Statement;
  private readonly dataStmt: Database.Statement;
  private readonly nextChunkStmt: Database.Statement;
  private readonly formats = new Map<number, number>();
  private layoutCache: KindLayout[] | undefined;

  private constructor(readonly file: string, private readonly db: Db) {
    this.rowsStmt = db.prepare(
      'SELECT seq, tick, tid, kind, a, b, c, d, data FROM event_rows WHERE run = ? AND seq >= ? AND seq <= ? ORDER BY seq',
    ).raw(true);
    const chunkColumns = 'first_seq, count, blobs, tick_base, tick_w, tid_base, tid_w, off_w, ticks, tids, kinds, offs, recs';
    this.chunksStmt = db.prepare(`SELECT ${chunkColumns} FROM chunks
      WHERE run = ? AND first_seq >= ? AND first_seq <= ? ORDER BY first_seq LIMIT ${CHUNKS_PER_FETCH}`);
    this.chunksBackStmt = db.prepare(`SELECT ${chunkColumns} FROM chunks
      WHERE run = ? AND first_seq >= ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT ${CHUNKS_PER_FETCH}`);
    this.tidsStmt = db.prepare(`SELECT first_seq, count, tid_base, tid_w, tids FROM chunks
      WHERE run = ? AND first_seq >= ? ORDER BY first_seq LIMIT ${CHUNKS_PER_FETCH}`);
    this.framesStmt = db.prepare(`SELECT kind, a_base, a_w, b_base, b_w, c_base, c_w, d_base, d_w, first_seq FROM chunk_kinds
      WHERE run = ? AND first_seq >= ? AND first_seq <= ?`).raw(true);
    this.dataStmt = db.prepare('SELECT seq, data FROM event_data WHERE run = ? AND seq >= ? AND seq <= ? ORDER BY seq').raw(true);
    this.nextChunkStmt = db.prepare('SELECT first_seq FROM chunks WHERE run = ? AND first_seq > ? ORDER BY first_seq LIMIT 1').pluck();
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

  /** Events of a run with from <= seq <= to, in order, as rows (for a few events; blocks for many). */
  eventRows(run: number, from: number, to: number): EventRow[] {
    const out: EventRow[] = [];
    for (const b of this.eventBlocks(run, from, to)) for (let i = 0; i < b.count; i++) out.push(rowOfBlock(b, i));
    return out;
  }

  /**
   * The events of a run with from <= seq <= to, in seq order (or newest first when `backward`), as
   * blocks of at most CHUNK_EVENTS events: one per chunk, cut to the range. Memory stays flat: a
   * few chunks are fetched at a time, and the connection is free between fetches.
   *
   * The generator decodes every chunk into one block of its own, so a block is valid until the next
   * one is asked for (as a Decoder's view is until the next event of its kind): a reader that keeps
   * events copies them out (rowOfBlock). A fresh block per chunk (200 KB of typed arrays) made a
   * garbage collection every few chunks.
   */
  *eventBlocks(run: number, from: number, to: number, backward = false): Generator<EventBlock, void, undefined> {
    if (from > to) return;
    if (this.formatOf(run) !== FORMAT_CHUNKS) {
      yield* this.rowBlocks(run, from, to, backward);
      return;
    }
    const block = makeBlock(MAX_CHUNK_EVENTS);
    let lo = Math.max(0, from - MAX_CHUNK_EVENTS + 1), hi = to;
    for (;;) {
      const chunks = this.q(() => (backward ? this.chunksBackStmt : this.chunksStmt).all(run, lo, hi) as StoredChunk[]);
      if (chunks.length === 0) return;
      const frames = this.framesOf(run, chunks);
      const blobs = this.blobsOf(run, chunks, from, to);
      for (const c of chunks) {
        if (this.decodeRange(c, frames.get(c.first_seq) ?? [], blobs, from, to, block)) yield block;
      }
      if (chunks.length < CHUNKS_PER_FETCH) return;
      if (backward) hi = chunks[chunks.length - 1]!.first_seq - 1;
      else lo = chunks[chunks.length - 1]!.first_seq + 1;
    }
  }

  /**
   * The tids of every event of a run stored in chunks, a chunk at a time (in seq order, `count` of
   * them at the start of `tid`, valid until the next): the tids column alone, without the events'
   * fields, frames or blobs (a re-execution's scheduler decisions need nothing else).
   */
  *chunkTids(run: number): Generator<{ count: number; tid: Float64Array }, void, undefined> {
    const out = { count: 0, tid: new Float64Array(MAX_CHUNK_EVENTS) };
    type TidsRow = Pick<StoredChunk, 'first_seq' | 'count' | 'tid_base' | 'tid_w' | 'tids'>;
    for (let lo = 0; ;) {
      const chunks = this.q(() => this.tidsStmt.all(run, lo) as TidsRow[]);
      for (const c of chunks) {
        decodeChunkTids(c, out.tid);
        out.count = c.count;
        yield out;
      }
      if (chunks.length < CHUNKS_PER_FETCH) return;
      lo = chunks[chunks.length - 1]!.first_seq + 1;
    }
  }

  /** The kind frames of `chunks`, by first seq: one query for all of them. */
  private framesOf(run: number, chunks: readonly StoredChunk[]): Map<number, StoredKindFrame[]> {
    const seqs = chunks.map((c) => c.first_seq);
    const rows = this.q(() => this.framesStmt.all(run, Math.min(...seqs), Math.max(...seqs)) as StoredKindFrame[]);
    const out = new Map<number, StoredKindFrame[]>();
    for (const r of rows) {
      const firstSeq = r[FRAME_FIRST_SEQ]!;
      let list = out.get(firstSeq);
      if (!list) out.set(firstSeq, (list = []));
      list.push(r);
    }
    return out;
  }

  /**
   * The blobs of the events of `chunks` within [from, to], as [seq, blob] in seq order (none queried
   * when no chunk has one).
   */
  private blobsOf(run: number, chunks: readonly StoredChunk[], from: number, to: number): BlobRow[] {
    if (!chunks.some((c) => c.blobs > 0)) return [];
    const lo = Math.max(from, Math.min(...chunks.map((c) => c.first_seq)));
    const hi = Math.min(to, Math.max(...chunks.map((c) => c.first_seq + c.count - 1)));
    return this.q(() => this.dataStmt.all(run, lo, hi) as BlobRow[]);
  }

  /**
   * Decode the events of chunk `c` within [from, to] into `block`, with their blobs (the `blobs` of
   * its fetch, in seq order). False when none is in range.
   */
  private decodeRange(c: StoredChunk, frames: readonly StoredKindFrame[], blobs: readonly BlobRow[],
    from: number, to: number, block: EventBlock): boolean {
    const first = Math.max(from, c.first_seq), last = Math.min(to, c.first_seq + c.count - 1);
    if (first > last) return false;
    block.firstSeq = first;
    block.count = decodeChunk(c, frames, first - c.first_seq, last - c.first_seq, block, 0);
    block.data.clear();
    if (c.blobs > 0) {
      for (let i = firstBlobAtOrAfter(blobs, first); i < blobs.length && blobs[i]![0] <= last; i++) {
        block.data.set(blobs[i]![0] - first, blobs[i]![1]);
      }
    }
    return true;
  }

  /** The events of a run of the row format, in blocks of CHUNK_EVENTS rows. */
  private *rowBlocks(run: number, from: number, to: number, backward: boolean): Generator<EventBlock, void, undefined> {
    const last = Math.min(to, this.lastSeq(run));
    const starts: number[] = [];
    for (let s = from; s <= last; s += CHUNK_EVENTS) starts.push(s);
    if (backward) starts.reverse();
    for (const s of starts) {
      const rows = this.q(() => this.rowsStmt.all(run, s, Math.min(last, s + CHUNK_EVENTS - 1)) as EventRow[]);
      if (rows.length) yield blockOfRows(rows);
    }
  }

  /** How a run's events are stored (runs.format): FORMAT_ROWS or FORMAT_CHUNKS. */
  formatOf(run: number): number {
    let f = this.formats.get(run);
    if (f === undefined) {
      f = this.q(() => first(this.db, qb.selectFrom('runs').select('format').where('id', '=', run)))?.format ?? FORMAT_CHUNKS;
      this.formats.set(run, f);
    }
    return f;
  }

  lastSeq(run: number): number {
    if (this.formatOf(run) === FORMAT_CHUNKS) {
      const r = this.q(() => first(this.db, qb.selectFrom('chunks').select(['first_seq', 'count'])
        .where('run', '=', run).orderBy('first_seq', 'desc').limit(1)));
      return r ? r.first_seq + r.count - 1 : 0;
    }
    const r = this.q(() => first(this.db, qb.selectFrom('event_rows')
      .select((eb) => eb.fn.max<number | null>('seq').as('m')).where('run', '=', run)));
    return r?.m ?? 0;
  }

  batches(run: number): { last_seq: number; events: number; hash: number }[] {
    return this.q(() => all(this.db, qb.selectFrom('batches')
      .select(['last_seq', 'events', 'hash']).where('run', '=', run).orderBy('last_seq')));
  }

  /** The scheduler decisions blob of each batch, in order (empty for a run stored in chunks: its tids are its decisions). */
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

  requestCount(run: number): number {
    const row = this.q(() => first(this.db, qb.selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n')).where('run', '=', run)));
    return Number(row?.n ?? 0);
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
    if (this.formatOf(run) === FORMAT_CHUNKS) {
      const match = this.predicate(filter);
      let seen = 0;
      const span = seqSpan(filter);
      for (const b of this.candidateBlocks(run, filter, span.lo, span.hi, false)) {
        for (let i = 0; i < b.count; i++) if (match(b, i) && ++seen === n) return b.firstSeq + i;
      }
      return undefined;
    }
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
    if (this.formatOf(run) === FORMAT_CHUNKS) return this.matchingInBlocks(run, filter, fromSeq, limit, forward);
    const q = this.matching(run, filter)
      .select(['seq', 'tick', 'tid', 'kind', 'a', 'b', 'c', 'd', 'data'])
      .where('seq', forward ? '>=' : '<=', fromSeq)
      .orderBy('seq', forward ? 'asc' : 'desc').limit(limit);
    const c = q.compile();
    return this.q(() => this.db.prepare(c.sql).raw(true).all(...(c.parameters as unknown[])) as EventRow[]);
  }

  private matchingInBlocks(run: number, filter: EventFilter, fromSeq: number, limit: number, forward: boolean): EventRow[] {
    const match = this.predicate(filter);
    const out: EventRow[] = [];
    if (limit <= 0) return out;
    // no match lies outside the filter's seq ranges: the scan stops at their ends, not the run's
    const span = seqSpan(filter);
    const blocks = forward
      ? this.candidateBlocks(run, filter, Math.max(fromSeq, span.lo), span.hi, false)
      : this.candidateBlocks(run, filter, span.lo, Math.min(fromSeq, span.hi), true);
    for (const b of blocks) {
      for (let k = 0; k < b.count; k++) {
        const i = forward ? k : b.count - 1 - k;
        if (!match(b, i)) continue;
        out.push(rowOfBlock(b, i));
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /**
   * The blocks of [from, to] that can hold an event of the filter's kinds: a chunk none of whose
   * events is of those kinds (chunk_kinds lists each chunk's kinds) is not read, so looking for a
   * rare kind (a warning, a request boundary) reads the few chunks that have one, not the run.
   */
  private *candidateBlocks(run: number, filter: EventFilter, from: number, to: number, backward: boolean): Generator<EventBlock, void, undefined> {
    const kinds = this.kindsOf(filter);
    if (kinds === undefined || this.formatOf(run) !== FORMAT_CHUNKS) {
      yield* this.eventBlocks(run, from, to, backward);
      return;
    }
    let lo = Math.max(0, from - MAX_CHUNK_EVENTS + 1), hi = to;
    const where = `run = ? AND kind IN (${kinds.map(() => '?').join(',')}) AND first_seq >= ? AND first_seq <= ?`;
    const stmt = this.db.prepare(`SELECT DISTINCT first_seq FROM chunk_kinds WHERE ${where}
      ORDER BY first_seq ${backward ? 'DESC' : ''} LIMIT ${CHUNKS_PER_FETCH}`).pluck();
    for (;;) {
      const firsts = this.q(() => stmt.all(run, ...kinds, lo, hi) as number[]);
      for (const first of firsts) {
        // one chunk: the next one starts after `to` or after this one's last event
        const next = this.q(() => this.nextChunkStmt.get(run, first) as number | undefined) ?? Number.MAX_SAFE_INTEGER;
        yield* this.eventBlocks(run, Math.max(from, first), Math.min(to, next - 1), backward);
      }
      if (firsts.length < CHUNKS_PER_FETCH) return;
      if (backward) hi = firsts[firsts.length - 1]! - 1;
      else lo = firsts[firsts.length - 1]! + 1;
    }
  }

  /** The kind numbers an event must have to match, or undefined when any kind may. */
  private kindsOf(filter: EventFilter): number[] | undefined {
    const names = filter.kinds ?? (filter.anyField ? filter.anyField.map((f) => f.kind) : undefined);
    if (names === undefined) return undefined;
    const kinds = [...new Set(names.map((name) => this.kindNamed(name).kind))];
    return kinds.length > 0 ? kinds : [-1];
  }

  /** `filter` as a test of event i of a block (the same conditions `matching` puts in SQL). */
  private predicate(filter: EventFilter): (b: EventBlock, i: number) => boolean {
    const kinds = filter.kinds ? new Set(filter.kinds.map((name) => this.kindNamed(name).kind)) : undefined;
    const tids = filter.tids ? new Set(filter.tids) : undefined;
    const fields = Object.entries(filter.fields ?? {});
    if (fields.length > 0 && kinds?.size !== 1) throw new Error('nthEvent: field conditions need exactly one kind');
    const byKind = filter.kinds?.length === 1 ? this.kindNamed(filter.kinds[0]!) : undefined;
    const equal = fields.map(([field, value]) => ({ slot: this.slotNamed(byKind!, field), value }));
    const ranges = filter.anyField?.map((f) => {
      const k = this.kindNamed(f.kind);
      return { kind: k.kind, slot: this.slotNamed(k, f.field), lo: f.lo, hi: f.hi };
    });
    const seqRanges = filter.seqRanges;
    return (b, i) => {
      if (kinds && !kinds.has(b.kind[i]!)) return false;
      if (tids && !tids.has(b.tid[i]!)) return false;
      for (const f of equal) if (b[f.slot][i] !== f.value) return false;
      if (ranges && !ranges.some((r) => b.kind[i] === r.kind && b[r.slot][i]! >= r.lo && b[r.slot][i]! <= r.hi)) return false;
      const seq = b.firstSeq + i;
      if (seqRanges && !seqRanges.some(([lo, hi]) => seq >= lo && seq <= hi)) return false;
      return true;
    };
  }

  /** The events of `run` that match every condition of `filter`, as a query to select from. */
  private matching(run: number, filter: EventFilter) {
    const kinds = (filter.kinds ?? []).map((name) => this.kindNamed(name));
    let q = qb.selectFrom('event_rows').where('run', '=', run);
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
      // `events` is a view: SQLite refuses a write to it while preparing, before readonly is known
      if (/cannot modify \S+ because it is a view/.test((e as Error).message)) throw errors.sqlWrites(this.file);
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
