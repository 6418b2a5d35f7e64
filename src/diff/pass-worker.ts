/**
 * Worker thread entry of a diff's second pass (see pass.ts): opens the trace file itself, does the
 * run's pass and posts it back, or posts the error. A worker that dies without posting is seen by
 * its 'exit' event.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openTrace } from '../trace/reader.js';
import { Interner } from './tokens.js';
import { runPass, type WorkerInput, type WorkerReply } from './pass.js';

const { file, run } = workerData as WorkerInput;

try {
  const trace = await openTrace(file);
  try {
    const interner = new Interner();
    const pass = runPass(trace, run, interner);
    const reply: WorkerReply = { pass, texts: interner.texts };
    // The token streams are the bulk of the reply: move their buffers instead of copying them.
    const buffers = new Set<ArrayBuffer>();
    for (const s of pass.streams.values()) for (const a of [s.tokens, s.seqs, s.requests]) buffers.add(a.buffer as ArrayBuffer);
    parentPort!.postMessage(reply, [...buffers]);
  } finally {
    trace.close();
  }
} catch (e) {
  parentPort!.postMessage({ error: String(e) } satisfies WorkerReply);
}
