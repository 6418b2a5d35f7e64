/**
 * The semantic diff of two runs (DESIGN.md "Diff"): two runs of one workload and seed on different
 * paths differ by design in their events, so what is compared is what a reviewer cares about.
 * `behaviour` findings make the runs non-equivalent: different bytes returned, bytes from two
 * moments of the address space, file bytes for a FOLL_ANON request, folios aged in one run only,
 * a warning, use-after-free or kernel fault in one run only. `info` findings do not: fallbacks to
 * the slow path, different waits.
 */
import { isFollAnon, type RequestFacts, type RunFacts } from './facts.js';

export type { RunFacts } from './facts.js';
import { finalStateFindings } from './final.js';
import type { Finding } from './finding.js';
import { byteSources, describeVma, type ByteSource } from './sources.js';
import { runPass, type RunPass } from './pass.js';
import { startPass, workerMinEventsFor, type PendingPass } from './pass-start.js';
import { alignStreams, type Alignment } from './align.js';
import type { Hunk, RequestStreams, TaskStreams } from './hunks.js';
import { AlignedRows } from './rows.js';
import { StreamIndex } from './stream-index.js';
import { Interner } from './tokens.js';
import { percentile } from '../reduce/aggregates.js';
import type { RunInfo, Trace } from '../trace/reader.js';
import { runStateNote } from '../trace/run-state.js';

export type { Finding, Side } from './finding.js';

export interface DiffOptions {
  workerMinEvents?: number;
  onProgress?: (eventsRead: number, events: number) => void;
  /** Run B's pass, already started (startPassEarly): used if run B is large enough, else cancelled. */
  early?: PendingPass | null;
}

export interface RequestComparison {
  id: string;
  op: string;
  a: { result: number | null; dataHash: string | null } | null;
  b: { result: number | null; dataHash: string | null } | null;
  same: boolean;
  /** Byte ranges (offsets into the returned buffer) where the two differ. */
  differingRanges: [number, number][];
  /** Where each run's bytes in those ranges came from (target address, VMA or file, folio). */
  sources: { a: ByteSource[]; b: ByteSource[] };
}

export interface DiffReport {
  verdict: 'equivalent' | 'different';
  /** The kinds of behaviour findings (empty when equivalent). */
  differences: string[];
  /** Things to know before reading on (different workloads or seeds, incomplete runs). */
  warnings: string[];
  findings: Finding[];
  requests: RequestComparison[];
  aggregates: Record<string, { a: number; b: number; delta: number }>;
  /** The aligned event streams (set by withEventStreams): per task, where they first diverge... */
  streams?: TaskStreams[];
  /** ...per request whose events differ, where they first diverge... */
  requestStreams?: RequestStreams[];
  /** ...and every differing stretch, as unified-diff hunks. */
  hunks?: Hunk[];
}

function differingRanges(x: Uint8Array | null, y: Uint8Array | null): [number, number][] {
  const a = x ?? new Uint8Array(0);
  const b = y ?? new Uint8Array(0);
  const ranges: [number, number][] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; ) {
    if (a[i] === b[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && a[i] !== b[i]) i++;
    ranges.push([start, i]);
  }
  return ranges;
}

/** The VMAs a request's copies read through, in order, each once: "anon VMA [..) created at #N, ...". */
function vmasCopiedFrom(r: RequestFacts): string {
  const seen = new Set<string>();
  for (const c of r.copies) seen.add(c.vma ? describeVma(c.vma, c.vma.start) : 'no VMA');
  return [...seen].join(', then ');
}

