/**
 * Aligned event streams (issue 5, item 6): where two runs' events first diverge, task by task and
 * request by request, and the differing stretches as unified-diff hunks.
 *
 * Events are compared as symbolic tokens: the kind name and the arguments that mean the same thing
 * in both runs (a lock class, a VMA by its range, a page-table level, a request number, a lock mode).
 * Seqs, ticks, folio ids, pfns and object ids are left out: the paths allocate in another order, so
 * those differ between runs even when the tasks did the same thing.
 *
 * Cost: one streaming pass per run; per task two growable Int32Arrays (token ids and seqs) plus one
 * for the request in flight; token texts are interned once. A task's stream is cut at its requests
 * and each request is aligned with the same request of the other run. Each stretch's common prefix
 * and suffix are stripped, then Myers' O((N+M)·D) diff runs on the middle, with a cap on the task's
 * total D, so similar runs align in linear time and very different ones stop at the cap instead of
 * going quadratic.
 */
import type { RunInfo, Trace } from '../trace/reader.js';
import { requestId } from '../trace/request-log.js';

/** Edits per task beyond which the streams are reported as diverging instead of aligned. */
export const MAX_EDITS = 2000;
/** Lines of context around each hunk, as `diff -u`. */
export const CONTEXT = 3;

/** Fields whose value is symbolic across runs (besides name fields and VMAs). */
const SYMBOLIC_FIELDS = new Set(['level', 'req', 'mode', 'write']);
/** Fields that hold a VMA id: shown as the VMA's range instead. */
const VMA_FIELD = 'vma';

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

export interface Alignment {
  tasks: TaskStreams[];
  /** Every request whose events differ between the runs, in task order. */
  requests: RequestStreams[];
  hunks: Hunk[];
}

// --- token streams --------------------------------------------------------------------------------

/** An append-only Int32 list (typed storage: a million events stay a few megabytes). */
class IntList {
  data = new Int32Array(1024);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }

  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Token texts to small integers, shared by both runs so that equal texts get equal ids. */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly texts: string[] = [];

  id(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.ids.set(text, id);
      this.texts.push(text);
    }
    return id;
  }
}

/** One task's events as token ids, with their seqs and the request in flight (-1: none). */
export interface TokenStream {
  tokens: Int32Array;
  seqs: Int32Array;
  requests: Int32Array;
}

/** How to print one kind symbolically: its name and, per field slot, how to render the value. */
interface KindFormat {
  name: string;
  slots: { field: string; render: 'name' | 'vma' | 'value' }[];
}

function kindFormats(trace: Trace): Map<number, KindFormat> {
  const out = new Map<number, KindFormat>();
  for (const k of trace.kinds()) {
    const slots: KindFormat['slots'] = [];
    k.fields.forEach((field, i) => {
      if (!field) return;
      const render = k.names.includes(field) ? 'name' : field === VMA_FIELD ? 'vma' : SYMBOLIC_FIELDS.has(field) ? 'value' : null;
      if (render) slots[i] = { field, render };
    });
    out.set(k.kind, { name: k.name, slots });
  }
  return out;
}

/**
 * Task names made unique per run: tasks are matched across runs by name, and a name used by two
 * tasks of one run gets `#2`, `#3` in tid order (the workload spawns them in the same order).
 */
function taskKeys(trace: Trace, run: RunInfo): Map<number, string> {
  const seen = new Map<string, number>();
  const out = new Map<number, string>();
  for (const t of trace.tasks(run.id)) {
    const n = (seen.get(t.name) ?? 0) + 1;
    seen.set(t.name, n);
    out.set(t.tid, n === 1 ? t.name : `${t.name}#${n}`);
  }
  return out;
}

/** Up to two symbolic values below this bound pack into one numeric cache key with the kind. */
const KEY_VALUE_LIMIT = 2 ** 21;

/**
 * Token ids of one run's events. Most events repeat (the same call, lock class, level), so the
 * symbolic values are packed into a numeric key and the token text is built only the first time.
 * VMAs enter the key by the id of their range text, since one VMA id can cover several ranges.
 */
class Tokenizer {
  private readonly cache = new Map<number, number>();
  private readonly ranges = new Interner();
  /** VMA id -> range id, kept current from vma_create / vma_mark_attached / vma_adjust. */
  private readonly vmaRange = new Map<number, number>();
  private readonly values = [0, 0, 0, 0];

  constructor(
    private readonly formats: Map<number, KindFormat>,
    private readonly names: readonly string[],
    private readonly interner: Interner,
  ) {}

  /** Track VMA ranges (the VMA's identity across runs). */
  observe(kindName: string, a: number, b: number, c: number, d: number): void {
    const hex = (n: number) => n.toString(16);
    if (kindName === 'vma_create') this.vmaRange.set(a, this.ranges.id(`${hex(c)}-${hex(d)}`));
    else if (kindName === 'vma_mark_attached' || kindName === 'vma_adjust') this.vmaRange.set(a, this.ranges.id(`${hex(b)}-${hex(c)}`));
  }

