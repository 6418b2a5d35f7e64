/**
 * `mmtrace diff FILE#RUN FILE#RUN [--strict] [--json]`: the semantic diff of two runs, then their
 * aligned event streams. Exit 0 when they are equivalent, 1 when they are not, 2 on error. The runs
 * may be in one file or two. `--strict` also counts any difference in the event streams.
 */
import type { StreamEvent } from '../diff/hunks.js';
import { diffTraces, type DiffReport, type Finding, type RequestComparison } from '../diff/diff.js';
import type { PendingPass } from '../diff/pass-start.js';
import { describeSource, type ByteSource } from '../diff/sources.js';
import { openRunRef, type RunInfo } from '../trace/reader.js';
import { findWorkload } from '../workloads/index.js';
import { printJson, println, table } from './output.js';
import { progress } from './progress.js';

/** Text shows at most this many findings of one kind, and this many requests (--json has them all). */
const MAX_TEXT_FINDINGS_PER_KIND = 10;
const MAX_TEXT_REQUESTS_LISTED = 50;

function render(report: DiffReport, a: string, b: string): string {
  const out: string[] = [];
  out.push(`${a}  vs  ${b}`);
  out.push('', report.verdict === 'equivalent'
    ? 'VERDICT: equivalent (same results and bytes, no finding in one run only; the event streams may differ)'
    : `VERDICT: different (${report.differences.join(', ')})`);
  const behaviour = report.findings.filter((f) => f.severity === 'behaviour');
  const info = report.findings.filter((f) => f.severity === 'info');
  if (behaviour.length) {
    out.push('', 'FINDINGS');
    const side = (f: Finding) => (f.run === 'a' ? a : f.run === 'b' ? b : 'both');
    out.push(...capPerKind(behaviour, (f) => `  [${f.kind}] (${side(f)}) ${f.message}`));
  }
  out.push('', 'REQUESTS', ...renderRequests(report, a, b));
  if (info.length) {
    out.push('', 'NOTES (not differences)');
    out.push(...capPerKind(info, (f) => `  [${f.kind}] ${f.message}`));
  }
  out.push('', 'AGGREGATES');
  out.push(table(['', a, b, 'delta'], Object.entries(report.aggregates).map(([k, v]) => [k, v.a, v.b, v.delta > 0 ? `+${v.delta}` : String(v.delta)])).replace(/^/gm, '  '));
  out.push('', 'EVENT STREAMS', ...renderStreams(report));
  return out.join('\n');
}

/** Findings in their order, at most MAX_TEXT_FINDINGS_PER_KIND of each kind, then how many more. */
function capPerKind(findings: Finding[], line: (f: Finding) => string): string[] {
  const shown = new Map<string, number>();
  const out: string[] = [];
  for (const f of findings) {
    const n = (shown.get(f.kind) ?? 0) + 1;
    shown.set(f.kind, n);
    if (n <= MAX_TEXT_FINDINGS_PER_KIND) out.push(line(f));
  }
  for (const [kind, n] of shown) {
    if (n > MAX_TEXT_FINDINGS_PER_KIND) out.push(`  ... ${n - MAX_TEXT_FINDINGS_PER_KIND} more [${kind}] (--json has them all)`);
  }
  return out;
}

/**
 * The requests side by side, then where the differing bytes came from. A long run lists only the
 * requests that differ (the first MAX_TEXT_REQUESTS_LISTED) and counts the rest.
 */
