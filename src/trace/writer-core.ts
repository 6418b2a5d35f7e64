/**
 * The SQLite side of recording: writes one batch (names, tasks, request pairs, its events as
 * chunks of the compact format (src/store/chunk.ts), their blobs, the batch row) in one transaction:
 * the encoding happens here, in the writer worker, never on the simulation thread. So does the run's
 * hash chain (hash.ts): folding an event into it took 25-40 ns in a microbenchmark, which the
 * simulation thread no longer pays. Used in-process by the synchronous writer and inside the
 * writer worker; it only imports better-sqlite3, the chunk codec and the hash so the worker starts
 * fast.
 *
 * A batch travels as two buffers (shared with the worker, so nothing is copied):
 *  - rows: Float64Array, STRIDE doubles per event, row-major:
 *          seq, tick, tid, kind, a, b, c, d, blobOffset (-1 = no data; Infinity = a blob too
 *          large for the arena, in BatchMeta.big by its row), blobLength
 *  - blob: Uint8Array arena holding the batch's data blobs
 * and a small BatchMeta message.
 */
import type Database from 'better-sqlite3';
import { CHUNK_EVENTS, encodeChunk } from '../store/chunk.js';
import { chain, eventHash, HASH_SEED } from './hash.js';

export const STRIDE = 10;
export const DEFAULT_BATCH = 16384;
export const DEFAULT_BLOB_BYTES = 1 << 20;

/** Indexes into the worker's control Int32Array (see writer-worker.ts). */
export const CTL_PROCESSED = 0;
export const CTL_COMMITTED = 1;
export const CTL_FAILED = 2;
export const CTL_CLOSED = 3;
/** The run's hash chain after its last committed batch (as an int32: read it back with >>> 0). */
export const CTL_HASH = 4;
export const CTL_SIZE = 5;

export interface BatchMeta {
  /** events in the batch */
  count: number;
  /** [id, text] pairs interned since the last batch */
  names: [number, string][];
  /** [tid, name, daemon] tasks created since the last batch */
  tasks: [number, string, number][];
  /** [first_seq, last_seq or -1] request rows to insert or replace */
  requests: number[];
  /** blobs too large for the arena: [row, bytes] */
  big: [number, Uint8Array][];
  /** state snapshots taken at events of this batch: [seq, encoded model] */
  snapshots: [number, Uint8Array][];
  /** the request log's piece for each snapshot: [seq, encoded segment] */
  requestSegments: [number, Uint8Array][];
  lastSeq: number;
}

const NO_DECISIONS = Buffer.alloc(0);

export class SqliteBatchWriter {
  private readonly db: Database.Database;
  private insChunk: Database.Statement | undefined;
  private insFrames: BulkInsert | undefined;
  private insData: BulkInsert | undefined;
  private insName: Database.Statement | undefined;
  private insTask: Database.Statement | undefined;
  private insReqs: BulkInsert | undefined;
  private insBatch: Database.Statement | undefined;
  private insSnap: Database.Statement | undefined;
  private insSegment: Database.Statement | undefined;
  /** writeBody in one transaction: the hash chain after the batch. */
  private readonly txn: (rows: Float64Array, blob: Uint8Array, m: BatchMeta, prev: number) => number;
  /** The run's hash chain after its last committed batch. */
  private committed = HASH_SEED;

  constructor(db: Database.Database) {
    this.db = db;
    this.txn = db.transaction((rows, blob, m, prev) => this.writeBody(rows, blob, m, prev));
  }

