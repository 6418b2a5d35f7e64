/**
 * The alignment as side-by-side rows: what the tui's diff view pages, an event of run A beside the
 * event of run B the alignment matched it with, and an event of one run only beside a gap. Built
 * from the alignment itself (its tasks and their hunks), never aligned again.
 *
 * Rows go task by task in the alignment's order (tasks sorted by name, as `mmtrace diff` prints
 * them), a task's rows being its two streams as the alignment pairs them. What lets a row be found
 * without a row per event: outside its hunks a task's two streams are equal and advance in
 * lockstep. Every edit lies inside a hunk, a hunk's lines walk both streams from its aStart and
 * bStart (a context line steps both, a '-' line A's, a '+' line B's), and hunks do not overlap, so
 * from one hunk's end to the next hunk's start both streams advance by the same count. A task's
 * rows are then a few pieces: equal stretches (a row is the same offset into both streams), hunks
 * (a row is one of its lines), and the rest of a task the diff gave up aligning (its noted hunk,
 * whose lines hold only the first event of each side), drawn side by side unpaired.
 */
import type { Hunk, TaskStreams } from './hunks.js';

/**
 * ' ' matched events; '-' an event of A only (B's side is a gap); '+' an event of B only; '~' the
 * rest of a task the diff did not align: each side's events in order, not paired (a side that ran
 * out is a gap).
 */
export type RowOp = ' ' | '-' | '+' | '~';

export type RunSide = 'a' | 'b';

export interface AlignedRow {
  task: string;
  op: RowOp;
  /** The event's index in the task's stream of each run; null: a gap on that side. */
  a: number | null;
  b: number | null;
  /** Where each side is in its stream at this row: its event's index, or at a gap the index of its next event. */
  aAt: number;
  bAt: number;
}

/** Rows of one task from its row `row` on: equal events, a hunk's lines, or the unaligned rest. */
type Piece =
  | { kind: 'equal'; row: number; rows: number; a: number; b: number }
  | { kind: 'hunk'; row: number; rows: number; ops: RowOp[]; aAt: Int32Array; bAt: Int32Array; hunk: number }
  | { kind: 'apart'; row: number; rows: number; a: number; aLen: number; b: number; bLen: number; hunk: number };

interface TaskRows {
  task: string;
  /** The task's first row among all rows. */
  first: number;
  rows: number;
  pieces: Piece[];
}

/** A divergence (a hunk) and the row of its first changed event. */
export interface DivergenceRow {
  row: number;
  /** Index of the hunk in the alignment's hunks. */
  hunk: number;
}

/** A hunk's lines as rows: each line's op and where it is in each stream (AlignedRow's aAt, bAt). */
function hunkPiece(h: Hunk, hunk: number, row: number): Piece {
  const n = h.lines.length;
  const [aAt, bAt] = [new Int32Array(n), new Int32Array(n)];
  let [i, j] = [h.aStart, h.bStart];
  const ops = h.lines.map((l, k) => {
    aAt[k] = i;
    bAt[k] = j;
    if (l.op !== '+') i++;
    if (l.op !== '-') j++;
    return l.op;
  });
  if (i !== h.aStart + h.aLen || j !== h.bStart + h.bLen) {
    throw new Error(`hunk ${hunk} of task ${h.task}: its lines do not cover its ${h.aLen} and ${h.bLen} events`);
  }
  return { kind: 'hunk', row, rows: n, ops, aAt, bAt, hunk };
}

/** The rows of one task: the equal stretches between its hunks, checked to be lockstep. */
function taskPieces(t: TaskStreams, hunks: { h: Hunk; index: number }[]): { pieces: Piece[]; rows: number } {
  const pieces: Piece[] = [];
  let [a, b, row] = [0, 0, 0];
  const equalUpTo = (toA: number, toB: number) => {
    if (toA - a !== toB - b) throw new Error(`task ${t.task}: the streams do not advance in lockstep between hunks (${a}..${toA} vs ${b}..${toB})`);
    if (toA > a) pieces.push({ kind: 'equal', row, rows: toA - a, a, b });
    row += toA - a;
    [a, b] = [toA, toB];
  };
  for (const { h, index } of hunks) {
    equalUpTo(h.aStart, h.bStart);
    if (h.note === undefined) {
      const p = hunkPiece(h, index, row);
      pieces.push(p);
      row += p.rows;
    } else {
      // The noted hunk: its context lines are equal events, then both streams to their ends, unaligned.
      const context = h.lines.filter((l) => l.op === ' ').length;
      equalUpTo(h.aStart + context, h.bStart + context);
      const [aLen, bLen] = [h.aLen - context, h.bLen - context];
      pieces.push({ kind: 'apart', row, rows: Math.max(aLen, bLen), a, aLen, b, bLen, hunk: index });
      row += Math.max(aLen, bLen);
    }
    [a, b] = [h.aStart + h.aLen, h.bStart + h.bLen];
  }
  equalUpTo(t.aEvents, t.bEvents);
  return { pieces, rows: row };
}