/** Findings about one run on its own (the other run is compared after). */
function ownFindings(f: RunFacts, side: 'a' | 'b'): Finding[] {
  const out: Finding[] = [];
  for (const r of f.requests.values()) {
    if (r.copies.length > 1 && r.vmaChangesBetweenCopies > 0) {
      out.push({
        kind: 'mixed-vmas', severity: 'behaviour', run: side, request: r.id,
        message: `${r.id}: one __access_remote_vm call copied before and after ${r.vmaChangesBetweenCopies} VMA change(s): the result mixes data from VMAs that never coexisted (copied from ${vmasCopiedFrom(r)})`,
      });
    }
    const fileCopies = r.copies.filter((c) => c.fromPageCache);
    if (isFollAnon(r.flags) && fileCopies.length > 0) {
      out.push({
        kind: 'foll-anon-file-bytes', severity: 'behaviour', run: side, request: r.id,
        message: `${r.id} (FOLL_ANON) copied ${fileCopies.reduce((n, c) => n + c.len, 0)} bytes from file-backed page-cache folios (CVE-2018-1120)`,
      });
    }
    for (const fb of r.fallbacks) {
      out.push({
        kind: 'fallback', severity: 'info', run: side, request: r.id,
        message: `${r.id}: the fast path fell back after ${fb.copied} bytes at 0x${fb.addr.toString(16)} (${fb.reason})`,
      });
    }
  }
  return out;
}

function checkFindings(a: RunFacts, b: RunFacts): Finding[] {
  const out: Finding[] = [];
  const kinds: [string, keyof RunFacts['checks'], string][] = [
    ['warning', 'warnings', 'warning'], ['use-after-free', 'useAfterFree', 'use-after-free'], ['kernel-fault', 'kernelFaults', 'kernel fault'],
  ];
  for (const [kind, key, what] of kinds) {
    const x = a.checks[key] as string[];
    const y = b.checks[key] as string[];
    if (x.length > 0 && y.length === 0) out.push({ kind, severity: 'behaviour', run: 'a', request: null, message: `${x.length} ${what}(s) in ${a.run.name} only: ${[...new Set(x)].join('; ')}` });
    if (y.length > 0 && x.length === 0) out.push({ kind, severity: 'behaviour', run: 'b', request: null, message: `${y.length} ${what}(s) in ${b.run.name} only: ${[...new Set(y)].join('; ')}` });
    // In both runs it is no difference between them, but still something the reader must see.
    if (x.length > 0 && y.length > 0) {
      out.push({ kind, severity: 'info', run: 'both', request: null, message: `${what}(s) in both runs (${x.length} vs ${y.length}): ${[...new Set([...x, ...y])].join('; ')}` });
    }
  }
  if (a.checks.deadlock !== b.checks.deadlock) {
    out.push({ kind: 'deadlock', severity: 'behaviour', run: a.checks.deadlock ? 'a' : 'b', request: null, message: `a deadlock in ${(a.checks.deadlock ? a : b).run.name} only` });
  }
  return out;
}

/**
 * Different bytes are a behaviour difference unless a reader that got them was being killed: it
 * dies on its way back to user space, so nobody sees what it returned (gup's killable wait gives
 * up with 0 bytes where the fast path, which never sleeps, returned argv: §12.14).
 */
function bytesFinding(id: string, x: RequestFacts, y: RequestFacts, cmp: RequestComparison, names: [string, string]): Finding {
  const ranges = cmp.differingRanges.map(([s, e]) => `[${s}, ${e})`).join(' ');
  const message = `${id} returned ${x.result} bytes (hash ${x.dataHash}) vs ${y.result} bytes (hash ${y.dataHash}); bytes differ at ${ranges || 'the length only'}`;
  const dying = [x.killed ? names[0] : null, y.killed ? names[1] : null].filter((n) => n !== null);
  if (dying.length === 0) return { kind: 'bytes', severity: 'behaviour', run: 'both', request: id, message };
  return {
    kind: 'bytes', severity: 'info', run: 'both', request: id,
    message: `${message}; not a difference: SIGKILL was pending for the reader in ${dying.join(' and ')}, so no user space sees the bytes`,
  };
}

