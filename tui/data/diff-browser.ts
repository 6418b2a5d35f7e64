/**
 * The diff view's state: `mmtrace diff`'s report on two runs (verdict, findings, aligned event
 * streams) and its alignment as rows (src/diff/rows.ts): each row an event of run A beside the
 * event of run B the alignment matched it with, or an event of one run beside a gap. The rows go
 * task by task, as the alignment does (it aligns each task's events with the same task's), so a
 * column is its run's events task by task, not the run's interleaving; each event keeps its seq.
 *
 * The cursor is a row, shared by both columns: j/k, paging, g/G and `]`/`[` move it through the
 * rows. A Browser per run keeps each column's status line and prompts, and answers the keys that
 * find an event of its run (`:`, `/`, `n`, `w`, `r`, `o`, ...): the row holding the event it
 * found becomes the cursor, and the other column follows. Only the rows on screen are read.
 */
import { diffTracesForBrowsing, type BrowsableDiff, type DiffOptions, type DiffReport, type Finding } from '../../src/diff/diff.js';
import type { AlignedRow, RowOp, RunSide } from '../../src/diff/rows.js';
import { eventsOfRows, type StreamIndex } from '../../src/diff/stream-index.js';
import type { RunInfo, Trace } from '../../src/trace/reader.js';
import { Browser, type Key, type ListRow } from './browser.js';
import { RunSource, type EventLine } from './run-source.js';

export type DiffPanel = RunSide | 'findings';

export interface Divergence {
  task: string;
  request: string | null;
  /** The row of the hunk's first changed event. */
  row: number;
}

/** A row on screen: what the alignment says of it, and each side's event (null: a gap). */
export interface PairRow {
  row: number;
  task: string;
  op: RowOp;
  a: ListRow | null;
  b: ListRow | null;
}

/** The keys that move the cursor through the rows (the rest go to the focused column's Browser). */
type Move = 'down' | 'up' | 'pageDown' | 'pageUp' | 'first' | 'last';

function moveOf(input: string, key: Key): Move | null {
  if (input === 'j' || key.downArrow) return 'down';
  if (input === 'k' || key.upArrow) return 'up';
  if (key.pageDown || input === ' ' || (key.ctrl && input === 'f')) return 'pageDown';
  if (key.pageUp || input === 'b' || (key.ctrl && input === 'b')) return 'pageUp';
  if (input === 'g' || key.home) return 'first';
  if (input === 'G' || key.end) return 'last';
  return null;
}

/**
 * Call depth of one task's consecutive events (its stream, in order; null where the side has a
 * gap), as the run view draws it: a call_enter at its caller's depth, a call_exit at the depth it
 * returns to. `anchor`: an event's position and the task's stack depth after it (the state at the
 * cursor); without one, depths are relative, the least shown at 0.
 */
function streamDepths(kinds: (string | null)[], anchor: { at: number; after: number } | null): number[] {
  const delta = (k: string | null) => (k === 'call_enter' ? 1 : k === 'call_exit' ? -1 : 0);
  const before = new Array<number>(kinds.length).fill(0);
  const start = anchor?.at ?? 0;
  before[start] = anchor ? anchor.after - delta(kinds[start]!) : 0;
  for (let i = start + 1; i < kinds.length; i++) before[i] = before[i - 1]! + delta(kinds[i - 1]!);
  for (let i = start - 1; i >= 0; i--) before[i] = before[i + 1]! - delta(kinds[i]!);
  const shown = kinds.map((k, i) => before[i]! + (k === 'call_exit' ? -1 : 0));
  const least = anchor ? 0 : Math.min(0, ...shown.filter((_, i) => kinds[i] !== null));
  return shown.map((d) => Math.max(0, d - least));
}

/**
 * Where a column rests on a row: its event there, or at a gap its event before the gap in the task
 * (the task's first event when the gap is at its start).
 */
function restingIndex(row: AlignedRow, side: RunSide): number {
  const event = row[side];
  if (event !== null) return event;
  const next = side === 'a' ? row.aAt : row.bAt;
  return Math.max(0, next - 1);
}