function renderRequests(report: DiffReport, a: string, b: string): string[] {
  const all = report.requests;
  const differing = all.filter((r) => !r.same);
  const listed = all.length <= MAX_TEXT_REQUESTS_LISTED ? all : differing.slice(0, MAX_TEXT_REQUESTS_LISTED);
  const out: string[] = [];
  if (listed.length > 0) {
    out.push(table(['request', 'op', `${a}`, `${b}`, 'same'], listed.map((req) => [
      req.id, req.op, req.a ? `${req.a.result} ${req.a.dataHash}` : '-', req.b ? `${req.b.result} ${req.b.dataHash}` : '-', req.same ? 'yes' : 'NO',
    ])).replace(/^/gm, '  '));
  }
  if (listed.length < all.length) {
    const notListed = differing.length - listed.length;
    out.push(`  (${all.length} requests: ${all.length - differing.length} the same in both runs, not listed${notListed > 0 ? `; ${notListed} more that differ` : ''}; --json has them all)`);
  }
  for (const r of listed.filter((q) => q.differingRanges.length > 0)) out.push(...renderSources(r, a, b));
  return out;
}

/** Text shows at most this many sources per request and run (a long read has one copy per page). */
const MAX_TEXT_SOURCES = 8;

/** Where each run's differing bytes came from: target address, VMA or file, folio. */
export function renderSources(req: RequestComparison, a: string, b: string): string[] {
  const ranges = req.differingRanges.map(([s, e]) => `[${s}, ${e})`).join(' ');
  const side = (name: string, result: number | null | undefined, sources: ByteSource[]) => {
    const inBuffer = req.differingRanges.reduce((n, [s, e]) => n + Math.max(0, Math.min(e, Math.max(0, result ?? 0)) - s), 0);
    const attributed = sources.reduce((n, s) => n + s.range[1] - s.range[0], 0);
    const lines = sources.slice(0, MAX_TEXT_SOURCES).map((s) => `      ${describeSource(s)}`);
    if (sources.length > MAX_TEXT_SOURCES) lines.push(`      ... ${sources.length - MAX_TEXT_SOURCES} more (--json has them all)`);
    if (inBuffer === 0) lines.push('      (returned none of these bytes)');
    else if (attributed < inBuffer) lines.push(`      (${inBuffer - attributed} byte(s) no copy of this request accounts for)`);
    return [`    ${name}:`, ...lines];
  };
  return [`  ${req.id}: bytes differ at ${ranges}; where they came from:`, ...side(a, req.a?.result, req.sources.a), ...side(b, req.b?.result, req.sources.b)];
}

/** Text output is for reading: at most this many hunks and lines (--json has them all). */
const MAX_TEXT_HUNKS = 20;
const MAX_TEXT_LINES = 200;

function seqOf(e: { seq: number } | null): string {
  return e ? `#${e.seq}` : '(stream ended)';
}

/** Text shows the first divergence of at most this many requests per task (--json has them all). */
const MAX_TEXT_REQUESTS = 5;