function rowIn(p: Piece, k: number, task: string): AlignedRow {
  if (p.kind === 'equal') return { task, op: ' ', a: p.a + k, b: p.b + k, aAt: p.a + k, bAt: p.b + k };
  if (p.kind === 'hunk') {
    const [op, aAt, bAt] = [p.ops[k]!, p.aAt[k]!, p.bAt[k]!];
    return { task, op, a: op === '+' ? null : aAt, b: op === '-' ? null : bAt, aAt, bAt };
  }
  const [aAt, bAt] = [p.a + Math.min(k, p.aLen), p.b + Math.min(k, p.bLen)];
  return { task, op: '~', a: k < p.aLen ? aAt : null, b: k < p.bLen ? bAt : null, aAt, bAt };
}

/** The task's row holding event `index` of one side's stream within piece p, or undefined. */
function rowOfIndex(p: Piece, side: RunSide, index: number): number | undefined {
  if (p.kind === 'hunk') {
    const gap = side === 'a' ? '+' : '-';
    const at = side === 'a' ? p.aAt : p.bAt;
    for (let k = 0; k < p.rows; k++) if (at[k] === index && p.ops[k] !== gap) return p.row + k;
    return undefined;
  }
  const start = side === 'a' ? p.a : p.b;
  const len = p.kind === 'equal' ? p.rows : side === 'a' ? p.aLen : p.bLen;
  return index >= start && index < start + len ? p.row + index - start : undefined;
}

/** Index of the last element of a sorted list whose key is <= x (the list's first element's key is <= x). */
function lastAtOrBefore<T>(list: readonly T[], key: (t: T) => number, x: number): number {
  let [lo, hi] = [0, list.length - 1];
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (key(list[mid]!) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Every row of an alignment, addressed by index without being held: per task, a piece per hunk and
 * per equal stretch between hunks (at most 2·MAX_EDITS hunk lines per task, so memory follows the
 * differences, not the runs).
 */
export class AlignedRows {
  readonly count: number;
  /** The hunks, each at the row of its first changed event, in row order. */
  readonly divergences: DivergenceRow[];
  private readonly tasks: TaskRows[] = [];
  private readonly byName = new Map<string, TaskRows>();

  constructor(streams: readonly TaskStreams[], hunks: readonly Hunk[]) {
    let first = 0;
    for (const t of streams) {
      const own = hunks.flatMap((h, index) => (h.task === t.task ? [{ h, index }] : []));
      const { pieces, rows } = taskPieces(t, own);
      if (rows === 0) continue; // a task with no event in either run has no rows to find
      const task = { task: t.task, first, rows, pieces };
      this.tasks.push(task);
      this.byName.set(t.task, task);
      first += rows;
    }
    this.count = first;
    this.divergences = this.tasks.flatMap((t) => t.pieces.flatMap((p) => {
      if (p.kind === 'equal') return [];
      const changed = p.kind === 'hunk' ? p.ops.findIndex((op) => op !== ' ') : 0;
      return [{ row: t.first + p.row + Math.max(0, changed), hunk: p.hunk }];
    }));
  }

  /** Row `row` (0-based, < count). */
  at(row: number): AlignedRow {
    if (!(row >= 0 && row < this.count)) throw new RangeError(`row ${row} is not one of the ${this.count} aligned rows`);
    const t = this.tasks[lastAtOrBefore(this.tasks, (x) => x.first, row)]!;
    const inTask = row - t.first;
    const p = t.pieces[lastAtOrBefore(t.pieces, (x) => x.row, inTask)]!;
    return rowIn(p, inTask - p.row, t.task);
  }

  /** Rows [from, from + n), cut at the last row. */
  slice(from: number, n: number): AlignedRow[] {
    const out: AlignedRow[] = [];
    for (let r = Math.max(0, from); r < Math.min(this.count, from + n); r++) out.push(this.at(r));
    return out;
  }

  /** The row holding event `index` of `task`'s stream in one run, or undefined (no such event). */
  rowOf(side: RunSide, task: string, index: number): number | undefined {
    const t = this.byName.get(task);
    if (!t) return undefined;
    for (const p of t.pieces) {
      const r = rowOfIndex(p, side, index);
      if (r !== undefined) return t.first + r;
    }
    return undefined;
  }
}
