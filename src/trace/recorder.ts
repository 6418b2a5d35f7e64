/**
 * The recorder: an EventSink that appends a run's events to a SQLite trace file.
 *
 * Hot path: `event()` writes the event into a preallocated Float64Array (row-major, the INSERT's
 * parameter order), copies a blob (rare) into a byte arena, folds the event into the running hash
 * and run-length encodes the scheduler decision (the tid). Nothing is allocated per event. Every
 * `batch` events the buffers are handed to the writer, which stores names, tasks, request pairs,
 * the events (multi-row prepared INSERTs) and one `batches` row (last seq, chain value, decisions)
 * in ONE transaction.
 *
 * Two writers behind one interface:
 *  - 'worker' (default when its script is available): a worker thread with its own connection
 *    writes while the simulation goes on; buffers live in SharedArrayBuffers (no copy), at most
 *    `inflight` batches wait, after which the producer blocks (Atomics.wait) until one commits.
 *  - 'sync': the same writes, in process, on the recorder's own connection.
 * The worker script is dist/src/trace/writer-worker.js (built by `npm run build`); when the
 * recorder runs from TypeScript sources (vitest) it is found from the project root, and when it
 * cannot be found the recorder falls back to 'sync'.
 *
 * Crash safety: each batch is a committed WAL transaction; a killed recorder leaves every committed
 * batch readable and the run with status 'recording' (readers report it 'incomplete').
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { errors, MmtraceError } from '../errors.js';
import { exec, first, isDiskError, openForWrite, qb, type Db } from '../store/db.js';
import { KINDS, SCHEMA_VERSION } from './events.js';
import { chain, eventHash, HASH_SEED, hashHex } from './hash.js';
import type { EventSink } from './sink.js';
import {
  CTL_CLOSED, CTL_COMMITTED, CTL_FAILED, CTL_PROCESSED, CTL_SIZE, DEFAULT_BATCH, DEFAULT_BLOB_BYTES,
  DEFAULT_ROWS_PER_STATEMENT, SqliteBatchWriter, STRIDE, type BatchMeta,
} from './writer-core.js';

/** Everything needed to re-run a run; stored in the `runs` table. */
export interface RunHeader {
  /** Unique within the file: `gup`, `fast`, `fast+singleVmaOnly` ... */
  name: string;
  workload: string;
  params?: Record<string, unknown>;
  path: string;
  variant?: readonly string[];
  seed: number;
  strategy: string;
  config?: Record<string, unknown>;
  codeVersion: string;
  /** Event-vocabulary version; default SCHEMA_VERSION of src/trace/events.ts. */
  schemaVersion?: number;
}

export type WriterMode = 'worker' | 'sync';

export interface RecorderOptions {
  /** 'auto' (default): the worker when its script is available, else sync. */
  writer?: WriterMode | 'auto';
  /** Events per batch (one transaction, one `batches` row). Default 16384. */
  batch?: number;
  /** Worker mode: batches handed over but not yet committed before the producer waits. Default 3. */
  inflight?: number;
  /** Rows per multi-row INSERT statement. Default 128. */
  rowsPerStatement?: number;
  /** Bytes of blob arena per batch (a batch is cut early when it fills). Default 1 MiB. */
  blobBytes?: number;
  /** Test hook: PRAGMA max_page_count on the writing connections, to provoke SQLITE_FULL. */
  maxPageCount?: number;
}

export interface BeginOptions {
  /** Replace an existing run of the same name (deletes it first) instead of failing. */
  replace?: boolean;
}

export interface RunSummary {
  id: number;
  name: string;
  status: 'complete' | 'failed';
  events: number;
  finalHash: string;
  error?: string;
}

interface Slot {
  rows: Float64Array;
  dec: Uint32Array;
  blob: Uint8Array;
}

interface Failure {
  message: string;
  code?: string;
}

