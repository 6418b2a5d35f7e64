/**
 * The SQLite side of recording: writes one batch (names, tasks, request pairs, events, the batch
 * row) in one transaction. Used in-process by the synchronous writer and inside the writer worker;
 * it only imports better-sqlite3 so the worker starts fast.
 *
 * A batch travels as three buffers (shared with the worker, so nothing is copied):
 *  - rows: Float64Array, STRIDE doubles per event, row-major in the INSERT's parameter order:
 *          seq, tick, tid, kind, a, b, c, d, blobOffset (-1 = no data), blobLength
 *  - dec:  Uint32Array of (tid, count) pairs, the scheduler decisions of the batch
 *  - blob: Uint8Array arena holding the batch's data blobs
 * and a small BatchMeta message.
 */
import type Database from 'better-sqlite3';

export const STRIDE = 10;
export const DEFAULT_BATCH = 16384;
export const DEFAULT_BLOB_BYTES = 1 << 20;
/** Rows per multi-row INSERT statement (measured: 64..256 are within noise; 128 by a hair). */
export const DEFAULT_ROWS_PER_STATEMENT = 128;

/** Indexes into the worker's control Int32Array (see writer-worker.ts). */
export const CTL_PROCESSED = 0;
export const CTL_COMMITTED = 1;
export const CTL_FAILED = 2;
export const CTL_CLOSED = 3;
export const CTL_SIZE = 4;

export interface BatchMeta {
  /** events in the batch */
  count: number;
  /** uint32 entries used in dec (2 per pair) */
  decN: number;
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
  /** chain value after the last event */
  hash: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The decisions blob: (tid, count) uint32 pairs, little-endian on every host. */
export function encodeDecisions(dec: Uint32Array, n: number): Buffer {
  const out = Buffer.allocUnsafe(n * 4);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(dec.buffer, dec.byteOffset, n * 4));
  } else {
    for (let i = 0; i < n; i++) out.writeUInt32LE(dec[i]!, i * 4);
  }
  return out;
}

export class SqliteBatchWriter {
  private readonly db: Database.Database;
  private readonly rowsPerStmt: number;
  private many: Database.Statement | undefined;
  private one: Database.Statement | undefined;
  private insName: Database.Statement | undefined;
  private insTask: Database.Statement | undefined;
  private insReq: Database.Statement | undefined;
  private insBatch: Database.Statement | undefined;
  private insSnap: Database.Statement | undefined;
  private insSegment: Database.Statement | undefined;
  private readonly args: unknown[];
  private readonly oneArgs: unknown[] = new Array(9);
  private readonly txn: (rows: Float64Array, dec: Uint32Array, blob: Uint8Array, m: BatchMeta) => void;

  constructor(db: Database.Database, rowsPerStatement = DEFAULT_ROWS_PER_STATEMENT) {
    this.db = db;
    this.rowsPerStmt = Math.max(1, Math.min(rowsPerStatement, 3000));
    this.args = new Array(this.rowsPerStmt * 9);
    this.txn = db.transaction((rows, dec, blob, m) => this.writeBody(rows, dec, blob, m));
  }

  /** Prepare the statements of a run (its id is part of the statement text: it is ours, an integer). */
  beginRun(run: number): void {
    if (!Number.isSafeInteger(run)) throw new Error(`bad run id ${run}`);
    const tuple = `(${run},?,?,?,?,?,?,?,?,?)`;
    const cols = 'INSERT INTO events (run, seq, tick, tid, kind, a, b, c, d, data) VALUES ';
    this.many = this.db.prepare(cols + new Array(this.rowsPerStmt).fill(tuple).join(','));
    this.one = this.db.prepare(cols + tuple);
    this.insName = this.db.prepare(`INSERT INTO names (run, id, text) VALUES (${run}, ?, ?)`);
    this.insTask = this.db.prepare(`INSERT OR REPLACE INTO tasks (run, tid, name, daemon) VALUES (${run}, ?, ?, ?)`);
    this.insReq = this.db.prepare(`INSERT OR REPLACE INTO requests (run, first_seq, last_seq) VALUES (${run}, ?, ?)`);
    this.insBatch = this.db.prepare(`INSERT INTO batches (run, last_seq, events, hash, decisions) VALUES (${run}, ?, ?, ?, ?)`);
    this.insSnap = this.db.prepare(`INSERT OR REPLACE INTO snapshots (run, seq, data) VALUES (${run}, ?, ?)`);
    this.insSegment = this.db.prepare(`INSERT OR REPLACE INTO request_log (run, seq, data) VALUES (${run}, ?, ?)`);
  }

  /** Write one batch in one transaction; throws the SQLite error (the transaction is rolled back). */
  write(rows: Float64Array, dec: Uint32Array, blob: Uint8Array, m: BatchMeta): void {
    if (!this.many) throw new Error('writer: no run begun');
    this.txn(rows, dec, blob, m);
  }

  private writeBody(rows: Float64Array, dec: Uint32Array, blob: Uint8Array, m: BatchMeta): void {
    for (const [id, text] of m.names) this.insName!.run(id, text);
    for (const [tid, name, daemon] of m.tasks) this.insTask!.run(tid, name, daemon);
    const rq = m.requests;
    for (let i = 0; i < rq.length; i += 2) this.insReq!.run(rq[i], rq[i + 1]! < 0 ? null : rq[i + 1]);

    let big: Map<number, Uint8Array> | undefined;
    if (m.big.length) big = new Map(m.big);
    const n = m.count;
    const per = this.rowsPerStmt;
    const args = this.args;
    const many = this.many!;
    let r = 0;
    for (; r + per <= n; r += per) {
      let o = r * STRIDE;
      let j = 0;
      for (let k = 0; k < per; k++, o += STRIDE) {
        args[j] = rows[o];
        args[j + 1] = rows[o + 1];
        args[j + 2] = rows[o + 2];
        args[j + 3] = rows[o + 3];
        args[j + 4] = rows[o + 4];
        args[j + 5] = rows[o + 5];
        args[j + 6] = rows[o + 6];
        args[j + 7] = rows[o + 7];
        const off = rows[o + 8]!;
        args[j + 8] = off < 0 ? null : off === Infinity ? big!.get(r + k)! : blob.slice(off, off + rows[o + 9]!);
        j += 9;
      }
      many.run(args);
    }
    const a1 = this.oneArgs;
    for (; r < n; r++) {
      const o = r * STRIDE;
      for (let k = 0; k < 8; k++) a1[k] = rows[o + k];
      const off = rows[o + 8]!;
      a1[8] = off < 0 ? null : off === Infinity ? big!.get(r)! : blob.slice(off, off + rows[o + 9]!);
      this.one!.run(a1);
    }
    if (n > 0) this.insBatch!.run(m.lastSeq, n, m.hash, encodeDecisions(dec, m.decN));
    for (const [seq, data] of m.snapshots) this.insSnap!.run(seq, data);
    for (const [seq, data] of m.requestSegments) this.insSegment!.run(seq, data);
  }
}