  token(kind: number, a: number, b: number, c: number, d: number): number {
    const f = this.formats.get(kind);
    if (!f) return this.interner.id(`kind${kind}`);
    const v = this.values;
    v[0] = a; v[1] = b; v[2] = c; v[3] = d;
    let key = kind;
    let scale = 256;
    let packed = 0;
    for (let i = 0; i < 4; i++) {
      const s = f.slots[i];
      if (!s) continue;
      const x = s.render === 'vma' ? this.vmaRange.get(v[i]!) ?? -1 : v[i]!;
      v[i] = x;
      if (x < -1 || x >= KEY_VALUE_LIMIT || ++packed > 2) return this.interner.id(this.text(f, v));
      key += (x + 1) * scale;
      scale *= KEY_VALUE_LIMIT + 1;
    }
    let id = this.cache.get(key);
    if (id === undefined) this.cache.set(key, (id = this.interner.id(this.text(f, v))));
    return id;
  }

  /** The token text: kind name and symbolic fields (VMA slots already hold range ids). */
  private text(f: KindFormat, v: number[]): string {
    let text = f.name;
    for (let i = 0; i < 4; i++) {
      const s = f.slots[i];
      if (!s) continue;
      const x = v[i]!;
      const shown = s.render === 'name' ? this.names[x] ?? `#${x}` : s.render === 'vma' ? this.ranges.texts[x] ?? '?' : String(x);
      text += ` ${s.field}=${shown}`;
    }
    return text;
  }
}

/** One task's growing streams: token ids, seqs, and the request in flight at each event. */
interface TaskLists {
  tokens: IntList;
  seqs: IntList;
  requests: IntList;
  /** The task's request in flight now (-1: none). */
  request: number;
}

/**
 * Builds one run's per-task token streams from its events, fed one row at a time, so that the pass
 * which gathers the diff's facts can feed it from the same read of the log.
 */
export class StreamBuilder {
  private readonly tokenizer: Tokenizer;
  private readonly taskOf: Map<number, string>;
  /** Per kind number, the name of the kinds add() must act on besides tokenising (vma_*, request_*). */
  private readonly special: (string | undefined)[] = [];
  private readonly lists = new Map<number, TaskLists>();
  /** The last row's task and its lists: a task runs for many events in a row, so this saves a lookup. */
  private lastTid = -1;
  private last: TaskLists | undefined;

  constructor(trace: Trace, run: RunInfo, interner: Interner) {
    const formats = kindFormats(trace);
    this.tokenizer = new Tokenizer(formats, trace.names(run.id), interner);
    this.taskOf = taskKeys(trace, run);
    for (const [k, f] of formats) {
      if (f.name.startsWith('vma_') || f.name === 'request_begin' || f.name === 'request_end') this.special[k] = f.name;
    }
  }

  private listsOf(tid: number): TaskLists {
    if (tid === this.lastTid) return this.last!;
    let l = this.lists.get(tid);
    if (!l) this.lists.set(tid, (l = { tokens: new IntList(), seqs: new IntList(), requests: new IntList(), request: -1 }));
    this.lastTid = tid;
    this.last = l;
    return l;
  }

  add(row: readonly [number, number, number, number, number, number, number, number, ...unknown[]]): void {
    // Indexed reads, not destructuring: this runs once per event of the run.
    const seq = row[0], tid = row[2], kind = row[3], a = row[4], b = row[5], c = row[6], d = row[7];
    const l = this.listsOf(tid);
    // Most rows are of no special kind: one array load decides, no name lookup per row.
    const kindName = this.special[kind];
    if (kindName !== undefined) {
      if (kindName === 'request_begin') l.request = a ?? -1;
      else if (kindName !== 'request_end') this.tokenizer.observe(kindName, a, b, c, d);
    }
    l.tokens.push(this.tokenizer.token(kind, a, b, c, d));
    l.seqs.push(seq);
    l.requests.push(l.request);
    if (kindName === 'request_end') l.request = -1;
  }

  streams(): Map<string, TokenStream> {
    const out = new Map<string, TokenStream>();
    for (const [tid, l] of this.lists) {
      out.set(this.taskOf.get(tid) ?? `tid${tid}`, { tokens: l.tokens.view(), seqs: l.seqs.view(), requests: l.requests.view() });
    }
    return out;
  }
}

/** Stream one run's events into per-task token streams (a read of its own). */
export function tokenStreams(trace: Trace, run: RunInfo, interner: Interner): Map<string, TokenStream> {
  const builder = new StreamBuilder(trace, run, interner);
  for (const chunk of trace.eventChunks(run.id)) for (const row of chunk) builder.add(row);
  return builder.streams();
}

// --- alignment ------------------------------------------------------------------------------------

/** One edit: delete a[ai] (op '-') or insert b[bj] (op '+'); the other index is where it happens. */
export interface Edit {
  op: '-' | '+';
  ai: number;
  bj: number;
}