/** Where the batches go: in process or to the writer worker. */
interface Backend {
  readonly mode: WriterMode;
  readonly slots: readonly Slot[];
  beginRun(run: number): void;
  submit(slot: number, meta: BatchMeta): void;
  /** Block until at most `max` submitted batches are not yet processed. */
  waitPending(max: number): void;
  committed(): number;
  failure(): Failure | undefined;
  close(): void;
}

function makeSlot(batch: number, blobBytes: number, shared: boolean): Slot {
  const B = shared ? SharedArrayBuffer : ArrayBuffer;
  return {
    rows: new Float64Array(new B(batch * STRIDE * 8)),
    dec: new Uint32Array(new B(batch * 2 * 4)),
    blob: new Uint8Array(new B(blobBytes)),
  };
}

function failureOf(e: unknown): Failure {
  const code = (e as { code?: unknown })?.code;
  return { message: (e as Error)?.message ?? String(e), ...(typeof code === 'string' ? { code } : {}) };
}

class SyncBackend implements Backend {
  readonly mode = 'sync' as const;
  readonly slots: Slot[];
  private readonly writer: SqliteBatchWriter;
  private done = 0;
  private failed: Failure | undefined;

  constructor(db: Db, batch: number, blobBytes: number, rowsPerStatement: number) {
    this.slots = [makeSlot(batch, blobBytes, false)];
    this.writer = new SqliteBatchWriter(db, rowsPerStatement);
  }
  beginRun(run: number): void {
    this.writer.beginRun(run);
  }
  submit(slot: number, meta: BatchMeta): void {
    if (this.failed) return;
    const s = this.slots[slot]!;
    try {
      this.writer.write(s.rows, s.dec, s.blob, meta);
      this.done++;
    } catch (e) {
      this.failed = failureOf(e);
    }
  }
  waitPending(): void {}
  committed(): number {
    return this.done;
  }
  failure(): Failure | undefined {
    return this.failed;
  }
  close(): void {}
}

class WorkerBackend implements Backend {
  readonly mode = 'worker' as const;
  readonly slots: Slot[];
  private readonly ctl: Int32Array;
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private posted = 0;
  private failed: Failure | undefined;

  private constructor(worker: Worker, slots: Slot[], ctl: Int32Array, port: MessagePort) {
    this.worker = worker;
    this.slots = slots;
    this.ctl = ctl;
    this.port = port;
  }

  static async start(script: URL, file: string, nslots: number, batch: number, blobBytes: number,
    rowsPerStatement: number, maxPageCount: number | undefined): Promise<WorkerBackend> {
    const slots = Array.from({ length: nslots }, () => makeSlot(batch, blobBytes, true));
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_SIZE * 4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(script, {
      // the worker inherits node's flags, but --input-type (a `node -e` script) is refused for a file
      execArgv: workerExecArgv(process.execArgv),
      workerData: { file, ctl, slots, port: port2, rowsPerStatement, maxPageCount },
      transferList: [port2],
    });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { t: string; message?: string; code?: string }): void => {
        worker.off('message', onMsg);
        worker.off('error', onErr);
        worker.off('exit', onExit);
        if (m.t === 'ready') resolve();
        else reject(Object.assign(new Error(m.message ?? 'writer worker failed'), { code: m.code }));
      };
      const onErr = (e: Error): void => reject(e);
      const onExit = (c: number): void => reject(new Error(`writer worker exited (${c}) before it was ready`));
      worker.on('message', onMsg);
      worker.once('error', onErr);
      worker.once('exit', onExit);
    });
    worker.unref();
    port1.unref();
    return new WorkerBackend(worker, slots, ctl, port1);
  }

  beginRun(run: number): void {
    this.worker.postMessage({ t: 'begin', run });
  }
  submit(slot: number, meta: BatchMeta): void {
    this.worker.postMessage({ t: 'batch', slot, meta });
    this.posted++;
  }
  waitPending(max: number): void {
    const ctl = this.ctl;
    for (;;) {
      const done = Atomics.load(ctl, CTL_PROCESSED);
      if (this.posted - done <= max) return;
      Atomics.wait(ctl, CTL_PROCESSED, done, 1000);
    }
  }
  committed(): number {
    return Atomics.load(this.ctl, CTL_COMMITTED);
  }
  failure(): Failure | undefined {
    if (this.failed) return this.failed;
    if (Atomics.load(this.ctl, CTL_FAILED) === 0) return undefined;
    const m = receiveMessageOnPort(this.port);
    this.failed = (m?.message as Failure | undefined) ?? { message: 'writer worker failed' };
    return this.failed;
  }
  close(): void {
    this.worker.postMessage({ t: 'close' });
    const deadline = Date.now() + 10_000;
    while (Atomics.load(this.ctl, CTL_CLOSED) === 0 && Date.now() < deadline) {
      Atomics.wait(this.ctl, CTL_CLOSED, 0, 100);
    }
    this.port.close();
    void this.worker.terminate();
  }
}

