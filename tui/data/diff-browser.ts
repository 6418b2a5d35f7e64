/**
 * The diff view's state: `mmtrace diff`'s report on two runs (verdict, findings, aligned event
 * streams), a Browser per run for the two columns, and the divergences (the hunks of the alignment)
 * that `]` and `[` step through, moving both columns together.
 */
import { diffTraces, type DiffReport, type Finding } from '../../src/diff/diff.js';
import type { RunInfo, Trace } from '../../src/trace/reader.js';
import { Browser, type Key } from './browser.js';
import { RunSource } from './run-source.js';

export type DiffPanel = 'a' | 'b' | 'findings';

export interface Divergence {
  task: string;
  request: string | null;
  /** The first differing event in each run (null: the stretch holds no event of that run). */
  seqA: number | null;
  seqB: number | null;
}

/** A hunk's first changed event in each run, and every changed event of each run. */
function divergencesOf(report: DiffReport): { list: Divergence[]; a: Set<number>; b: Set<number> } {
  const list: Divergence[] = [];
  const a = new Set<number>();
  const b = new Set<number>();
  for (const h of report.hunks ?? []) {
    let seqA: number | null = null;
    let seqB: number | null = null;
    for (const l of h.lines) {
      if (l.op === '-' && l.seqA !== undefined) (a.add(l.seqA), (seqA ??= l.seqA));
      if (l.op === '+' && l.seqB !== undefined) (b.add(l.seqB), (seqB ??= l.seqB));
    }
    list.push({ task: h.task, request: h.request, seqA, seqB });
  }
  list.sort((x, y) => (x.seqA ?? x.seqB ?? 0) - (y.seqA ?? y.seqB ?? 0));
  return { list, a, b };
}

export class DiffBrowser {
  focus: DiffPanel = 'a';
  findingSelected = 0;
  divergence = -1;
  message = '';
  readonly divergences: Divergence[];
  readonly divergingA: ReadonlySet<number>;
  readonly divergingB: ReadonlySet<number>;
  rows = 24;
  cols = 80;

  private constructor(readonly report: DiffReport, readonly a: Browser, readonly b: Browser) {
    const d = divergencesOf(report);
    this.divergences = d.list;
    this.divergingA = d.a;
    this.divergingB = d.b;
  }

  static async open(traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, rows: number, cols: number): Promise<DiffBrowser> {
    const report = await diffTraces(traceA, runA, traceB, runB);
    const view = new DiffBrowser(report, new Browser(new RunSource(traceA, runA)), new Browser(new RunSource(traceB, runB)));
    view.resize(rows, cols);
    return view;
  }

  /** Lines the findings pane takes: the verdict, then up to five findings. */
  get findingsRows(): number {
    return 1 + Math.min(5, Math.max(1, this.report.findings.length));
  }

  resize(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    const listRows = Math.max(3, rows - 3 - this.findingsRows); // status, prompt, and a header per column: the frame fills the terminal
    for (const side of [this.a, this.b]) {
      side.resize(rows, Math.floor(cols / 2));
      side.layout = { ...side.layout, listRows };
      side.moveTo(side.cursor);
    }
  }

  get focused(): Browser {
    return this.focus === 'b' ? this.b : this.a;
  }

  verdictLine(): string {
    const r = this.report;
    const diffs = r.differences.length ? `: ${r.differences.join(', ')}` : '';
    const at = this.divergence >= 0 ? ` (at ${this.divergence + 1})` : '';
    return `${r.verdict.toUpperCase()}${diffs} | ${r.findings.length} findings, ${this.divergences.length} divergences${at}`;
  }

  key(input: string, key: Key): 'quit' | void {
    this.message = '';
    const inPrompt = this.focused.prompt !== null;
    if (key.ctrl && input === 'c') return 'quit';
    if (!inPrompt && input === 'q') return 'quit';
    if (!inPrompt && key.tab) {
      const order: DiffPanel[] = ['a', 'b', 'findings'];
      this.focus = order[(order.indexOf(this.focus) + (key.shift ? 2 : 1)) % 3]!;
      return;
    }
    if (!inPrompt && (input === ']' || input === '[')) return this.step(input === ']' ? 1 : -1);
    if (this.focus === 'findings') return this.findingsKey(input, key);
    return this.focused.key(input, key) === 'quit' ? 'quit' : undefined;
  }

  /** `]` / `[`: the next or previous divergence after the focused column's cursor; both columns go there. */
  private step(dir: 1 | -1): void {
    if (this.divergences.length === 0) {
      this.message = 'the event streams do not diverge';
      return;
    }
    const side = this.focus === 'b' ? 'b' : 'a';
    const cursor = this.focused.cursor;
    const seqOf = (d: Divergence) => (side === 'b' ? d.seqB : d.seqA);
    const order = this.divergences.map((d, i) => ({ i, seq: seqOf(d) }));
    const next = dir > 0
      ? order.find((o) => o.seq !== null && o.seq > cursor) ?? order.find((o) => o.i > this.divergence)
      : [...order].reverse().find((o) => o.seq !== null && o.seq < cursor) ?? [...order].reverse().find((o) => o.i < this.divergence);
    if (!next) {
      this.message = `no ${dir > 0 ? 'later' : 'earlier'} divergence`;
      return;
    }
    this.goTo(next.i);
  }

  private goTo(i: number): void {
    const d = this.divergences[i]!;
    this.divergence = i;
    if (d.seqA !== null) this.a.jump(d.seqA);
    if (d.seqB !== null) this.b.jump(d.seqB);
    this.message = `divergence ${i + 1}/${this.divergences.length}: ${d.task}${d.request ? ` ${d.request}` : ''}`;
  }

  private findingsKey(input: string, key: Key): void {
    const n = this.report.findings.length;
    if (input === 'j' || key.downArrow) this.findingSelected = Math.min(n - 1, this.findingSelected + 1);
    else if (input === 'k' || key.upArrow) this.findingSelected = Math.max(0, this.findingSelected - 1);
    else if (key.return) this.jumpToFinding(this.report.findings[this.findingSelected]);
  }

  /** Enter on a finding: its request's first differing events in both runs (or its request's start). */
  jumpToFinding(f: Finding | undefined): void {
    if (!f) return;
    const streams = f.request ? this.report.requestStreams?.find((r) => r.request === f.request) : undefined;
    const first = streams?.firstDivergence;
    const seqA = first?.a?.seq ?? (f.request ? this.requestStart(this.a, f.request) : undefined);
    const seqB = first?.b?.seq ?? (f.request ? this.requestStart(this.b, f.request) : undefined);
    if (seqA === undefined && seqB === undefined) {
      // a finding about the runs as a whole (final state): their first divergence
      const d = this.divergences.findIndex((x) => f.request === null || x.request === f.request);
      if (d < 0) {
        this.message = `finding ${f.kind} names no event`;
        return;
      }
      this.goTo(d);
    } else {
      if (seqA !== undefined) this.a.jump(seqA);
      if (seqB !== undefined) this.b.jump(seqB);
    }
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