/** A hunk's first changed row and its request, for `]` / `[`, in row order. */
function divergencesOf(d: BrowsableDiff): Divergence[] {
  const hunks = d.report.hunks ?? [];
  return d.rows.divergences.map((x) => ({ task: hunks[x.hunk]!.task, request: hunks[x.hunk]!.request, row: x.row }));
}

export class DiffBrowser {
  focus: DiffPanel = 'a';
  findingSelected = 0;
  divergence = -1;
  message = '';
  /** The row under the cursor, and the first row on screen. */
  cursor = 0;
  top = 0;
  readonly divergences: Divergence[];
  rows = 24;
  cols = 80;

  private constructor(readonly diff: BrowsableDiff, readonly a: Browser, readonly b: Browser) {
    this.divergences = divergencesOf(diff);
  }

  static async open(traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, rows: number, cols: number, opts: DiffOptions = {}): Promise<DiffBrowser> {
    const diff = await diffTracesForBrowsing(traceA, runA, traceB, runB, opts);
    const view = new DiffBrowser(diff, new Browser(new RunSource(traceA, runA)), new Browser(new RunSource(traceB, runB)));
    view.resize(rows, cols);
    view.moveTo(0);
    return view;
  }

  get report(): DiffReport {
    return this.diff.report;
  }

  /** Rows of the alignment. */
  get count(): number {
    return this.diff.rows.count;
  }

  /** Lines the findings pane takes: the verdict, then up to five findings. */
  get findingsRows(): number {
    return 1 + Math.min(5, Math.max(1, this.report.findings.length));
  }

  /** Rows of the two columns on screen: the frame fills the terminal (status, prompt, a header per column). */
  get listRows(): number {
    return Math.max(3, this.rows - 3 - this.findingsRows);
  }

  resize(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    for (const side of [this.a, this.b]) {
      side.resize(rows, Math.floor(cols / 2));
      side.layout = { ...side.layout, listRows: this.listRows };
    }
    this.reveal();
  }

  get focused(): Browser {
    return this.focus === 'b' ? this.b : this.a;
  }

  private browserOf(side: RunSide): Browser {
    return side === 'a' ? this.a : this.b;
  }

  private indexOf(side: RunSide): StreamIndex {
    return side === 'a' ? this.diff.a : this.diff.b;
  }

  verdictLine(): string {
    const r = this.report;
    const diffs = r.differences.length ? `: ${r.differences.join(', ')}` : '';
    const at = this.divergence >= 0 ? ` (at ${this.divergence + 1})` : '';
    return `${r.verdict.toUpperCase()}${diffs} | ${r.findings.length} findings, ${this.divergences.length} divergences${at} | row ${this.cursor + 1}/${this.count}`;
  }

  // --- the rows on screen -----------------------------------------------------------------------

  /** The page of rows on screen, each side's event read and spelt out. */
  page(): PairRow[] {
    const aligned = this.diff.rows.slice(this.top, this.listRows);
    const sides = (['a', 'b'] as const).map((side) => this.sideOfPage(aligned, side));
    return aligned.map((r, i) => ({ row: this.top + i, task: r.task, op: r.op, a: sides[0]![i]!, b: sides[1]![i]! }));
  }

  private sideOfPage(aligned: AlignedRow[], side: RunSide): (ListRow | null)[] {
    const browser = this.browserOf(side);
    const lines = eventsOfRows(aligned, side, this.indexOf(side)).map((e) => (e ? browser.source.line(e) : null));
    const depths = new Array<number>(lines.length).fill(0);
    // depths per task: a page can end one task's rows and start the next one's
    for (let from = 0; from < aligned.length;) {
      let to = from + 1;
      while (to < aligned.length && aligned[to]!.task === aligned[from]!.task) to++;
      const kinds = lines.slice(from, to).map((l) => l?.kind ?? null);
      streamDepths(kinds, this.depthAnchor(side, from, to, lines)).forEach((d, k) => (depths[from + k] = d));
      from = to;
    }
    return lines.map((l, i) => (l ? { ...l, depth: depths[i]!, marked: browser.marks.has(l.seq) } : null));
  }

