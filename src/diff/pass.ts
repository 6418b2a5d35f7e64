/**
 * One run's pass of a diff: the facts of the semantic diff and the per-task token streams of the
 * alignment, from one read of its log. A diff needs one pass per run and the two are independent,
 * so for large runs the second runs in a worker thread while the calling thread does the first:
 * reading the log (better-sqlite3 turning rows into arrays) is most of a pass and cannot be made
 * much cheaper on one thread. `diffTraces` stays synchronous: the caller blocks on the worker with
 * Atomics.wait once its own pass is done, and takes the result with receiveMessageOnPort.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { RunInfo, Trace } from '../trace/reader.js';
import { Interner, StreamBuilder, type TokenStream } from './align.js';
import { runFacts, type RunFacts } from './facts.js';

export interface RunPass {
  facts: RunFacts;
  streams: Map<string, TokenStream>;
}

/** A run's pass on this thread; token texts go to `interner`. */
export function runPass(trace: Trace, run: RunInfo, interner: Interner): RunPass {
  const builder = new StreamBuilder(trace, run, interner);
  const facts = runFacts(trace, run, (row) => builder.add(row));
  return { facts, streams: builder.streams() };
}

/** Below this many events a worker's start-up (~100 ms of module loading) costs more than it saves. */
export const WORKER_MIN_EVENTS = 200_000;

/** How long take() waits for the worker at most (a pass of 10M events takes well under a minute). */
const WORKER_TIMEOUT_MS = 10 * 60_000;

/** What the worker posts: its pass with token ids of its own interner, and that interner's texts. */
export type WorkerReply = { pass: RunPass; texts: string[] } | { error: string };

/** What the worker is started with. `done[0]` becomes 1 once the reply has been posted (or it failed). */
export interface WorkerInput {
  file: string;
  run: RunInfo;
  port: MessagePort;
  done: Int32Array;
}

/** A pass under way in a worker thread. */
export class PendingPass {
  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly done: Int32Array,
  ) {}

  /**
   * Wait for the worker and return its pass with token ids moved into `interner`, or null if the
   * worker failed (the caller then does the pass itself, so any error surfaces as without a worker).
   */
  take(interner: Interner): RunPass | null {
    // The worker always sets `done`, unless it could not even start its entry module; then, after
    // a bound no real pass comes near, the pass is done here instead of waiting forever.
    if (Atomics.wait(this.done, 0, 0, WORKER_TIMEOUT_MS) === 'timed-out') {
      void this.worker.terminate();
      return null;
    }
    const reply = receiveMessageOnPort(this.port)?.message as WorkerReply | undefined;
    this.port.close();
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
 * `minEvents` events) or not possible (the worker's module is not there, e.g. when running from TypeScript sources).
 */
export function startPass(trace: Trace, run: RunInfo, minEvents = WORKER_MIN_EVENTS): PendingPass | null {
  if (run.events < minEvents) return null;
  const entry = new URL('./pass-worker.js', import.meta.url);
  if (entry.protocol !== 'file:' || !existsSync(fileURLToPath(entry))) return null;
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const input: WorkerInput = { file: trace.file, run, port: port2, done };
  const worker = new Worker(entry, { workerData: input, transferList: [port2] });
  // A failure shows as a missing or error reply in take(); the event itself must not crash us.
  worker.on('error', () => {});
  worker.unref();
  return new PendingPass(worker, port1, done);
}
