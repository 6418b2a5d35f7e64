/**
 * Worker threads that run jobs of one kind: explore's search units, review's scenarios. Jobs are
 * handed out as workers free up; each result comes back for its job, and the caller orders them.
 * With one thread, or when the worker module is not there (running from TypeScript sources), the
 * jobs run on this thread instead; a pool may also share the work between this thread and workers.
 *
 * A worker entry is a module that calls serveJobs() with the same function the inline pool runs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker } from 'node:worker_threads';
import { isMmtraceError, MmtraceError, type ErrorCode } from '../errors.js';

/** What a worker posts back: a job's result, an MmtraceError as its parts, or another error's stack. */
type WorkerReply<R> =
  | { result: R }
  | { mmtrace: { code: ErrorCode; message: string; exitCode: 1 | 2 } }
  | { error: string };

export interface Pool<J, R> {
  run(job: J): Promise<R>;
  close(): Promise<void>;
  readonly threads: number;
}

class InlinePool<J, R> implements Pool<J, R> {
  readonly threads = 1;
  constructor(private readonly handle: (job: J) => Promise<R>) {}
  run(job: J): Promise<R> {
    return this.handle(job);
  }
  async close(): Promise<void> {}
}

class WorkerPool<J, R> implements Pool<J, R> {
  private readonly idle: Worker[] = [];
  private readonly waiting: { give: (w: Worker) => void; fail: (e: Error) => void }[] = [];
  /** Workers whose thread has exited (crashed, ran out of memory, or closed): never handed out again. */
  private readonly exited = new Set<Worker>();

  constructor(private readonly workers: Worker[]) {
    this.idle.push(...workers);
    for (const w of workers) w.once('exit', () => this.lose(w));
  }

  get threads(): number {
    return this.workers.length;
  }

  async run(job: J): Promise<R> {
    const worker = await this.take();
    try {
      return await new Promise<R>((resolve, reject) => {
        const onExit = (code: number) => reject(new Error(`a worker thread exited (code ${code})`));
        worker.once('exit', onExit);
        worker.once('message', (m: WorkerReply<R>) => {
          worker.off('exit', onExit);
          if ('mmtrace' in m) reject(new MmtraceError(m.mmtrace.code, m.mmtrace.message, { exitCode: m.mmtrace.exitCode }));
          else if ('error' in m) reject(new Error(m.error));
          else resolve(m.result);
        });
        worker.postMessage(job);
      });
    } finally {
      this.give(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private take(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    if (this.exited.size === this.workers.length) return Promise.reject(noWorkerLeft());
    return new Promise((give, fail) => this.waiting.push({ give, fail }));
  }

  private give(w: Worker): void {
    if (this.exited.has(w)) return;
    const next = this.waiting.shift();
    if (next) next.give(w);
    else this.idle.push(w);
  }

  /** A worker's thread has gone: it leaves the pool, and with the last one the jobs waiting fail. */
  private lose(w: Worker): void {
    this.exited.add(w);
    const at = this.idle.indexOf(w);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.exited.size < this.workers.length) return;
    for (const waiter of this.waiting.splice(0)) waiter.fail(noWorkerLeft());
  }
}

function noWorkerLeft(): Error {
  return new Error('every worker thread of the pool has exited');
}

/**
 * This thread and workers: a job goes to this thread when it is free, else to a worker. This thread
 * would otherwise only wait for the workers' replies. `here` must let those replies in while it
 * runs (explore's runs a unit at a time, with a turn of the event loop between units), or a worker
 * that finishes waits for this thread's whole job before it is given the next.
 */
class SharedPool<J, R> implements Pool<J, R> {
  private busy = false;

  constructor(private readonly workers: WorkerPool<J, R>, private readonly here: (job: J) => Promise<R>) {}

  get threads(): number {
    return this.workers.threads + 1;
  }

  async run(job: J): Promise<R> {
    if (this.busy) return this.workers.run(job);
    this.busy = true;
    try {
      return await this.here(job);
    } finally {
      this.busy = false;
    }
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}

export interface PoolOptions<J, R> {
  /**
   * Run jobs on this thread as well, with this handle, beside threads - 1 workers: one worker fewer
   * to start and warm up (see SharedPool for what the handle must do).
   */
  here?: (job: J) => Promise<R>;
}

/**
 * `threads` threads running `entry` (a module calling serveJobs(handle)): workers, or with
 * `opts.here` this thread and threads - 1 workers; or `handle` inline on this thread alone.
 */
export function startPool<J, R>(entry: URL, threads: number, handle: (job: J) => Promise<R>, opts: PoolOptions<J, R> = {}): Pool<J, R> {
  if (threads <= 1 || entry.protocol !== 'file:' || !existsSync(fileURLToPath(entry))) return new InlinePool(handle);
  const workers = (n: number) => new WorkerPool<J, R>(Array.from({ length: n }, () => startWorker(entry)));
  return opts.here === undefined ? workers(threads) : new SharedPool(workers(threads - 1), opts.here);
}

function startWorker(entry: URL): Worker {
  // A roomier young generation than a worker gets by default: each run allocates a kernel afresh.
  return new Worker(entry, { resourceLimits: { maxYoungGenerationSizeMb: 64 } });
}

/** The body of a worker entry: run each job it is sent and post its result back (or the error). */
export function serveJobs<J, R>(handle: (job: J) => Promise<R>): void {
  parentPort!.on('message', async (job: J) => {
    try {
      parentPort!.postMessage({ result: await handle(job) });
    } catch (e) {
      // A user's error (a module that fails) goes back as itself, to be told in one line.
      if (isMmtraceError(e)) parentPort!.postMessage({ mmtrace: { code: e.code, message: e.message, exitCode: e.exitCode } });
      else parentPort!.postMessage({ error: String((e as Error).stack ?? e) });
    }
  });
}