/**
 * FOLL_TOUCH ages what a read touches: folio_mark_accessed for each folio, and for a PMD-mapped THP
 * touch_pmd's young PMD (where pmdp_set_access_flags writes it). A different count means some page
 * was aged in one run and not the other (v1 on a merged VMA touches one folio fewer than GUP).
 * When a reader being killed read less in one run (§12.14: gup's killable wait gave up before it
 * read), that run touched less because it read less: the difference is the kill's, as its bytes
 * are, and is told as info.
 */
function agingFinding(id: string, x: RequestFacts, y: RequestFacts): Finding | null {
  if (x.markedAccessed === y.markedAccessed && x.madeYoung === y.madeYoung) return null;
  if ((x.killed || y.killed) && x.result !== y.result) {
    return {
      kind: 'aging', severity: 'info', run: 'both', request: id,
      message: `${id} aged ${x.markedAccessed + x.madeYoung} vs ${y.markedAccessed + y.madeYoung} page(s); not a difference: SIGKILL was pending for the reader, which read ${x.result} vs ${y.result} bytes`,
    };
  }
  const touches = (r: RequestFacts) => [
    r.markedAccessed > 0 ? `folio_mark_accessed ×${r.markedAccessed}` : '',
    r.madeYoung > 0 ? `${r.madeYoung} entr${r.madeYoung === 1 ? 'y' : 'ies'} made young` : '',
  ].filter(Boolean).join(', ') || 'nothing';
  const [tx, ty] = [x.markedAccessed + x.madeYoung, y.markedAccessed + y.madeYoung];
  const oneSided = tx === 0 || ty === 0;
  return {
    kind: 'aging', severity: 'behaviour', run: !oneSided ? 'both' : tx > 0 ? 'a' : 'b', request: id,
    message: oneSided
      ? `${id} aged what it read (${touches(tx > 0 ? x : y)}) in one run only: reclaim ages the page differently`
      : `${id} aged what it read differently (${touches(x)} vs ${touches(y)}): reclaim ages some pages differently`,
  };
}

function compareRequest(id: string, x: RequestFacts | undefined, y: RequestFacts | undefined, names: [string, string]): { cmp: RequestComparison; findings: Finding[] } {
  const side = (r: RequestFacts | undefined) => (r ? { result: r.result, dataHash: r.dataHash } : null);
  const same = !!x && !!y && x.result === y.result && x.dataHash === y.dataHash;
  const ranges = same ? [] : differingRanges(x?.data ?? null, y?.data ?? null);
  const sourcesIn = (r: RequestFacts | undefined) => (r?.data && ranges.length > 0 ? byteSources(r.copies, r.data, ranges) : []);
  const cmp: RequestComparison = {
    id, op: (x ?? y)!.op, a: side(x), b: side(y), same, differingRanges: ranges, sources: { a: sourcesIn(x), b: sourcesIn(y) },
  };
  const findings: Finding[] = [];
  if (!x || !y) {
    findings.push({ kind: 'request-missing', severity: 'behaviour', run: x ? 'a' : 'b', request: id, message: `${id} happened in one run only` });
    return { cmp, findings };
  }
  if (!same) findings.push(bytesFinding(id, x, y, cmp, names));
  const aging = agingFinding(id, x, y);
  if (aging) findings.push(aging);
  if (x.waitTicks !== y.waitTicks) {
    findings.push({ kind: 'wait', severity: 'info', run: 'both', request: id, message: `${id} waited ${x.waitTicks} vs ${y.waitTicks} ticks` });
  }
  return { cmp, findings };
}

