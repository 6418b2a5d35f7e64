/**
 * Worker thread entry of a diff's second pass (see pass.ts): opens the trace file itself, does the
 * run's pass and posts it back, or posts the error. A worker that dies without posting is seen by
 * its 'exit' event.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openRunRef, openTrace, type RunInfo, type Trace } from '../trace/reader.js';
import { Interner } from './tokens.js';
import { runPass, type RunPass } from './pass.js';
import type { WorkerInput, WorkerReply } from './pass-start.js';

const input = workerData as WorkerInput;

async function open(): Promise<{ trace: Trace; run: RunInfo }> {
  if ('ref' in input) return openRunRef(input.ref);
  return { trace: await openTrace(input.file), run: input.run };
}

try {
  const { trace, run } = await open();
  try {
    const interner = new Interner();
    const pass = runPass(trace, run, interner);
    const reply: WorkerReply<RunPass> = { pass, texts: interner.texts, run: run.id };
    // The token streams are the bulk of the reply: move their buffers instead of copying them.
    const buffers = new Set<ArrayBuffer>();
    for (const s of pass.streams.values()) for (const a of [s.tokens, s.seqs]) buffers.add(a.buffer as ArrayBuffer);
    parentPort!.postMessage(reply, [...buffers]);
  } finally {
    trace.close();
  }
} catch (e) {
  parentPort!.postMessage({ error: String(e) } satisfies WorkerReply);
}
