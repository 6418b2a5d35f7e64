/**
 * Where the recorder's batches go. Two backends behind one interface:
 *  - 'worker' (default when its script is available): a worker thread with its own connection
 *    writes while the simulation goes on; buffers live in SharedArrayBuffers (no copy), at most
 *    `inflight` batches wait, after which the producer blocks (Atomics.wait) until one commits.
 *  - 'sync': the same writes, in process, on the recorder's own connection.
 * The worker script is dist/src/trace/writer-worker.js (built by `npm run build`); when the
 * recorder runs from TypeScript sources (vitest) it is found from the project root.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import type { Db } from '../store/db.js';
import { makeSlot, type Slot } from './batch-buffer.js';
import {
  CTL_CLOSED, CTL_COMMITTED, CTL_FAILED, CTL_HASH, CTL_PROCESSED, CTL_SIZE, SqliteBatchWriter, type BatchMeta,
} from './writer-core.js';

export type WriterMode = 'worker' | 'sync';

/** Why the writer stopped: the SQLite error's message and code. */
export interface Failure {
  message: string;
  code?: string;
}

export interface Backend {
  readonly mode: WriterMode;
  readonly slots: readonly Slot[];
  beginRun(run: number): void;
  submit(slot: number, meta: BatchMeta): void;
  /** Block until at most `max` submitted batches are not yet processed. */
  waitPending(max: number): void;
  /** Batches committed so far, over every run. */
  committed(): number;
  /** The current run's hash chain after its last committed batch (read once one has committed). */
  committedHash(): number;
  failure(): Failure | undefined;
  close(): void;
}

export interface BackendSizes {
  /** events per batch */
  batch: number;
  blobBytes: number;
}

function failureOf(e: unknown): Failure {
  const code = (e as { code?: unknown })?.code;
  return { message: (e as Error)?.message ?? String(e), ...(typeof code === 'string' ? { code } : {}) };
}

export class SyncBackend implements Backend {
  readonly mode = 'sync' as const;
  readonly slots: Slot[];
  private readonly writer: SqliteBatchWriter;
  private done = 0;
  private failed: Failure | undefined;

  constructor(db: Db, sizes: BackendSizes) {
    this.slots = [makeSlot(sizes.batch, sizes.blobBytes, false)];
    this.writer = new SqliteBatchWriter(db);
  }
  beginRun(run: number): void {
    this.writer.beginRun(run);
  }
  submit(slot: number, meta: BatchMeta): void {
    if (this.failed) return;
    const s = this.slots[slot]!;
    try {
      this.writer.write(s.rows, s.blob, meta);
      this.done++;
    } catch (e) {
      this.failed = failureOf(e);
    }
  }
  waitPending(): void {}
  committed(): number {
    return this.done;
  }
  committedHash(): number {
    return this.writer.committedHash;
  }
  failure(): Failure | undefined {
    return this.failed;
  }
  close(): void {}
}

export class WorkerBackend implements Backend {
  readonly mode = 'worker' as const;
  private posted = 0;
  private failed: Failure | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly slots: readonly Slot[],
    private readonly ctl: Int32Array,
    private readonly port: MessagePort,
  ) {}

  /**
   * Start the worker thread with `nslots` batch buffers. It does not open the file yet: starting a
   * thread and loading SQLite into it takes about as long as checking and migrating the file, so
   * the recorder does both at once (Recorder.open), and then tells it which file to open. Whatever
   * stops the worker before then (a thread that cannot be started, a script that fails to load) is
   * told by `open()`, so a file the recorder refuses is refused for its own reason first.
   */
  static boot(script: URL, nslots: number, sizes: BackendSizes): BootingWorker {
    const slots = Array.from({ length: nslots }, () => makeSlot(sizes.batch, sizes.blobBytes, true));
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_SIZE * 4));
    const { port1, port2 } = new MessageChannel();
    let worker: Worker;
    try {
      worker = startWorker(script, { workerData: { ctl, slots, port: port2 }, transferList: [port2] });
    } catch (e) {
      port1.close();
      return { open: () => Promise.reject(e), stop: () => {} };
    }
    const early = earlyFailure(worker);
    const stop = (): void => {
      port1.close();
      void worker.terminate();
    };
    return {
      open: async (file, maxPageCount) => {
        const failed = early.failure();
        if (failed) {
          stop();
          throw failed;
        }
        worker.postMessage({ t: 'open', file, maxPageCount });
        try {
          await ready(worker);
        } catch (e) {
          stop();
          throw e;
        }
        // from here an error in the worker is a bug, and ends the process as it would without these
        early.detach();
        worker.unref();
        port1.unref();
        return new WorkerBackend(worker, slots, ctl, port1);
      },
      stop,
    };
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
  committedHash(): number {
    return Atomics.load(this.ctl, CTL_HASH) >>> 0;
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

/** A writer worker started and not yet told which file to open. */
export interface BootingWorker {
  /** Open `file` in the worker; resolves once its connection is open, rejects with its error. */
  open(file: string, maxPageCount: number | undefined): Promise<WorkerBackend>;
  /** Stop it without opening anything (the recorder refused the file). */
  stop(): void;
}

/**
 * Keep what stops a worker before it is asked to open (its script failed to load, say): an
 * 'error' event with no listener would otherwise end the process while the recorder is still
 * checking the file.
 */
function earlyFailure(worker: Worker): { failure(): Error | undefined; detach(): void } {
  let failure: Error | undefined;
  const onErr = (e: Error): void => {
    failure = e;
  };
  const onExit = (c: number): void => {
    failure ??= exitedBeforeReady(c);
  };
  worker.on('error', onErr);
  worker.on('exit', onExit);
  return {
    failure: () => failure,
    detach: () => {
      worker.off('error', onErr);
      worker.off('exit', onExit);
    },
  };
}

function exitedBeforeReady(code: number): Error {
  return new Error(`writer worker exited (${code}) before it was ready`);
}

/** Resolve once the worker says it has opened its connection; reject with its error. */
function ready(worker: Worker): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onMsg = (m: { t: string; message?: string; code?: string }): void => {
      worker.off('message', onMsg);
      worker.off('error', onErr);
      worker.off('exit', onExit);
      if (m.t === 'ready') resolve();
      else reject(Object.assign(new Error(m.message ?? 'writer worker failed'), { code: m.code }));
    };
    const onErr = (e: Error): void => reject(e);
    const onExit = (c: number): void => reject(exitedBeforeReady(c));
    worker.on('message', onMsg);
    worker.once('error', onErr);
    worker.once('exit', onExit);
  });
}

/**
 * The worker, started with node's options as its parent was. A worker inherits them by default,
 * but --input-type (a `node -e` script's) is refused for a file, so then the options are given
 * without it; and a list given is checked more strictly than an inherited one: V8's options
 * (`node --trace-gc`, `--max-semi-space-size`) are refused in it. Those apply to every thread of
 * the process anyway, so when the list is refused the worker starts with none.
 */
function startWorker(script: URL, opts: WorkerOptions): Worker {
  const argv = withoutInputType(process.execArgv);
  if (argv.length === process.execArgv.length) return new Worker(script, opts);
  try {
    return new Worker(script, { ...opts, execArgv: argv });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(script, { ...opts, execArgv: [] });
  }
}

function withoutInputType(argv: readonly string[]): string[] {
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
