/**
 * Worker thread entry of a diff's second pass (see pass.ts): opens the trace file itself, does the
 * run's pass and posts it back. Whatever happens, it sets `done` last, so the waiting thread never
 * waits forever: on exit too, and the modules doing the work are imported inside the try.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerInput, WorkerReply } from './pass.js';

const { file, run, port, done } = workerData as WorkerInput;

function finish(): void {
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}

process.on('exit', finish);

try {
  const { openTrace } = await import('../trace/reader.js');
  const { Interner } = await import('./align.js');
  const { runPass } = await import('./pass.js');
  const trace = await openTrace(file);
  try {
    const interner = new Interner();
    const pass = runPass(trace, run, interner);
    const reply: WorkerReply = { pass, texts: interner.texts };
    // The token streams are the bulk of the reply: move their buffers instead of copying them.
    const buffers = new Set<ArrayBuffer>();
    for (const s of pass.streams.values()) for (const a of [s.tokens, s.seqs, s.requests]) buffers.add(a.buffer as ArrayBuffer);
    port.postMessage(reply, [...buffers]);
  } finally {
    trace.close();
  }
} catch (e) {
  port.postMessage({ error: String(e) } satisfies WorkerReply);
} finally {
  port.close();
  finish();
}
