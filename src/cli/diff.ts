/**
 * `mmtrace diff FILE#RUN FILE#RUN [--strict] [--json]`: the semantic diff of two runs, then their
 * aligned event streams. Exit 0 when they are equivalent, 1 when they are not, 2 on error. The runs
 * may be in one file or two. `--strict` also counts any difference in the event streams.
 */
import { diffTraces, type DiffReport } from '../diff/diff.js';
import { openRunRef } from '../trace/reader.js';
import { printJson, println, table } from './output.js';

function render(report: DiffReport, a: string, b: string): string {
  const out: string[] = [];
  out.push(`${a}  vs  ${b}`);
  for (const w of report.warnings) out.push(`warning: ${w}`);
  out.push('', report.verdict === 'equivalent'
    ? 'VERDICT: equivalent (same results and bytes, no finding in one run only; the event streams may differ)'
    : `VERDICT: different (${report.differences.join(', ')})`);
  const behaviour = report.findings.filter((f) => f.severity === 'behaviour');
  const info = report.findings.filter((f) => f.severity === 'info');
  if (behaviour.length) {
    out.push('', 'FINDINGS');
    for (const f of behaviour) out.push(`  [${f.kind}] (${f.run === 'a' ? a : f.run === 'b' ? b : 'both'}) ${f.message}`);
  }
  out.push('', 'REQUESTS');
  out.push(table(['request', 'op', `${a}`, `${b}`, 'same'], report.requests.map((r) => [
    r.id, r.op, r.a ? `${r.a.result} ${r.a.dataHash}` : '-', r.b ? `${r.b.result} ${r.b.dataHash}` : '-', r.same ? 'yes' : 'NO',
  ])).replace(/^/gm, '  '));
  if (info.length) {
    out.push('', 'NOTES (not differences)');
    for (const f of info.slice(0, 20)) out.push(`  [${f.kind}] ${f.message}`);
    if (info.length > 20) out.push(`  ... ${info.length - 20} more`);
  }
  out.push('', 'AGGREGATES');
  out.push(table(['', a, b, 'delta'], Object.entries(report.aggregates).map(([k, v]) => [k, v.a, v.b, v.delta > 0 ? `+${v.delta}` : String(v.delta)])).replace(/^/gm, '  '));
  out.push('', 'EVENT STREAMS', ...renderStreams(report));
  return out.join('\n');
}

/** Text output is for reading: at most this many hunks and lines (--json has them all). */
const MAX_TEXT_HUNKS = 20;
const MAX_TEXT_LINES = 200;

function seqOf(e: { seq: number } | null): string {
  return e ? `#${e.seq}` : '(stream ended)';
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

export async function diffCommand(refA: string, refB: string, o: { json?: boolean; strict?: boolean }): Promise<void> {
  const x = await openRunRef(refA);
  try {
    const y = await openRunRef(refB);
    try {
      const report = diffTraces(x.trace, x.run, y.trace, y.run, o.strict);
      const a = `${x.trace.file}#${x.run.name}`;
      const b = `${y.trace.file}#${y.run.name}`;
      if (o.json) printJson({ a, b, ...report });
      else println(render(report, a, b));
      process.exitCode = report.verdict === 'equivalent' ? 0 : 1;
    } finally {
      y.trace.close();
    }
  } finally {
    x.trace.close();
  }
}