/** A task's requests whose events differ: where each first diverges, in each run. */
function renderRequestStreams(report: DiffReport, task: string): string[] {
  const name = task.replace(/#\d+$/, '');
  const requests = (report.requestStreams ?? []).filter((r) => r.request.slice(0, r.request.lastIndexOf(':')) === name);
  const out: string[] = [];
  for (const r of requests.slice(0, MAX_TEXT_REQUESTS)) {
    const fd = r.firstDivergence!;
    const side = (e: StreamEvent | null, events: number) => (e ? `#${e.seq} ${e.text}` : events === 0 ? '(not in this run)' : '(request ended)');
    out.push(`    request ${r.request}: ${r.aEvents} vs ${r.bEvents} events, first divergence at its event ${fd.index}: a ${side(fd.a, r.aEvents)} | b ${side(fd.b, r.bEvents)}`);
  }
  if (requests.length > MAX_TEXT_REQUESTS) out.push(`    ... ${requests.length - MAX_TEXT_REQUESTS} more request(s) differ (--json has them all, under requestStreams)`);
  return out;
}

/** Per task: where the streams first diverge (with seqs for `replay --until`), then its hunks. */
function renderStreams(report: DiffReport): string[] {
  const out: string[] = [];
  const streams = report.streams ?? [];
  const hunks = report.hunks ?? [];
  if (streams.every((t) => t.firstDivergence === null)) return ['  identical in every task'];
  let shownHunks = 0;
  let shownLines = 0;
  for (const t of streams) {
    const fd = t.firstDivergence;
    if (!fd) {
      out.push(`  ${t.task}: identical (${t.aEvents} events)`);
      continue;
    }
    const edits = t.edits === null ? 'too many edits to align' : `${t.edits} edit(s)`;
    out.push(`  ${t.task}: ${t.aEvents} vs ${t.bEvents} events, ${edits}; first divergence at event ${fd.index}:`);
    out.push(`    a ${seqOf(fd.a)} ${fd.a?.text ?? ''}`, `    b ${seqOf(fd.b)} ${fd.b?.text ?? ''}`);
    out.push(...renderRequestStreams(report, t.task));
    for (const h of hunks.filter((x) => x.task === t.task)) {
      if (shownHunks >= MAX_TEXT_HUNKS || shownLines + h.lines.length > MAX_TEXT_LINES) continue;
      shownHunks++;
      shownLines += h.lines.length;
      const req = h.request ? ` request ${h.request}` : '';
      out.push(`    @@ -${h.aStart + 1},${h.aLen} +${h.bStart + 1},${h.bLen} @@${req}${h.note ? ` (${h.note})` : ''}`);
      for (const l of h.lines) {
        const seqs = l.op === '+' ? `b#${l.seqB}` : l.op === '-' ? `a#${l.seqA}` : `a#${l.seqA} b#${l.seqB}`;
        out.push(`    ${l.op} ${l.text}   [${seqs}]`);
      }
    }
  }
  if (shownHunks < hunks.length) out.push(`  ... ${hunks.length - shownHunks} more hunk(s) left out (--json has them all)`);
  return out;
}

/**
 * Two paths of an unordered workload interleave differently: the seeded strategy picks among the
 * scheduling points each path offers, and the paths offer different ones. Said here, where the
 * workload registry is known (diff/ works from the logs alone).
 */
function scheduleWarning(a: RunInfo, b: RunInfo): string | null {
  const setup = (r: RunInfo) => JSON.stringify([r.path, [...r.variant].sort(), r.config]);
  if (a.workload !== b.workload || setup(a) === setup(b)) return null;
  const w = findWorkload(a.workload);
  if (!w?.unordered) return null;
  return `${a.workload} orders its tasks by the ${a.strategy} schedule alone (no directed schedule): on another path or config the tasks interleave differently, so differences may come from the interleaving, not the path`;
}

export async function diffCommand(
  refA: string, refB: string, o: { json?: boolean; strict?: boolean }, early: PendingPass | null = null,
): Promise<void> {
  try {
    await diffRefs(refA, refB, o, early);
  } finally {
    // Whatever happened, no worker may outlive the command (it would keep the process alive).
    early?.cancel();
  }
}

async function diffRefs(refA: string, refB: string, o: { json?: boolean; strict?: boolean }, early: PendingPass | null): Promise<void> {
  const x = await openRunRef(refA);
  try {
    const y = await openRunRef(refB);
    try {
      // A bar over both runs' events (on a terminal only); with a worker, the second run's pass
      // runs alongside the first and shows as done when it comes back.
      const bar = progress('diff', x.run.events + y.run.events);
      const report = await diffTraces(x.trace, x.run, y.trace, y.run, o.strict, { onProgress: (done) => bar.update(done), early })
        .finally(() => bar.stop());
      const interleaving = scheduleWarning(x.run, y.run);
      if (interleaving) report.warnings.unshift(interleaving);
      const a = `${x.trace.file}#${x.run.name}`;
      const b = `${y.trace.file}#${y.run.name}`;
      // Warnings are about the comparison, not part of it: stderr for text, a field of the JSON.
      if (o.json) printJson({ a, b, ...report });
      else {
        for (const w of report.warnings) process.stderr.write(`mmtrace: warning: ${w}\n`);
        println(render(report, a, b));
      }
      process.exitCode = report.verdict === 'equivalent' ? 0 : 1;
    } finally {
      y.trace.close();
    }
  } finally {
    x.trace.close();
  }
}
