/**
 * One run's pass of a diff: the facts of the semantic diff and the per-task token streams of the
 * alignment, from one read of its log. A diff needs one pass per run and the two are independent,
 * so for large runs the second runs in a worker thread while the calling thread does the first
 * (decoding the log is about a quarter of a pass, folding the facts and tokenizing the rest: both
 * scale with the events). The hand-off is by the worker's events, so a worker that dies (out of
 * memory, a crash) is noticed at once and the pass is done on this thread instead.
 */
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