  /**
   * The column's Browser's event (the cursor's, or at a gap the event before it), when it is in
   * rows [from, to) of the page: its task's stack depth after it, from the state there.
   */
  private depthAnchor(side: RunSide, from: number, to: number, lines: readonly (EventLine | null)[]): { at: number; after: number } | null {
    const browser = this.browserOf(side);
    const at = lines.findIndex((l, i) => i >= from && i < to && l?.seq === browser.cursor);
    if (at < 0) return null;
    const task = browser.stateAtCursor().doc.tasks.find((t) => t.tid === lines[at]!.tid);
    return task ? { at: at - from, after: task.stack.length } : null;
  }

  /** The row under the cursor, as the alignment has it. */
  cursorRow(): AlignedRow | null {
    return this.count > 0 ? this.diff.rows.at(this.cursor) : null;
  }

  // --- moving -----------------------------------------------------------------------------------

  /**
   * Put the cursor on `row` and each column's Browser on its event there: at a gap, on the side's
   * event before it in the task (or after it, at the task's start). `jump` remembers where each
   * column was, for Ctrl-o.
   */
  moveTo(row: number, jump = false): void {
    this.cursor = Math.min(Math.max(0, row), Math.max(0, this.count - 1));
    this.reveal();
    const at = this.cursorRow();
    if (!at) return;
    for (const side of ['a', 'b'] as const) {
      const [event] = this.indexOf(side).events(at.task, restingIndex(at, side), 1);
      const browser = this.browserOf(side);
      if (!event) continue; // the task has no event in this run
      if (jump) browser.jump(event[0]);
      else browser.moveTo(event[0]);
    }
  }

  /** Keep the cursor on screen, scrolling as little as it takes. */
  private reveal(): void {
    const h = this.listRows;
    if (this.cursor < this.top) this.top = this.cursor;
    else if (this.cursor >= this.top + h) this.top = this.cursor - h + 1;
    this.top = Math.max(0, Math.min(this.top, this.count - h));
  }

  private centre(): void {
    this.top = Math.max(0, Math.min(this.cursor - Math.floor(this.listRows / 2), this.count - this.listRows));
  }

  /** Jump to a row (remembered by each column for Ctrl-o), the row mid-page. */
  private jumpTo(row: number): void {
    this.moveTo(row, true);
    this.centre();
  }

  private move(m: Move): void {
    const page = this.listRows - 1;
    if (m === 'down' || m === 'up') return this.moveTo(this.cursor + (m === 'down' ? 1 : -1));
    if (m === 'first' || m === 'last') return this.jumpTo(m === 'first' ? 0 : this.count - 1);
    const n = m === 'pageDown' ? page : -page;
    this.top = Math.max(0, Math.min(this.top + n, this.count - this.listRows));
    this.moveTo(this.cursor + n);
  }

  /** The row holding event `seq` of one run, or undefined (an event no task stream holds). */
  rowOfSeq(side: RunSide, seq: number): number | undefined {
    const at = this.indexOf(side).locate(seq);
    return at ? this.diff.rows.rowOf(side, at.task, at.index) : undefined;
  }

  /** A column's Browser found an event of its run (`:`, `/`, `n`, `o`, ...): its row becomes the cursor. */
  private follow(side: RunSide, seq: number): void {
    const row = this.rowOfSeq(side, seq);
    if (row === undefined) {
      this.message = `#${seq} is in no task's stream of the alignment`;
      return;
    }
    this.moveTo(row);
    this.centre();
  }

  // --- keys -------------------------------------------------------------------------------------

