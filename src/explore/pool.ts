/**
 * Runs explore's jobs on worker threads, or on this thread when there is one worker or the worker
 * module is not there (running from TypeScript sources). Jobs are handed out as workers free up;
 * results come back per job, which the caller orders by index.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MmtraceError, type ErrorCode } from '../errors.js';
import { runJob, type Job, type UnitResult } from './jobs.js';

/** What a worker posts back: a job's results, an MmtraceError as its parts, or another error's stack. */
type WorkerReply =
  | { results: UnitResult[] }
  | { mmtrace: { code: ErrorCode; message: string; exitCode: 1 | 2 } }
  | { error: string };

export interface Pool {
  run(job: Job): Promise<UnitResult[]>;
  close(): Promise<void>;
  readonly threads: number;
}

class InlinePool implements Pool {
  readonly threads = 1;
  async run(job: Job): Promise<UnitResult[]> {
    return runJob(job);
  }
  async close(): Promise<void> {}
}

class WorkerPool implements Pool {
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];

  constructor(private readonly workers: Worker[]) {
    this.idle.push(...workers);
  }

  get threads(): number {
    return this.workers.length;
  }

  async run(job: Job): Promise<UnitResult[]> {
    const worker = await this.take();
    try {
      return await new Promise<UnitResult[]>((resolve, reject) => {
        const onExit = (code: number) => reject(new Error(`an explore worker exited (code ${code})`));
        worker.once('exit', onExit);
        worker.once('message', (m: WorkerReply) => {
          worker.off('exit', onExit);
          if ('mmtrace' in m) reject(new MmtraceError(m.mmtrace.code, m.mmtrace.message, { exitCode: m.mmtrace.exitCode }));
          else if ('error' in m) reject(new Error(m.error));
          else resolve(m.results);
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
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }
}

export function startPool(threads: number): Pool {
  const entry = new URL('./worker.js', import.meta.url);
  if (threads <= 1 || entry.protocol !== 'file:' || !existsSync(fileURLToPath(entry))) return new InlinePool();
  // A roomier young generation than a worker gets by default: each schedule allocates a kernel afresh.
  return new WorkerPool(Array.from({ length: threads }, () => new Worker(entry, { resourceLimits: { maxYoungGenerationSizeMb: 64 } })));
}