function aggregateDeltas(a: RunFacts, b: RunFacts): DiffReport['aggregates'] {
  const out: DiffReport['aggregates'] = {};
  const put = (key: string, x: number, y: number) => {
    if (x !== 0 || y !== 0) out[key] = { a: x, b: y, delta: y - x };
  };
  const A = a.aggregates;
  const B = b.aggregates;
  const byKey: [string, 'lockAcquisitions' | 'lockContended' | 'pgtableReads' | 'waitTicksByTask'][] = [
    ['locks', 'lockAcquisitions'], ['contended', 'lockContended'], ['pgtable-reads', 'pgtableReads'], ['wait-ticks', 'waitTicksByTask'],
  ];
  for (const [prefix, field] of byKey) {
    for (const k of new Set([...Object.keys(A[field]), ...Object.keys(B[field])])) put(`${prefix}/${k}`, A[field][k] ?? 0, B[field][k] ?? 0);
  }
  // Per task, the distribution of its requests' waits (what a monitor's reader feels).
  const waitsOf = (f: RunFacts, task: string) => [...f.requests.values()].filter((r) => r.id.slice(0, r.id.lastIndexOf(':')) === task).map((r) => r.waitTicks).sort((x, y) => x - y);
  const tasksWithRequests = new Set([...a.requests.keys(), ...b.requests.keys()].map((id) => id.slice(0, id.lastIndexOf(':'))));
  for (const task of [...tasksWithRequests].sort()) {
    const [wa, wb] = [waitsOf(a, task), waitsOf(b, task)];
    for (const p of [50, 99]) put(`request-wait/${task}/p${p}`, percentile(wa, p), percentile(wb, p));
    put(`request-wait/${task}/max`, wa.at(-1) ?? 0, wb.at(-1) ?? 0);
  }
  put('folio-gets', A.folioGets, B.folioGets);
  put('folio-puts', A.folioPuts, B.folioPuts);
  put('bytes-copied', A.bytesCopied, B.bytesCopied);
  put('events', A.events, B.events);
  const fallbacks = (f: RunFacts) => [...f.requests.values()].reduce((n, r) => n + r.fallbacks.length, 0);
  put('fallbacks', fallbacks(a), fallbacks(b));
  return out;
}

export function diffRuns(a: RunFacts, b: RunFacts): DiffReport {
  const warnings: string[] = [];
  if (a.run.workload !== b.run.workload) warnings.push(`different workloads: ${a.run.workload} vs ${b.run.workload}`);
  if (a.run.seed !== b.run.seed) warnings.push(`different seeds: ${a.run.seed} vs ${b.run.seed}`);
  if (a.run.strategy !== b.run.strategy) warnings.push(`different scheduling strategies: ${a.run.strategy} vs ${b.run.strategy}`);
  if (JSON.stringify(a.run.params) !== JSON.stringify(b.run.params)) warnings.push('different workload parameters');
  for (const f of [a, b]) {
    const note = runStateNote(f.run.name, f.run);
    if (note) warnings.push(`${note}; diffed up to its last event`);
  }
  const findings: Finding[] = [...ownFindings(a, 'a'), ...ownFindings(b, 'b')];
  // A one-sided finding about the same request and kind is a difference; the same in both is not.
  const both = (kind: string, req: string | null) =>
    findings.some((f) => f.kind === kind && f.request === req && f.run === 'a') && findings.some((f) => f.kind === kind && f.request === req && f.run === 'b');
  for (const f of findings) if (f.severity === 'behaviour' && both(f.kind, f.request)) f.severity = 'info';
  findings.push(...checkFindings(a, b));
  findings.push(...finalStateFindings(a, b));
  const requests: RequestComparison[] = [];
  for (const id of new Set([...a.requests.keys(), ...b.requests.keys()])) {
    const { cmp, findings: fs } = compareRequest(id, a.requests.get(id), b.requests.get(id), [a.run.name, b.run.name]);
    requests.push(cmp);
    findings.push(...fs);
  }
  return { ...verdictOf(findings), warnings, findings, requests, aggregates: aggregateDeltas(a, b) };
}

/** The verdict follows from the findings: different when any is a behaviour difference. */
function verdictOf(findings: Finding[]): Pick<DiffReport, 'verdict' | 'differences'> {
  const differences = [...new Set(findings.filter((f) => f.severity === 'behaviour').map((f) => f.kind))];
  return { verdict: differences.length === 0 ? 'equivalent' : 'different', differences };
}