  key(input: string, key: Key): 'quit' | void {
    this.message = '';
    const focused = this.focused;
    const inPrompt = focused.prompt !== null;
    if (key.ctrl && input === 'c') return 'quit';
    if (!inPrompt && input === 'q') return 'quit';
    if (!inPrompt && key.tab) {
      const order: DiffPanel[] = ['a', 'b', 'findings'];
      this.focus = order[(order.indexOf(this.focus) + (key.shift ? 2 : 1)) % 3]!;
      return;
    }
    if (!inPrompt && (input === ']' || input === '[')) return this.step(input === ']' ? 1 : -1);
    if (this.focus === 'findings') return this.findingsKey(input, key);
    const move = inPrompt || focused.help ? null : moveOf(input, key);
    if (move) return this.move(move);
    if (!inPrompt && (input === 'f' || input === 'F' || input === ';')) {
      this.message = 'the diff view shows the alignment\'s rows: filters and SQL are in the run view (mmtrace tui FILE#RUN)';
      return;
    }
    const before = focused.cursor;
    if (focused.key(input, key) === 'quit') return 'quit';
    if (focused.cursor !== before) this.follow(this.focus, focused.cursor);
  }

  /** `]` / `[`: the next or previous divergence after the cursor's row; both columns are on its row. */
  private step(dir: 1 | -1): void {
    if (this.divergences.length === 0) {
      this.message = 'the event streams do not diverge';
      return;
    }
    const order = this.divergences.map((d, i) => ({ i, row: d.row }));
    const next = dir > 0
      ? order.find((o) => o.row > this.cursor)
      : [...order].reverse().find((o) => o.row < this.cursor);
    if (!next) {
      this.message = `no ${dir > 0 ? 'later' : 'earlier'} divergence`;
      return;
    }
    this.goTo(next.i);
  }

  private goTo(i: number): void {
    const d = this.divergences[i]!;
    this.divergence = i;
    this.jumpTo(d.row);
    this.message = `divergence ${i + 1}/${this.divergences.length}: ${d.task}${d.request ? ` ${d.request}` : ''}`;
  }

  private findingsKey(input: string, key: Key): void {
    const n = this.report.findings.length;
    if (input === 'j' || key.downArrow) this.findingSelected = Math.min(n - 1, this.findingSelected + 1);
    else if (input === 'k' || key.upArrow) this.findingSelected = Math.max(0, this.findingSelected - 1);
    else if (key.return) this.jumpToFinding(this.report.findings[this.findingSelected]);
  }

  /**
   * Enter on a finding: the row of its request's first differing events (the earlier of the two
   * runs' rows: the other run's event is at or just below it), or of the request's start when its
   * events do not differ, or the first divergence for a finding about the runs as a whole.
   */
  jumpToFinding(f: Finding | undefined): void {
    if (!f) return;
    const streams = f.request ? this.report.requestStreams?.find((r) => r.request === f.request) : undefined;
    const first = streams?.firstDivergence;
    const seqA = first?.a?.seq ?? (f.request ? this.requestStart(this.a, f.request) : undefined);
    const seqB = first?.b?.seq ?? (f.request ? this.requestStart(this.b, f.request) : undefined);
    const found = [seqA === undefined ? undefined : this.rowOfSeq('a', seqA), seqB === undefined ? undefined : this.rowOfSeq('b', seqB)]
      .filter((r) => r !== undefined);
    if (found.length === 0) {
      // a finding about the runs as a whole (final state): their first divergence
      const d = this.divergences.findIndex((x) => f.request === null || x.request === f.request);
      if (d < 0) {
        this.message = `finding ${f.kind} names no event`;
        return;
      }
      this.goTo(d);
    } else this.jumpTo(Math.min(...found));
    this.focus = 'a';
    this.message = `${f.kind}${f.request ? ` (${f.request})` : ''}: ${f.message}`;
  }

  /** The request_begin of request `task:N` in one run. */
  private requestStart(side: Browser, request: string): number | undefined {
    const m = /^(.+):(\d+)$/.exec(request);
    if (!m) return undefined;
    const tids = side.source.tidsNamed(m[1]!);
    if (tids.length === 0) return undefined;
    return side.source.trace.findEvent(side.source.run.id, { kinds: ['request_begin'], tids, fields: { req: Number(m[2]) } });
  }
}
