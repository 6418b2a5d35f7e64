/**
 * Aligned event streams: where two runs' events first diverge, task by task and request by request,
 * and the differing stretches as unified-diff hunks. The tokens come from tokens.ts, the edit
 * script from myers.ts, and each task's alignment and hunks from hunks.ts; this module pairs the
 * tasks of the two runs by name.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { alignTask, type Hunk, type RequestStreams, type TaskStreams } from './hunks.js';
import { MAX_EDITS } from './myers.js';
import { Interner, tokenStreams, type TokenStream } from './tokens.js';

export interface Alignment {
  tasks: TaskStreams[];
  /** Every request whose events differ between the runs, in task order. */
  requests: RequestStreams[];
  hunks: Hunk[];
}

const EMPTY: TokenStream = { tokens: new Int32Array(0), seqs: new Int32Array(0), requests: [] };

/** Align every task of two runs (tasks matched by name; a task in one run only is all inserts or deletes). */
export function alignRuns(traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, maxD = MAX_EDITS): Alignment {
  const interner = new Interner();
  return alignStreams(tokenStreams(traceA, runA, interner), tokenStreams(traceB, runB, interner), interner, maxD);
}

/** Align two runs' token streams (built with one interner), task by task. */
export function alignStreams(a: Map<string, TokenStream>, b: Map<string, TokenStream>, interner: Interner, maxD = MAX_EDITS): Alignment {
  const tasks: TaskStreams[] = [];
  const requests: RequestStreams[] = [];
  const hunks: Hunk[] = [];
  for (const task of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const r = alignTask(task, a.get(task) ?? EMPTY, b.get(task) ?? EMPTY, interner.texts, maxD);
    tasks.push(r.streams);
    requests.push(...r.requests);
    hunks.push(...r.hunks);
  }
  return { tasks, requests, hunks };
}
