/**
 * One run's pass of a diff: the facts of the semantic diff and the per-task token streams of the
 * alignment, from one read of its log. A diff needs one pass per run and the two are independent,
 * so for large runs the second runs in a worker thread while the calling thread does the first:
 * reading the log (better-sqlite3 turning rows into arrays) is most of a pass and cannot be made
 * much cheaper on one thread. The hand-off is by the worker's events, so a worker that dies (out of
 * memory, a crash) is noticed at once and the pass is done on this thread instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RunInfo, Trace } from '../trace/reader.js';
import { Interner, StreamBuilder, type TokenStream } from './tokens.js';
import { readRun } from '../reduce/read-run.js';
import { VmaMap } from '../reduce/vma-map.js';
import { collectFacts, type RunFacts } from './facts.js';

export interface RunPass {
  facts: RunFacts;
  streams: Map<string, TokenStream>;
}

/** A run's pass on this thread, one read of its log; token texts go to `interner`; `onChunk` as readRun's. */
export function runPass(trace: Trace, run: RunInfo, interner: Interner, onChunk?: (rowsRead: number) => void): RunPass {
  const vmas = new VmaMap();
  const facts = collectFacts(trace, run, vmas);
  const builder = new StreamBuilder(trace, run, interner, vmas);
  readRun(trace, run, [...facts.reducers(), builder], { onChunk });
  return { facts: facts.finish(), streams: builder.streams() };
}

/** Below this many events a worker's start-up (~100 ms of module loading) costs more than it saves. */
export const WORKER_MIN_EVENTS = 200_000;

/** What the worker posts: its pass with token ids of its own interner, and that interner's texts. */
export type WorkerReply = { pass: RunPass; texts: string[] } | { error: string };

/** What the worker is started with. */
export interface WorkerInput {
  file: string;
  run: RunInfo;
}

/** A pass under way in a worker thread. */
export class PendingPass {
  /** The worker's reply; null if it failed or stopped without one. */
  private readonly reply: Promise<WorkerReply | null>;

  constructor(private readonly worker: Worker) {
    this.reply = new Promise((resolve) => {
      worker.once('message', (m: WorkerReply) => resolve(m));
      worker.once('error', () => resolve(null));
      // Messages are delivered before 'exit': an exit seen first means the worker died without one.
      worker.once('exit', () => resolve(null));
    });
  }

  /**
   * The worker's pass with token ids moved into `interner`, or null if the worker failed (the
   * caller then does the pass itself, so any error surfaces as without a worker).
   */
  async take(interner: Interner): Promise<RunPass | null> {
    const reply = await this.reply;
    void this.worker.terminate();
    if (!reply || 'error' in reply) return null;
    // The worker's token ids index its own texts; renumber them into the shared interner. Equal
    // texts get equal ids, which is all the alignment compares.
    const ids = Int32Array.from(reply.texts, (text) => interner.id(text));
    for (const s of reply.pass.streams.values()) {
      const tokens = s.tokens;
      for (let i = 0; i < tokens.length; i++) tokens[i] = ids[tokens[i]!]!;
    }
    return reply.pass;
  }
}

/**
 * Start `run`'s pass in a worker thread, or return null when it is not worth it (fewer than
 * `minEvents` events) or not possible (the worker's module is not there, e.g. when running from
 * TypeScript sources).
 */
export function startPass(trace: Trace, run: RunInfo, minEvents = WORKER_MIN_EVENTS): PendingPass | null {
  if (run.events < minEvents) return null;
  const entry = new URL('./pass-worker.js', import.meta.url);
  if (entry.protocol !== 'file:' || !existsSync(fileURLToPath(entry))) return null;
  const input: WorkerInput = { file: trace.file, run };
  return new PendingPass(new Worker(entry, { workerData: input }));
}