function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}

/** The compiled worker script, or undefined when it is not built. */
export function writerWorkerScript(): URL | undefined {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/src/trace/writer-worker.js', here)
    : new URL('./writer-worker.js', here);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

const REQ_BEGIN = KINDS.find((k) => k.name === 'request_begin');
const REQ_END = KINDS.find((k) => k.name === 'request_end');

export class Recorder implements EventSink {
  readonly file: string;
  private readonly db: Db;
  private readonly backend: Backend;
  private readonly inflight: number;
  private readonly nslots: number;
  private readonly cap: number;

  // hot-path state of the batch being filled
  private rows: Float64Array;
  private dec: Uint32Array;
  private blob: Uint8Array;
  private n = 0;
  private dn = 0;
  private blobN = 0;
  private lastTid = -1;
  private lastSeq = 0;
  private h = HASH_SEED;
  private pNames: [number, string][] = [];
  private pTasks: [number, string, number][] = [];
  private pReqs: number[] = [];
  private pBig: [number, Uint8Array][] = [];
  private pSnaps: [number, Uint8Array][] = [];

  // request pairing (request_begin .. request_end of the same tid and req)
  private readonly kBegin = REQ_BEGIN?.kind ?? -1;
  private readonly kEnd = REQ_END?.kind ?? -1;
  private readonly beginReqSlot = REQ_BEGIN ? REQ_BEGIN.fields.indexOf('req') : -1;
  private readonly endReqSlot = REQ_END ? REQ_END.fields.indexOf('req') : -1;
  private openReqs = new Map<string, number>();

  // run and batch bookkeeping
  private runId = 0;
  private runName = '';
  private posted = 0;
  private slotIx = 0;
  private runFirstBatch = 0;
  private runEvents = 0;
  /** per submitted batch of the current run: events of the run after it, and the chain value */
  private logEvents: number[] = [];
  private logHash: number[] = [];
  private failed: Error | undefined;
  private failureReported = false;
  private closed = false;

  private constructor(file: string, db: Db, backend: Backend, inflight: number, cap: number) {
    this.file = file;
    this.db = db;
    this.backend = backend;
    this.inflight = inflight;
    this.nslots = backend.slots.length;
    this.cap = cap;
    const s = backend.slots[0]!;
    this.rows = s.rows;
    this.dec = s.dec;
    this.blob = s.blob;
  }

  /** Open (or create) a trace file for recording. */
  static async open(file: string, opts: RecorderOptions = {}): Promise<Recorder> {
    const batch = Math.max(1, Math.trunc(opts.batch ?? DEFAULT_BATCH));
    const inflight = Math.max(1, Math.trunc(opts.inflight ?? 3));
    const rowsPerStatement = opts.rowsPerStatement ?? DEFAULT_ROWS_PER_STATEMENT;
    const blobBytes = Math.max(1024, Math.trunc(opts.blobBytes ?? DEFAULT_BLOB_BYTES));
    const db = await openForWrite(file, opts.maxPageCount !== undefined ? { maxPageCount: opts.maxPageCount } : {});
    try {
      const mode = opts.writer ?? 'auto';
      const script = mode === 'sync' ? undefined : writerWorkerScript();
      if (mode === 'worker' && !script) {
        throw new Error('writer worker script not built: run `npm run build` (dist/src/trace/writer-worker.js)');
      }
      let backend: Backend;
      if (script) {
        try {
          backend = await WorkerBackend.start(script, file, inflight + 1, batch, blobBytes, rowsPerStatement, opts.maxPageCount);
        } catch (e) {
          throw errors.unwritable(file, `writer worker: ${(e as Error).message}`, e);
        }
      } else {
        backend = new SyncBackend(db, batch, blobBytes, rowsPerStatement);
      }
      return new Recorder(file, db, backend, inflight, batch);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  get writerMode(): WriterMode {
    return this.backend.mode;
  }

  /** Id of the run being recorded (0 when none). */
  get currentRun(): number {
    return this.runId;
  }

  /** Committed batches of the current run (progress, and the crash tests). */
  get committedBatches(): number {
    return Math.max(0, this.backend.committed() - this.runFirstBatch);
  }

  /** Events of the current run committed to the file. */
  get committedEvents(): number {
    const k = this.committedBatches;
    return k > 0 ? this.logEvents[k - 1]! : 0;
  }

  /** Insert the run (status 'recording', committed at once) and make it current; returns its id. */
  beginRun(header: RunHeader, opts: BeginOptions = {}): number {
    if (this.closed) throw new Error('recorder is closed');
    if (this.runId) throw new Error(`run '${this.runName}' is still recording: finish() it first`);
    if (this.failed) throw this.failed;
    const db = this.db;
    const existing = first(db, qb.selectFrom('runs').select('id').where('name', '=', header.name));
    let id: number;
    try {
      id = db.transaction(() => {
        if (existing) {
          if (!opts.replace) throw errors.runExists(this.file, header.name);
          deleteRun(db, existing.id);
        }
        const r = exec(db, qb.insertInto('runs').values({
          name: header.name,
          workload: header.workload,
          params: JSON.stringify(header.params ?? {}),
          path: header.path,
          variant: JSON.stringify(header.variant ?? []),
          seed: header.seed,
          strategy: header.strategy,
          config: JSON.stringify(header.config ?? {}),
          code_version: header.codeVersion,
          schema_version: header.schemaVersion ?? SCHEMA_VERSION,
          status: 'recording',
          events: 0,
          final_hash: null,
          writer_pid: process.pid,
          error: null,
        }));
        return Number(r.lastInsertRowid);
      })();
    } catch (e) {
      if (e instanceof MmtraceError) throw e;
      if (isDiskError(e)) throw errors.diskFull(this.file, 0, e);
      throw e;
    }
    this.backend.beginRun(id);
    this.runId = id;
    this.runName = header.name;
    this.h = HASH_SEED;
    this.runEvents = 0;
    this.runFirstBatch = this.posted;
    this.logEvents = [];
    this.logHash = [];
    this.openReqs.clear();
    this.lastSeq = 0;
    return id;
  }

  // --- EventSink -------------------------------------------------------------------------------------

  event(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    if (this.runId === 0) this.noRun();
    if (data !== undefined && this.blobN + data.length > this.blob.length && data.length <= this.blob.length && this.n > 0) {
      this.flush();
    }
    const n = this.n;
    const rows = this.rows;
    const o = n * STRIDE;
    rows[o] = seq;
    rows[o + 1] = tick;
    rows[o + 2] = tid;
    rows[o + 3] = kind;
    rows[o + 4] = a;
    rows[o + 5] = b;
    rows[o + 6] = c;
    rows[o + 7] = d;
    if (data === undefined) rows[o + 8] = -1;
    else this.putBlob(o, n, data);
    this.h = chain(this.h, eventHash(seq, tick, tid, kind, a, b, c, d, data));
    if (tid !== 0) {
      if (tid === this.lastTid) {
        this.dec[this.dn - 1]++;
      } else {
        const dn = this.dn;
        this.dec[dn] = tid;
        this.dec[dn + 1] = 1;
        this.dn = dn + 2;
        this.lastTid = tid;
      }
    }
    if (kind === this.kBegin || kind === this.kEnd) this.noteRequest(seq, tid, kind, a, b, c, d);
    this.lastSeq = seq;
    this.n = n + 1;
    if (n + 1 === this.cap) this.flush();
  }

  name(id: number, text: string): void {
    if (this.runId === 0) this.noRun();
    this.pNames.push([id, text]);
  }

  snapshot(seq: number, data: Uint8Array): void {
    if (this.runId === 0) this.noRun();
    this.pSnaps.push([seq, data]);
  }

  task(tid: number, name: string, daemon: boolean): void {
    if (this.runId === 0) this.noRun();
    this.pTasks.push([tid, name, daemon ? 1 : 0]);
  }

  // --- end of a run ----------------------------------------------------------------------------------

  /**
   * Commit what is buffered, wait for the writer, and close the run: events count, final hash,
   * status. Throws EDISKFULL (the run is then marked failed) unless that failure was already thrown.
   */
  finish(status: 'complete' | 'failed' = 'complete', error?: unknown): RunSummary {
    if (this.runId === 0) throw new Error('no run is recording');
    const id = this.runId;
    const name = this.runName;
    if (!this.failed) {
      try {
        // pSnaps too: a snapshot of the run's last event must not ride into the next run's batch.
        if (this.n > 0 || this.pNames.length || this.pTasks.length || this.pReqs.length || this.pSnaps.length) this.flush();
        this.backend.waitPending(0);
        this.checkFailure();
      } catch (e) {
        this.runId = 0;
        throw e;
      }
    }
    if (this.failed) {
      // already marked failed in the file by fail(); the run is over
      this.runId = 0;
      const k = this.committedBatches;
      const summary: RunSummary = {
        id, name, status: 'failed',
        events: k > 0 ? this.logEvents[k - 1]! : 0,
        finalHash: hashHex(k > 0 ? this.logHash[k - 1]! : HASH_SEED),
        error: this.failed.message,
      };
      if (!this.failureReported) {
        this.failureReported = true;
        throw this.failed;
      }
      return summary;
    }
    const message = error === undefined ? undefined : error instanceof Error ? error.message : String(error);
    const finalHash = hashHex(this.h);
    try {
      exec(this.db, qb.updateTable('runs').set({
        status, events: this.runEvents, final_hash: finalHash, error: message ?? null,
      }).where('id', '=', id));
    } catch (e) {
      if (isDiskError(e)) {
        this.failed = errors.diskFull(this.file, this.runEvents, e);
        this.failureReported = true;
        this.runId = 0;
        throw this.failed;
      }
      throw e;
    }
    this.runId = 0;
    return { id, name, status, events: this.runEvents, finalHash, ...(message !== undefined ? { error: message } : {}) };
  }

  /** Finish a run still recording (as failed), stop the writer, close the file. */
  close(): void {
    if (this.closed) return;
    if (this.runId !== 0) {
      try {
        this.finish('failed', 'recorder closed before the run finished');
      } catch {
        /* already marked failed */
      }
    }
    this.closed = true;
    this.backend.close();
    try {
      // leave the file in rollback-journal mode at rest: read-only readers need no -shm/-wal then
      this.db.pragma('journal_mode = DELETE');
    } catch {
      /* another connection has it open: it stays in WAL mode, which is fine */
    }
    this.db.close();
  }

  // --- internals -------------------------------------------------------------------------------------

  private noRun(): never {
    throw new Error(this.closed ? 'recorder is closed' : 'no run is recording: call beginRun() first');
  }

  private putBlob(o: number, row: number, data: Uint8Array): void {
    const len = data.length;
    if (len > this.blob.length) {
      this.rows[o + 8] = Infinity;
      this.rows[o + 9] = len;
      this.pBig.push([row, data.slice()]);
      return;
    }
    const off = this.blobN;
    this.blob.set(data, off);
    this.rows[o + 8] = off;
    this.rows[o + 9] = len;
    this.blobN = off + len;
  }

  private noteRequest(seq: number, tid: number, kind: number, a: number, b: number, c: number, d: number): void {
    const slot = kind === this.kBegin ? this.beginReqSlot : this.endReqSlot;
    const req = slot === 0 ? a : slot === 1 ? b : slot === 2 ? c : slot === 3 ? d : 0;
    const key = `${tid}:${req}`;
    if (kind === this.kBegin) {
      this.openReqs.set(key, seq);
      this.pReqs.push(seq, -1);
    } else {
      const firstSeq = this.openReqs.get(key);
      if (firstSeq !== undefined) {
        this.openReqs.delete(key);
        this.pReqs.push(firstSeq, seq);
      }
    }
  }

  private flush(): void {
    if (this.failed) throw this.failed;
    const meta: BatchMeta = {
      count: this.n, decN: this.dn, names: this.pNames, tasks: this.pTasks, requests: this.pReqs,
      big: this.pBig, snapshots: this.pSnaps, lastSeq: this.lastSeq, hash: this.h,
    };
    this.backend.submit(this.slotIx, meta);
    this.runEvents += this.n;
    this.logEvents.push(this.runEvents);
    this.logHash.push(this.h);
    this.posted++;
    this.pNames = [];
    this.pTasks = [];
    this.pReqs = [];
    this.pBig = [];
    this.pSnaps = [];
    this.n = 0;
    this.dn = 0;
    this.blobN = 0;
    this.lastTid = -1;
    this.slotIx = this.posted % this.nslots;
    this.backend.waitPending(this.nslots === 1 ? 0 : this.inflight);
    const s = this.backend.slots[this.slotIx]!;
    this.rows = s.rows;
    this.dec = s.dec;
    this.blob = s.blob;
    this.checkFailure();
  }

  /** After a writer failure: mark the run failed in the file (if it still can be written) and throw. */
  private checkFailure(): void {
    const f = this.backend.failure();
    if (!f) return;
    const k = this.committedBatches;
    const events = k > 0 ? this.logEvents[k - 1]! : 0;
    const hash = hashHex(k > 0 ? this.logHash[k - 1]! : HASH_SEED);
    const cause = Object.assign(new Error(f.message), f.code ? { code: f.code } : {});
    // a disk error is the user's to fix; anything else (a constraint violated by a sink caller that
    // broke the contract, e.g. a repeated seq) is a bug, reported as a plain Error
    this.failed = isDiskError(cause)
      ? errors.diskFull(this.file, events, cause)
      : new Error(`${this.file}: recording failed (${f.message}); the ${events} events committed before it stay readable, the run is marked failed`, { cause });
    try {
      exec(this.db, qb.updateTable('runs').set({
        status: 'failed', events, final_hash: hash, error: this.failed.message,
      }).where('id', '=', this.runId));
    } catch {
      /* the file cannot be written any more: the run stays 'recording' and reads as incomplete */
    }
    this.failureReported = true;
    throw this.failed;
  }
}

/** Delete a run and everything recorded for it. */
export function deleteRun(db: Db, id: number): void {
  db.transaction(() => {
    for (const t of ['events', 'names', 'tasks', 'batches', 'requests', 'snapshots']) {
      db.prepare(`DELETE FROM ${t} WHERE run = ?`).run(id);
    }
    db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  })();
}
