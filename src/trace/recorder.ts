/**
 * The recorder: an EventSink that appends runs to a SQLite trace file, one run at a time.
 *
 * Events fill a BatchBuffer (the allocation-free hot path); every `batch` events the buffer is handed
 * to the writer backend, which stores names, tasks, request pairs, the events and one `batches` row
 * (last seq, chain value, decisions) in ONE transaction, in process or in a worker thread.
 *
 * The recorder owns the run's life: its header row (status 'recording' from the start), how many of
 * its batches are committed, and its end: 'complete' with its final hash, or 'failed' with the
 * events committed before the failure.
 *
 * Crash safety: each batch is a committed WAL transaction; a killed recorder leaves every committed
 * batch readable and the run with status 'recording' (readers report it 'incomplete').
 */
import { errors, MmtraceError } from '../errors.js';
import { isDiskError, openForWrite, type Db } from '../store/db.js';
import type { KindLayout } from '../store/layout.js';
import { completeRun, endRun, insertRun, runNamed, settle, type InsertedRun } from '../store/runs.js';
import { BatchBuffer } from './batch-buffer.js';
import { HASH_SEED, hashHex } from './hash.js';
import { RequestPairs } from './request-pairs.js';
import { encodeSegment } from './request-segment.js';
import type { EventSink } from './sink.js';
import { CODE_TABLES, KINDS, SCHEMA_VERSION, typeText } from './vocab/index.js';
import {
  SyncBackend, WorkerBackend, writerWorkerScript, type Backend, type BackendSizes, type BootingWorker, type WriterMode,
} from './writer-backend.js';
import { DEFAULT_BATCH, DEFAULT_BLOB_BYTES } from './writer-core.js';

export { writerWorkerScript, type WriterMode };

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
  /** Event-vocabulary version; default this build's SCHEMA_VERSION. */
  schemaVersion?: number;
  /** The workload and path modules the run loaded: absolute path -> SHA-256 of the source. */
  modules?: Record<string, string>;
}

export interface RecorderOptions {
  /** 'auto' (default): the worker when its script is available, else sync. */
  writer?: WriterMode | 'auto';
  /** Events per batch (one transaction, one `batches` row). Default 16384. */
  batch?: number;
  /** Worker mode: batches handed over but not yet committed before the producer waits. Default 3. */
  inflight?: number;
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

/** The vocabulary's layout as the file's kinds table stores it. */
export const LAYOUT: readonly KindLayout[] = KINDS.map((k) => ({
  kind: k.kind, name: k.name, family: k.family, fields: k.fields, names: k.names, blob: k.blob,
  types: k.types.map(typeText),
}));

/** The run's events after each handed-over batch of the current run. */
class BatchLog {
  private readonly events: number[] = [];

  add(eventsOfRun: number): void {
    this.events.push(eventsOfRun);
  }

  /** The run's events once its first `batches` batches are committed. */
  eventsAfter(batches: number): number {
    return batches > 0 ? this.events[batches - 1]! : 0;
  }
}

export class Recorder implements EventSink {
  readonly file: string;
  private readonly db: Db;
  private readonly backend: Backend;
  private readonly inflight: number;
  private readonly buffer: BatchBuffer;
  private readonly requests = new RequestPairs();
  private readonly storeRequest = (firstSeq: number, lastSeq: number): void => this.buffer.request(firstSeq, lastSeq);

  // the run being recorded (id 0: none)
  private runId = 0;
  private runName = '';
  /** The run the current one replaces when it completes (--replace), or null. */
  private replaces: number | null = null;
  private runEvents = 0;
  private runFirstBatch = 0;
  private log = new BatchLog();
  /** batches handed to the backend, over every run */
  private posted = 0;
  private failed: Error | undefined;
  private failureReported = false;
  private closed = false;

  private constructor(file: string, db: Db, backend: Backend, inflight: number, batch: number) {
    this.file = file;
    this.db = db;
    this.backend = backend;
    this.inflight = inflight;
    this.buffer = new BatchBuffer(backend.slots[0]!, batch);
  }

