/**
 * A diff pass in a worker thread (see pass.ts): starting it and taking its result. Kept apart from
 * pass.ts, and light (node built-ins only), so that the command can start the worker first and let
 * it boot while this thread loads the diff and opens the files.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RunInfo } from '../trace/reader.js';

/** Below this many events a worker's start-up (~100 ms of module loading) costs more than it saves. */
export const WORKER_MIN_EVENTS = 200_000;

/**
 * Run B's events from which a diff does its pass in a worker thread, on a machine of `cores`
 * cores: WORKER_MIN_EVENTS when a core is left for the worker besides this thread's pass and V8's
 * own threads (the collector and the optimizing compiler work beside each), else never. A worker
 * starts cold: it boots, loads the modules and compiles the pass afresh, about 1 s of CPU more
 * for a diff of two 1M-event runs than both passes on one thread, where the second pass runs code
 * the first made fast. On 2 cores that costs more than the overlap gains: in fresh processes on
 * the 2-core machine (load 5 to 6 from other work), both passes on one thread took 2.1 to 3.0 s
 * (1.8 to 2.4 s of CPU), with the worker 3.2 to 4.1 s (3.0 to 3.5 s of CPU).
 */
export function workerMinEventsFor(cores: number = availableParallelism()): number {
  return cores > 2 ? WORKER_MIN_EVENTS : Infinity;
}

/** The part of a pass (pass.ts's RunPass) whose token ids the taker renumbers. */
export interface TokenPass {
  streams: Map<string, { tokens: Int32Array }>;
}

/** What the worker posts: its pass with token ids of its own interner, that interner's texts, and the run it read. */
export type WorkerReply<P extends TokenPass = TokenPass> = { pass: P; texts: string[]; run: number } | { error: string };

/** What the worker is started with: a file and a run, or a FILE[#RUN] reference it resolves itself. */
export type WorkerInput = { file: string; run: RunInfo } | { ref: string };

/** A pass under way in a worker thread. */
export class PendingPass<P extends TokenPass = TokenPass> {
  /** The worker's reply; null if it failed or stopped without one. */
  private readonly reply: Promise<WorkerReply<P> | null>;

  constructor(private readonly worker: Worker) {
    this.reply = new Promise((resolve) => {
      worker.once('message', (m: WorkerReply<P>) => resolve(m));
      worker.once('error', () => resolve(null));
      // Messages are delivered before 'exit': an exit seen first means the worker died without one.
      worker.once('exit', () => resolve(null));
    });
  }

  /**
   * The worker's pass of run `runId`, with token ids moved into `interner`, or null if the worker
   * failed or read another run (the caller then does the pass itself, so any error surfaces as
   * without a worker).
   */
  async take(interner: { id(text: string): number }, runId: number): Promise<P | null> {
    const reply = await this.reply;
    void this.worker.terminate();
    if (!reply || 'error' in reply || reply.run !== runId) return null;
    // The worker's token ids index its own texts; renumber them into the shared interner. Equal
    // texts get equal ids, which is all the alignment compares.
    const ids = Int32Array.from(reply.texts, (text) => interner.id(text));
    for (const s of reply.pass.streams.values()) {
      const tokens = s.tokens;
      for (let i = 0; i < tokens.length; i++) tokens[i] = ids[tokens[i]!]!;
    }
    return reply.pass;
  }

  /** Not needed after all (a small run): stop the worker. */
  cancel(): void {
    void this.worker.terminate();
  }
}

function startWorker(input: WorkerInput): PendingPass | null {
  const entry = new URL('./pass-worker.js', import.meta.url);
  if (entry.protocol !== 'file:' || !existsSync(fileURLToPath(entry))) return null;
  return new PendingPass(new Worker(entry, { workerData: input }));
}

/**
 * Start `run`'s pass in a worker thread, or return null when it is not worth it (fewer than
 * `minEvents` events) or not possible (the worker's module is not there, e.g. when running from
 * TypeScript sources).
 */
export function startPass(file: string, run: RunInfo, minEvents = WORKER_MIN_EVENTS): PendingPass | null {
  return run.events < minEvents ? null : startWorker({ file, run });
}

/**
 * Start the pass of `ref` (FILE[#RUN]) before anything else is loaded or opened: the worker opens
 * the file and resolves the run itself. The caller takes it if the run turns out large enough, and
 * cancels it otherwise.
 */
export function startPassEarly(ref: string): PendingPass | null {
  return startWorker({ ref });
}
