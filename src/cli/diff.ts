/**
 * `mmtrace diff FILE#RUN FILE#RUN [--json]`: the semantic diff of two runs. Exit 0 when they are
 * equivalent, 1 when they are not, 2 on error. The runs may be in one file or two.
 */
import { diffRuns, type DiffReport } from '../diff/diff.js';
import { runFacts } from '../diff/facts.js';
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
  return out.join('\n');
}

export async function diffCommand(refA: string, refB: string, o: { json?: boolean }): Promise<void> {
  const x = await openRunRef(refA);
  try {
    const y = await openRunRef(refB);
    try {
      const report = diffRuns(runFacts(x.trace, x.run), runFacts(y.trace, y.run));
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