  /**
   * Open (or create) a trace file for recording. Throws what opening for write throws,
   * ERUN_SCHEMA_NEWER when the file holds a run of a newer vocabulary (its kinds table is newer),
   * and EUNWRITABLE when the writer worker cannot be started or cannot open the file.
   */
  static async open(file: string, opts: RecorderOptions = {}): Promise<Recorder> {
    const sizes: BackendSizes = {
      batch: Math.max(1, Math.trunc(opts.batch ?? DEFAULT_BATCH)),
      blobBytes: Math.max(1024, Math.trunc(opts.blobBytes ?? DEFAULT_BLOB_BYTES)),
    };
    const inflight = Math.max(1, Math.trunc(opts.inflight ?? 3));
    const booting = bootWorker(opts, sizes, inflight);
    let db: Db;
    try {
      db = await openForWrite(file, {
        layout: LAYOUT, codes: CODE_TABLES, eventSchema: SCHEMA_VERSION,
        ...(opts.maxPageCount !== undefined ? { maxPageCount: opts.maxPageCount } : {}),
      });
    } catch (e) {
      booting?.stop();
      throw e;
    }
    try {
      const backend = booting === undefined ? new SyncBackend(db, sizes) : await openWorker(booting, file, opts.maxPageCount);
      return new Recorder(file, db, backend, inflight, sizes.batch);
    } catch (e) {
      // the file was accepted and put in WAL mode: leave it in rollback-journal mode, as a recording's end does
      settle(db);
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
    return this.log.eventsAfter(this.committedBatches);
  }

  /**
   * What is committed of the current run: its events, and the hash chain over them (the writer
   * keeps the chain; before the run's first batch commits it is the seed).
   */
  private committedSoFar(): { events: number; finalHash: string } {
    const batches = this.committedBatches;
    return { events: this.log.eventsAfter(batches), finalHash: hashHex(batches > 0 ? this.backend.committedHash() : HASH_SEED) };
  }

  /**
   * The size the file has with what is committed so far: its pages, as SQLite counts them (the
   * WAL's pages move into the file at the checkpoint; this is the size it then has).
   */
  get committedFileBytes(): number {
    return Number(this.db.pragma('page_count', { simple: true })) * Number(this.db.pragma('page_size', { simple: true }));
  }

  /** Does the file hold a run of this name? */
  hasRun(name: string): boolean {
    return runNamed(this.db, name) !== undefined;
  }

  /** Insert the run (status 'recording', committed at once) and make it current; returns its id. */
  beginRun(header: RunHeader, opts: BeginOptions = {}): number {
    if (this.closed) throw new Error('recorder is closed');
    if (this.runId) throw new Error(`run '${this.runName}' is still recording: finish() it first`);
    if (this.failed) throw this.failed;
    let inserted: InsertedRun;
    try {
      inserted = insertRun(this.db, this.file, {
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
        modules: JSON.stringify(header.modules ?? {}),
      }, opts.replace ?? false);
    } catch (e) {
      if (e instanceof MmtraceError) throw e;
      if (isDiskError(e)) throw errors.diskFull(this.file, 0, e);
      throw e;
    }
    const id = inserted.id;
    this.replaces = inserted.replaces;
    this.backend.beginRun(id);
    this.runId = id;
    this.runName = header.name;
    this.runEvents = 0;
    this.runFirstBatch = this.posted;
    this.log = new BatchLog();
    this.requests.clear();
    this.buffer.startRun();
    return id;
  }

  // --- EventSink -------------------------------------------------------------------------------------

  event(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    if (this.runId === 0) this.noRun();
    const buffer = this.buffer;
    if (data !== undefined && !buffer.fits(data)) this.flush();
    buffer.append(seq, tick, tid, kind, a, b, c, d, data);
    if (RequestPairs.concerns(kind)) this.requests.note(seq, tid, kind, a, b, c, d, this.storeRequest);
    if (buffer.full) this.flush();
  }

  name(id: number, text: string): void {
    if (this.runId === 0) this.noRun();
    this.buffer.name(id, text);
    this.requests.name(id, text);
  }

  /**
   * A replay snapshot of the state after event `seq`, and with it the request log's piece up to it
   * (the snapshot leaves the log to those pieces: request-segment.ts).
   */
  snapshot(seq: number, data: Uint8Array): void {
    if (this.runId === 0) this.noRun();
    this.buffer.snapshot(seq, data);
    this.buffer.requestSegment(seq, encodeSegment(this.requests.takeSegment(seq)));
  }

  task(tid: number, name: string, daemon: boolean): void {
    if (this.runId === 0) this.noRun();
    this.buffer.task(tid, name, daemon);
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
        // snapshots too: a snapshot of the run's last event must not ride into the next run's batch
        if (this.buffer.pending) this.flush();
        this.backend.waitPending(0);
        this.checkFailure();
      } catch (e) {
        this.runId = 0;
        throw e;
      }
    }
    if (this.failed) return this.endFailed(id, name, this.failed);
    const message = error === undefined ? null : error instanceof Error ? error.message : String(error);
    const { finalHash } = this.committedSoFar();
    try {
      completeRun(this.db, { id, replaces: this.replaces }, name, { status, events: this.runEvents, finalHash, error: message });
    } catch (e) {
      if (!isDiskError(e)) throw e;
      this.failed = errors.diskFull(this.file, this.runEvents, e, this.keptRun());
      this.failureReported = true;
      this.runId = 0;
      throw this.failed;
    }
    this.runId = 0;
    return { id, name, status, events: this.runEvents, finalHash, ...(message !== null ? { error: message } : {}) };
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
    settle(this.db);
    this.db.close();
  }