type Seq = ArrayLike<number>;

/**
 * Myers' greedy shortest edit script of a[aLo, aHi) against b[bLo, bHi), in order. Returns null
 * when it needs more than maxD edits. Keeps the frontier of every step d (O(D²) memory) to walk the
 * path back.
 */
export function myers(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number, maxD: number): Edit[] | null {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const max = Math.min(n + m, maxD);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
      let x = down ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return backtrack(trace, n, m, aLo, bLo);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

/** Walk the saved frontiers back from (n, m) to (0, 0), collecting the edits. */
function backtrack(trace: Int32Array[], n: number, m: number, aLo: number, bLo: number): Edit[] {
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1]!;
    // prev holds diagonals -(d-1)..(d-1) at indexes 0..2d-2
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    if (down) edits.push({ op: '+', ai: aLo + prevX, bj: bLo + prevY });
    else edits.push({ op: '-', ai: aLo + prevX, bj: bLo + prevY });
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/**
 * A lower bound on the edits turning a[aLo, aHi) into b[bLo, bHi): every surplus occurrence of a
 * token on one side must be deleted or inserted, so at least the sum over tokens of the difference
 * of their counts. Linear, where Myers needs O((N+M)·maxD) to find out it exceeds maxD.
 */
export function editsLowerBound(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number {
  const vocabulary = smallIdsBound(a, aLo, aHi, b, bLo, bHi);
  let bound = 0;
  if (vocabulary !== null) {
    // Token ids (small non-negative integers): count in a typed array, no hashing per token.
    const counts = new Int32Array(vocabulary);
    for (let i = aLo; i < aHi; i++) counts[a[i]!]!++;
    for (let j = bLo; j < bHi; j++) counts[b[j]!]!--;
    for (let t = 0; t < vocabulary; t++) bound += Math.abs(counts[t]!);
  } else {
    const counts = new Map<number, number>();
    for (let i = aLo; i < aHi; i++) counts.set(a[i]!, (counts.get(a[i]!) ?? 0) + 1);
    for (let j = bLo; j < bHi; j++) counts.set(b[j]!, (counts.get(b[j]!) ?? 0) - 1);
    for (const n of counts.values()) bound += Math.abs(n);
  }
  return bound;
}

/** Largest value + 1 when every value is an integer in [0, 2^20), else null. */
function smallIdsBound(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number | null {
  let max = -1;
  for (const [s, lo, hi] of [[a, aLo, aHi], [b, bLo, bHi]] as const) {
    for (let i = lo; i < hi; i++) {
      const x = s[i]!;
      if (!(x >= 0 && x < 2 ** 20 && Number.isInteger(x))) return null;
      if (x > max) max = x;
    }
  }
  return max + 1;
}

/** The edits turning a into b (prefix and suffix stripped, then Myers), or null beyond maxD edits. */
export function alignTokens(a: Seq, b: Seq, maxD = MAX_EDITS): Edit[] | null {
  return alignRange(a, 0, a.length, b, 0, b.length, maxD);
}

/** alignTokens on a[aLo, aHi) and b[bLo, bHi); edits carry indexes into the whole arrays. */
export function alignRange(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number, maxD: number): Edit[] | null {
  const prefix = commonPrefix(a, aLo, aHi, b, bLo, bHi);
  let suffix = 0;
  while (suffix < Math.min(aHi - aLo, bHi - bLo) - prefix && a[aHi - 1 - suffix] === b[bHi - 1 - suffix]) suffix++;
  const [aFrom, bFrom, aTo, bTo] = [aLo + prefix, bLo + prefix, aHi - suffix, bHi - suffix];
  // Runs of two paths mostly differ by far more than maxD: skip Myers when the counts already say so.
  if (editsLowerBound(a, aFrom, aTo, b, bFrom, bTo) > maxD) return null;
  return myers(a, aFrom, aTo, b, bFrom, bTo, maxD);
}

function commonPrefix(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number {
  const limit = Math.min(aHi - aLo, bHi - bLo);
  let n = 0;
  while (n < limit && a[aLo + n] === b[bLo + n]) n++;
  return n;
}

// --- hunks ----------------------------------------------------------------------------------------

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

function requestLabel(task: string, s: TokenStream, i: number): string | null {
  const r = i < s.requests.length ? s.requests[i]! : -1;
  return r >= 0 ? requestOf(task, r) : null;
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
  const n = s.tokens.length;
  let lastRequest = -1;
  for (let i = 0; i < n;) {
    const r = s.requests[i]!;
    let j = i + 1;
    while (j < n && s.requests[j] === r) j++;
    out.push({ key: r >= 0 ? 2 * r : 2 * lastRequest + 1, lo: i, hi: j });
    if (r >= 0) lastRequest = r;
    i = j;
  }
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

const EMPTY: TokenStream = { tokens: new Int32Array(0), seqs: new Int32Array(0), requests: new Int32Array(0) };

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