  /** Prepare the statements of a run (its id is part of the statement text: it is ours, an integer). */
  beginRun(run: number): void {
    if (!Number.isSafeInteger(run)) throw new Error(`bad run id ${run}`);
    this.committed = HASH_SEED;
    this.insChunk = this.db.prepare(`INSERT INTO chunks (run, first_seq, count, blobs, tick_base, tick_w, tid_base, tid_w, off_w,
      ticks, tids, kinds, offs, recs) VALUES (${run}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insFrames = new BulkInsert(this.db, 'INSERT INTO chunk_kinds (run, first_seq, kind, a_base, a_w, b_base, b_w, c_base, c_w, d_base, d_w)', run, 10);
    this.insData = new BulkInsert(this.db, 'INSERT INTO event_data (run, seq, data)', run, 2);
    this.insName = this.db.prepare(`INSERT INTO names (run, id, text) VALUES (${run}, ?, ?)`);
    this.insTask = this.db.prepare(`INSERT OR REPLACE INTO tasks (run, tid, name, daemon) VALUES (${run}, ?, ?, ?)`);
    this.insReqs = new BulkInsert(this.db, 'INSERT OR REPLACE INTO requests (run, first_seq, last_seq)', run, 2);
    this.insBatch = this.db.prepare(`INSERT INTO batches (run, last_seq, events, hash, decisions) VALUES (${run}, ?, ?, ?, ?)`);
    this.insSnap = this.db.prepare(`INSERT OR REPLACE INTO snapshots (run, seq, data) VALUES (${run}, ?, ?)`);
    this.insSegment = this.db.prepare(`INSERT OR REPLACE INTO request_log (run, seq, data) VALUES (${run}, ?, ?)`);
  }

  /** The run's hash chain after its last committed batch (HASH_SEED before the first). */
  get committedHash(): number {
    return this.committed;
  }

  /** Write one batch in one transaction; throws the SQLite error (the transaction is rolled back). */
  write(rows: Float64Array, blob: Uint8Array, m: BatchMeta): void {
    if (!this.insChunk) throw new Error('writer: no run begun');
    this.committed = this.txn(rows, blob, m, this.committed);
  }

  /** The batch's rows, given the hash chain before it: returns the chain after it. */
  private writeBody(rows: Float64Array, blob: Uint8Array, m: BatchMeta, prev: number): number {
    for (const [id, text] of m.names) this.insName!.run(id, text);
    for (const [tid, name, daemon] of m.tasks) this.insTask!.run(tid, name, daemon);
    this.writeRequests(m.requests);
    const n = m.count;
    const big = bigBlobs(m);
    let hash = prev;
    for (let start = 0; start < n; start += CHUNK_EVENTS) {
      const count = Math.min(CHUNK_EVENTS, n - start);
      // The chain over a chunk's events, then their encoding: the two read the same 4096 rows
      // (320 KB) one right after the other, while they are still in this core's caches.
      hash = chainOver(hash, rows, start, count, blob, big);
      this.writeChunk(rows, start, count);
    }
    this.writeBlobs(rows, blob, m, big);
    // The scheduler decisions are the tids of the events, which the chunks hold: the batch row
    // keeps the count and the hash chain, and an empty decisions blob.
    if (n > 0) this.insBatch!.run(m.lastSeq, n, hash, NO_DECISIONS);
    for (const [seq, data] of m.snapshots) this.insSnap!.run(seq, data);
    for (const [seq, data] of m.requestSegments) this.insSegment!.run(seq, data);
    return hash;
  }

  private writeChunk(rows: Float64Array, start: number, count: number): void {
    const c = encodeChunk(rows, STRIDE, start, count);
    let blobs = 0;
    for (let r = start, o = start * STRIDE; r < start + count; r++, o += STRIDE) if (rows[o + 8]! >= 0) blobs++;
    this.insChunk!.run(c.firstSeq, c.count, blobs, c.tickBase, c.tickW, c.tidBase, c.tidW, c.offW, c.ticks, c.tids, c.kindBytes, c.offs, c.recs);
    const frames = this.insFrames!;
    const args = frames.args;
    for (const f of c.kinds) {
      const at = frames.row();
      args[at] = c.firstSeq;
      args[at + 1] = f.kind;
      for (let s = 0; s < 4; s++) {
        args[at + 2 + 2 * s] = f.base[s];
        args[at + 3 + 2 * s] = f.width[s];
      }
    }
    frames.flush();
  }

  /**
   * The batch's request rows, in order: a request begun in it is inserted open (last_seq NULL), and
   * replaced by its ended row when it ends, in this batch or a later one.
   */
  private writeRequests(rq: number[]): void {
    const requests = this.insReqs!;
    const args = requests.args;
    for (let i = 0; i < rq.length; i += 2) {
      const at = requests.row();
      args[at] = rq[i];
      args[at + 1] = rq[i + 1]! < 0 ? null : rq[i + 1];
    }
    requests.flush();
  }

  /** The blobs of the batch's events, aside, by seq. */
  private writeBlobs(rows: Float64Array, blob: Uint8Array, m: BatchMeta, big: Map<number, Uint8Array> | undefined): void {
    const blobs = this.insData!;
    const args = blobs.args;
    for (let r = 0, o = 0; r < m.count; r++, o += STRIDE) {
      const data = blobOf(rows, o, blob, big, r);
      if (data === undefined) continue;
      const at = blobs.row();
      args[at] = rows[o];
      args[at + 1] = data;
    }
    blobs.flush();
  }
}

/** Rows one multi-row INSERT takes (at most 10 columns each: 320 parameters, far below SQLite's limit). */
const ROWS_PER_INSERT = 32;

/**
 * Rows of one table of a run, inserted ROWS_PER_INSERT at a time by one statement of that many
 * VALUES tuples. A statement run costs about a microsecond in better-sqlite3 beyond SQLite's own
 * work, which made one INSERT per row a fifth of the writer's time: a chunk has forty-odd kind
 * frames, and a batch several hundred blobs and a hundred-odd request rows. Measured in isolation,
 * 32 rows an INSERT took 0.57 µs a row against 1.47. The rows go in the order they were added, as
 * one INSERT each would put them (an INSERT OR REPLACE of several rows replaces in that order too).
 *
 * The caller fills `args` from the index `row()` returns (the row's columns but `run`, in the
 * statement's order) and calls `flush()` when its rows are all added.
 */
class BulkInsert {
  readonly args: unknown[];
  private readonly full: Database.Statement;
  /** Statements for fewer rows than a full one, by their count, prepared when first needed. */
  private readonly partial = new Map<number, Database.Statement>();
  /** Rows added to `args` and not yet inserted. */
  private buffered = 0;

  /**
   * `head`: the INSERT up to VALUES. `runId`: the run's id, the first column of every row, written
   * into the statement's text. `columns`: the columns of a row after it.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly runId: number,
    private readonly columns: number,
  ) {
    this.args = new Array<unknown>(ROWS_PER_INSERT * columns);
    this.full = this.prepare(ROWS_PER_INSERT);
  }

  /** Room for one more row: the index of its first column in `args`. */
  row(): number {
    if (this.buffered === ROWS_PER_INSERT) this.insertAll();
    return this.columns * this.buffered++;
  }

  /** Insert the rows added since the last insert. */
  flush(): void {
    if (this.buffered > 0) this.insertAll();
  }

  /**
   * Insert the rows added, and start afresh first: rows SQLite refuses go with the transaction it
   * rolls back, never into the next one. `args` lets go of what the rows held (blobs among them).
   */
  private insertAll(): void {
    const rows = this.buffered;
    this.buffered = 0;
    try {
      if (rows === ROWS_PER_INSERT) this.full.run(this.args);
      else this.partialStatement(rows).run(this.args.slice(0, rows * this.columns));
    } finally {
      this.args.fill(undefined, 0, rows * this.columns);
    }
  }

  private partialStatement(rows: number): Database.Statement {
    let statement = this.partial.get(rows);
    if (statement === undefined) this.partial.set(rows, (statement = this.prepare(rows)));
    return statement;
  }

  private prepare(rows: number): Database.Statement {
    const tuple = `(${this.runId}${', ?'.repeat(this.columns)})`;
    return this.db.prepare(`${this.head} VALUES ${Array(rows).fill(tuple).join(', ')}`);
  }
}

/** The hash chain `prev` continued over `count` events of a batch from row `start`, in order. */
function chainOver(prev: number, rows: Float64Array, start: number, count: number, blob: Uint8Array, big: Map<number, Uint8Array> | undefined): number {
  let h = prev;
  for (let r = start, o = start * STRIDE; r < start + count; r++, o += STRIDE) {
    const data = blobOf(rows, o, blob, big, r);
    h = chain(h, eventHash(rows[o]!, rows[o + 1]!, rows[o + 2]!, rows[o + 3]!, rows[o + 4]!, rows[o + 5]!, rows[o + 6]!, rows[o + 7]!, data));
  }
  return h;
}

/** The batch's blobs too large for its arena, by row. */
function bigBlobs(m: BatchMeta): Map<number, Uint8Array> | undefined {
  return m.big.length > 0 ? new Map(m.big) : undefined;
}

/** The data of the event at row `r` (offset `o` in rows), or undefined when it carries none. */
function blobOf(rows: Float64Array, o: number, blob: Uint8Array, big: Map<number, Uint8Array> | undefined, r: number): Uint8Array | undefined {
  const off = rows[o + 8]!;
  if (off < 0) return undefined;
  return off === Infinity ? big!.get(r)! : blob.subarray(off, off + rows[o + 9]!);
}