  // --- internals -------------------------------------------------------------------------------------

  /** For a failed replacement: that the run it was to replace is still there, whole. */
  private keptRun(): string | undefined {
    return this.replaces === null ? undefined : `run '${this.runName}' as it was before --replace is kept`;
  }

  private noRun(): never {
    throw new Error(this.closed ? 'recorder is closed' : 'no run is recording: call beginRun() first');
  }

  /** Hand the buffered batch to the backend and wait while too many are in flight. */
  private flush(): void {
    if (this.failed) throw this.failed;
    const slots = this.backend.slots;
    const slot = this.posted % slots.length;
    const next = slots[(this.posted + 1) % slots.length]!;
    const meta = this.buffer.take(next);
    this.backend.submit(slot, meta);
    this.runEvents += meta.count;
    this.log.add(this.runEvents);
    this.posted++;
    this.backend.waitPending(slots.length === 1 ? 0 : this.inflight);
    this.checkFailure();
  }

  /** The run ended by a writer failure (already marked failed in the file): throw it once, then sum up. */
  private endFailed(id: number, name: string, failure: Error): RunSummary {
    this.runId = 0;
    const committed = this.committedSoFar();
    if (!this.failureReported) {
      this.failureReported = true;
      throw failure;
    }
    return { id, name, status: 'failed', ...committed, error: failure.message };
  }

  /** After a writer failure: mark the run failed in the file (if it still can be written) and throw. */
  private checkFailure(): void {
    const f = this.backend.failure();
    if (!f) return;
    const committed = this.committedSoFar();
    const cause = Object.assign(new Error(f.message), f.code ? { code: f.code } : {});
    // a disk error is the user's to fix; anything else (a constraint violated by a sink caller that
    // broke the contract, e.g. a repeated seq) is a bug, reported as a plain Error
    this.failed = isDiskError(cause)
      ? errors.diskFull(this.file, committed.events, cause, this.keptRun())
      : new Error(`${this.file}: recording failed (${f.message}); the ${committed.events} events committed before it stay readable, the run is marked failed${this.keptRun() ? `; ${this.keptRun()}` : ''}`, { cause });
    try {
      endRun(this.db, this.runId, { status: 'failed', ...committed, error: this.failed.message });
    } catch {
      /* the file cannot be written any more: the run stays 'recording' and reads as incomplete */
    }
    this.failureReported = true;
    throw this.failed;
  }
}

/** The writer worker, started, when this recording writes through one (else undefined: in process). */
function bootWorker(opts: RecorderOptions, sizes: BackendSizes, inflight: number): BootingWorker | undefined {
  const mode = opts.writer ?? 'auto';
  const script = mode === 'sync' ? undefined : writerWorkerScript();
  if (mode === 'worker' && !script) {
    throw new Error('writer worker script not built: run `npm run build` (dist/src/trace/writer-worker.js)');
  }
  return script === undefined ? undefined : WorkerBackend.boot(script, inflight + 1, sizes);
}

async function openWorker(booting: BootingWorker, file: string, maxPageCount: number | undefined): Promise<Backend> {
  try {
    return await booting.open(file, maxPageCount);
  } catch (e) {
    throw errors.unwritable(file, `writer worker: ${(e as Error).message}`, e);
  }
}
