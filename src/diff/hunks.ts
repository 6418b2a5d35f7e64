/**
 * One task's two token streams aligned: cut at its requests, each request aligned with the same
 * request of the other run (common prefix and suffix stripped, Myers on the middle), and the
 * differing stretches grouped into unified-diff hunks with context.
 */
import { requestId } from '../trace/request-log.js';
import { alignRange, commonPrefix, MAX_EDITS, type Edit } from './myers.js';
import type { RequestSpan, TokenStream } from './tokens.js';

/** Lines of context around each hunk, as `diff -u`. */
export const CONTEXT = 3;

export interface StreamLine {
  op: ' ' | '-' | '+';
  text: string;
  seqA?: number;
  seqB?: number;
}

export interface Hunk {
  task: string;
  /** Index of the first line in the task's event stream (0-based) and line counts, per side. */
  aStart: number;
  aLen: number;
  bStart: number;
  bLen: number;
  /** The request in flight at the hunk's first change (`task:N`), when there is one. */
  request: string | null;
  /** Set when the alignment gave up: the rest of both streams is this one hunk. */
  note?: string;
  lines: StreamLine[];
}

export interface StreamEvent {
  seq: number;
  text: string;
}

export interface FirstDivergence {
  /** Index in the task's event stream where the two first differ. */
  index: number;
  /** The events there (null: that run's stream ended). */
  a: StreamEvent | null;
  b: StreamEvent | null;
}

export interface TaskStreams {
  task: string;
  aEvents: number;
  bEvents: number;
  /**
   * Edits (deleted + inserted events), minimal within each request and each stretch between
   * requests; null when they exceed MAX_EDITS (the rest of the task is then one noted hunk).
   */
  edits: number | null;
  firstDivergence: FirstDivergence | null;
}

/** One request's events in the two runs (a task does one request at a time: a stretch of its stream). */
export interface RequestStreams {
  request: string;
  aEvents: number;
  bEvents: number;
  /** Index within the request's events where the runs first differ; seqs are the runs' own. */
  firstDivergence: FirstDivergence | null;
}