/**
 * What `mmtrace diff` computes: the semantic diff of two runs plus their aligned event streams. One
 * read of each log feeds both the facts and the token streams. `workerMinEvents`: run B's events
 * from which its pass goes to a worker thread (default: workerMinEventsFor() this machine's cores).
 */
export async function diffTraces(
  traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, strict = false, opts: DiffOptions = {},
): Promise<DiffReport> {
  return (await diffTracesWithFacts(traceA, runA, traceB, runB, strict, opts)).report;
}

/** The same diff, with the facts of each run it was made from (what review reads its figures off). */
export async function diffTracesWithFacts(
  traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, strict = false, opts: DiffOptions = {},
): Promise<{ report: DiffReport; a: RunFacts; b: RunFacts }> {
  const { report, a, b } = await diffPasses(traceA, runA, traceB, runB, strict, opts);
  return { report, a: a.facts, b: b.facts };
}

/** The same diff, with its alignment as rows and where each run's streams are (what the tui's diff view pages). */
export interface BrowsableDiff {
  report: DiffReport;
  rows: AlignedRows;
  a: StreamIndex;
  b: StreamIndex;
}

export async function diffTracesForBrowsing(
  traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, opts: DiffOptions = {},
): Promise<BrowsableDiff> {
  const { report, a, b } = await diffPasses(traceA, runA, traceB, runB, false, opts);
  return {
    report, rows: new AlignedRows(report.streams!, report.hunks!),
    a: StreamIndex.of(traceA, runA, a.streams), b: StreamIndex.of(traceB, runB, b.streams),
  };
}

/** Both runs' passes and the report made from them. */
async function diffPasses(
  traceA: Trace, runA: RunInfo, traceB: Trace, runB: RunInfo, strict: boolean, opts: DiffOptions,
): Promise<{ report: DiffReport; a: RunPass; b: RunPass }> {
  const interner = new Interner();
  const events = runA.events + runB.events;
  const progress = (done: number) => opts.onProgress?.(done, events);
  // Run B's pass in a worker thread (large runs) while this thread does run A's; A's tokens are
  // interned first either way, so the report is the same with or without the worker.
  const minEvents = opts.workerMinEvents ?? workerMinEventsFor();
  const worthIt = runB.events >= minEvents;
  if (!worthIt) opts.early?.cancel();
  const pendingB = worthIt ? ((opts.early ?? null) as PendingPass<RunPass> | null) ?? (startPass(traceB.file, runB, minEvents) as PendingPass<RunPass> | null) : null;
  const a = runPass(traceA, runA, interner, progress);
  const b = (await pendingB?.take(interner, runB.id)) ?? runPass(traceB, runB, interner, (n) => progress(runA.events + n));
  progress(events);
  const semantic = diffRuns(a.facts, b.facts);
  return { report: withEventStreams(semantic, alignStreams(a.streams, b.streams, interner), strict), a, b };
}

/**
 * The report with the aligned event streams attached. The verdict stays a semantic one: the paths
 * differ in their events by design. Only with `strict` does any hunk make the runs `different`
 * (difference kind `event-stream`), for runs that should be identical event for event.
 */
export function withEventStreams(report: DiffReport, alignment: Alignment, strict = false): DiffReport {
  const out: DiffReport = { ...report, streams: alignment.tasks, requestStreams: alignment.requests, hunks: alignment.hunks };
  if (!strict || alignment.hunks.length === 0) return out;
  const tasks = alignment.tasks.filter((t) => t.firstDivergence !== null).map((t) => t.task);
  const finding: Finding = {
    kind: 'event-stream', severity: 'behaviour', run: 'both', request: null,
    message: `the event streams differ (--strict): ${alignment.hunks.length} hunk(s) in task(s) ${tasks.join(', ')}`,
  };
  const findings = [...out.findings, finding];
  return { ...out, ...verdictOf(findings), findings };
}