/** Group edits into hunks: edits with at most 2·CONTEXT equal events between them share a hunk. */
function groupEdits(edits: Edit[]): Edit[][] {
  const groups: Edit[][] = [];
  let current: Edit[] = [];
  let endA = 0; // a index just after the last edit of the current group
  for (const e of edits) {
    if (current.length > 0 && e.ai - endA > 2 * CONTEXT) {
      groups.push(current);
      current = [];
    }
    current.push(e);
    endA = e.op === '-' ? e.ai + 1 : e.ai;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** A request's id; a task key's `#K` (the K-th task of that name) is not part of it. */
function requestOf(task: string, n: number): string {
  return requestId(task.replace(/#\d+$/, ''), n);
}

/** The request in flight at event i of a stream (`task:N`), null when none was. */
function requestLabel(task: string, s: TokenStream, i: number): string | null {
  const span = spanAt(s.requests, i);
  return span ? requestOf(task, span.req) : null;
}

/** The span holding index i, if any: a binary search of spans in stream order. */
function spanAt(spans: readonly RequestSpan[], i: number): RequestSpan | null {
  let [lo, hi] = [0, spans.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (spans[mid]!.hi <= i) lo = mid + 1;
    else hi = mid;
  }
  const span = spans[lo];
  return span && span.lo <= i ? span : null;
}

/** ceilA, ceilB: where trailing context must stop (a stretch left unaligned starts there). */
function buildHunk(task: string, group: Edit[], A: TokenStream, B: TokenStream, texts: string[], ceilA: number, ceilB: number): Hunk {
  const first = group[0]!;
  const before = Math.min(CONTEXT, first.ai, first.bj);
  let i = first.ai - before;
  let j = first.bj - before;
  const aStart = i;
  const bStart = j;
  const lines: StreamLine[] = [];
  const equal = () => {
    lines.push({ op: ' ', text: texts[A.tokens[i]!]!, seqA: A.seqs[i]!, seqB: B.seqs[j]! });
    i++;
    j++;
  };
  for (const e of group) {
    while (i < e.ai) equal();
    if (e.op === '-') {
      lines.push({ op: '-', text: texts[A.tokens[i]!]!, seqA: A.seqs[i]! });
      i++;
    } else {
      lines.push({ op: '+', text: texts[B.tokens[j]!]!, seqB: B.seqs[j]! });
      j++;
    }
  }
  for (let c = 0; c < CONTEXT && i < ceilA && j < ceilB; c++) equal();
  const changedA = first.op === '-' ? first.ai : -1;
  const request = changedA >= 0 ? requestLabel(task, A, changedA) : requestLabel(task, B, first.bj);
  return { task, aStart, aLen: i - aStart, bStart, bLen: j - bStart, request, lines };
}

/**
 * The single hunk of the rest of a task whose streams differ beyond maxD edits from a[ai] / b[bj] on,
 * with the equal events before (down to floorA / floorB, the end of the previous hunk) as context.
 */
function divergedHunk(task: string, ai: number, bj: number, A: TokenStream, B: TokenStream, texts: string[], floorA: number, floorB: number, maxD: number): Hunk {
  let before = 0;
  while (before < CONTEXT && ai - before > floorA && bj - before > floorB && A.tokens[ai - before - 1] === B.tokens[bj - before - 1]) before++;
  const lines: StreamLine[] = [];
  for (let k = before; k > 0; k--) lines.push({ op: ' ', text: texts[A.tokens[ai - k]!]!, seqA: A.seqs[ai - k]!, seqB: B.seqs[bj - k]! });
  if (ai < A.tokens.length) lines.push({ op: '-', text: texts[A.tokens[ai]!]!, seqA: A.seqs[ai]! });
  if (bj < B.tokens.length) lines.push({ op: '+', text: texts[B.tokens[bj]!]!, seqB: B.seqs[bj]! });
  return {
    task, aStart: ai - before, aLen: A.tokens.length - ai + before, bStart: bj - before, bLen: B.tokens.length - bj + before,
    request: requestLabel(task, A, ai) ?? requestLabel(task, B, bj),
    note: `streams diverge too much to align beyond event ${ai}: the task's edits would exceed ${maxD}`,
    lines,
  };
}

// --- segments: a task's stream cut at its requests ---------------------------------------------

/**
 * A stretch of a task's stream: one request's events, or the events between two requests. `key`
 * orders and matches them across runs: 2N for request N, 2N+1 for the stretch after it, -1 before
 * the first request.
 */
interface Segment {
  key: number;
  lo: number;
  hi: number;
}

function segments(s: TokenStream): Segment[] {
  const out: Segment[] = [];
  let [pos, lastRequest] = [0, -1];
  const between = (hi: number) => {
    if (hi > pos) out.push({ key: 2 * lastRequest + 1, lo: pos, hi });
  };
  for (const span of s.requests) {
    between(span.lo);
    out.push({ key: 2 * span.req, lo: span.lo, hi: span.hi });
    [pos, lastRequest] = [span.hi, span.req];
  }
  between(s.tokens.length);
  return out;
}

/** The two runs' segments matched by key, in order; a segment in one run only faces an empty range. */
function pairSegments(A: TokenStream, B: TokenStream): [Segment, Segment][] {
  const [sa, sb] = [segments(A), segments(B)];
  const pairs: [Segment, Segment][] = [];
  let [i, j, aPos, bPos] = [0, 0, 0, 0];
  while (i < sa.length || j < sb.length) {
    const ka = i < sa.length ? sa[i]!.key : Infinity;
    const kb = j < sb.length ? sb[j]!.key : Infinity;
    const x = ka <= kb ? sa[i++]! : { key: kb, lo: aPos, hi: aPos };
    const y = kb <= ka ? sb[j++]! : { key: ka, lo: bPos, hi: bPos };
    pairs.push([x, y]);
    [aPos, bPos] = [x.hi, y.hi];
  }
  return pairs;
}

function streamEvent(s: TokenStream, i: number, texts: string[]): StreamEvent | null {
  return i < s.tokens.length ? { seq: s.seqs[i]!, text: texts[s.tokens[i]!]! } : null;
}

/**
 * Align one task's two streams: its summary, its requests that differ, and its hunks. The streams
 * are aligned request by request (and stretch by stretch between requests), matched by request
 * number: a request's events are compared with the same request's, never with another's, and the
 * edit budget (maxD for the task) is spent in stream order, so the requests before a wildly
 * different one still get their hunks.
 */
export function alignTask(task: string, A: TokenStream, B: TokenStream, texts: string[], maxD = MAX_EDITS): { streams: TaskStreams; requests: RequestStreams[]; hunks: Hunk[] } {
  const prefix = commonPrefix(A.tokens, 0, A.tokens.length, B.tokens, 0, B.tokens.length);
  const same = prefix === A.tokens.length && prefix === B.tokens.length;
  const firstDivergence = same ? null : { index: prefix, a: streamEvent(A, prefix, texts), b: streamEvent(B, prefix, texts) };
  const requests: RequestStreams[] = [];
  const edits: Edit[] = [];
  let diverged: [number, number] | null = null;
  if (!same) {
    for (const [x, y] of pairSegments(A, B)) {
      const common = commonPrefix(A.tokens, x.lo, x.hi, B.tokens, y.lo, y.hi);
      const equal = common === x.hi - x.lo && common === y.hi - y.lo;
      if (x.key >= 0 && x.key % 2 === 0 && !equal) requests.push(requestStreams(task, x.key / 2, A, x, B, y, common, texts));
      if (equal || diverged) continue;
      const more = alignRange(A.tokens, x.lo, x.hi, B.tokens, y.lo, y.hi, maxD - edits.length);
      if (more === null) diverged = [x.lo + common, y.lo + common];
      else edits.push(...more);
    }
  }
  const [ceilA, ceilB] = diverged ?? [A.tokens.length, B.tokens.length];
  const hunks = groupEdits(edits).map((g) => buildHunk(task, g, A, B, texts, ceilA, ceilB));
  if (diverged) {
    const last = hunks.at(-1);
    const [floorA, floorB] = last ? [last.aStart + last.aLen, last.bStart + last.bLen] : [0, 0];
    hunks.push(divergedHunk(task, diverged[0], diverged[1], A, B, texts, floorA, floorB, maxD));
  }
  return {
    streams: { task, aEvents: A.tokens.length, bEvents: B.tokens.length, edits: diverged ? null : edits.length, firstDivergence },
    requests,
    hunks,
  };
}

function requestStreams(task: string, n: number, A: TokenStream, x: Segment, B: TokenStream, y: Segment, common: number, texts: string[]): RequestStreams {
  const at = (s: TokenStream, seg: Segment) => (seg.lo + common < seg.hi ? streamEvent(s, seg.lo + common, texts) : null);
  return {
    request: requestOf(task, n), aEvents: x.hi - x.lo, bEvents: y.hi - y.lo,
    firstDivergence: { index: common, a: at(A, x), b: at(B, y) },
  };
}
