/**
 * `mmtrace demo` (what `npm start` runs): record cmdline-poll on the mainline GUP path and show what
 * the emulated kernel did for the monitor's reads; then record the review's headline race
 * (cross-vma-race) on gup, on the fast path as posted, and on the fast path with the review's fixes,
 * and show what the semantic diff says about each.
 */
import { diffRuns } from '../diff/diff.js';
import { runFacts } from '../diff/facts.js';
import { aggregateRun, percentile } from '../reduce/aggregates.js';
import { openTrace } from '../trace/reader.js';
import { printJson, println } from './output.js';
import { recordRuns } from '../record/record.js';
import { runName } from '../record/variants.js';
import { renderSources } from './diff.js';
import { printable } from './summary.js';
import { dirname, join } from 'node:path';

const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];

/** cross-vma-race on gup, fast and fast+fixes, and the two diffs against gup. */
async function headlineRace(dir: string) {
  const file = join(dir, 'cross-vma-race.db');
  const base = { workload: 'cross-vma-race', seed: 1, strategy: 'random', params: {}, out: file, replace: true };
  await recordRuns({ ...base, paths: ['gup', 'fast'], variant: [] });
  await recordRuns({ ...base, paths: ['fast'], variant: FIXES });
  const trace = await openTrace(file);
  try {
    const facts = (name: string) => runFacts(trace, trace.resolveRun(name));
    const gup = facts('gup');
    const fixedName = runName('fast', FIXES);
    return { file, v1: diffRuns(gup, facts('fast')), fixed: diffRuns(gup, facts(fixedName)), fixedName };
  } finally {
    trace.close();
  }
}

export async function demoCommand(o: { out: string; json?: boolean }): Promise<void> {
  const result = await recordRuns({
    workload: 'cmdline-poll', paths: ['gup'], variant: [], seed: 1, strategy: 'random', params: {},
    out: o.out, replace: true,
  });
  const run = result.runs[0]!;
  const trace = await openTrace(result.file);
  let agg;
  try {
    agg = aggregateRun(trace, trace.resolveRun(run.name));
  } finally {
    trace.close();
  }
  const monitor = agg.requests.filter((r) => r.task === 'monitor');
  const waits = monitor.map((r) => r.waitTicks).sort((a, b) => a - b);
  const race = await headlineRace(dirname(o.out));
  if (o.json) {
    printJson({
      file: result.file, run, aggregates: { ...agg, requests: agg.requests.map(({ data, ...r }) => ({ ...r, data: data ? printable(data) : null })) },
      race: { file: race.file, gupVsFast: race.v1, gupVsFixed: race.fixed },
    });
    return;
  }
  const distinct = [...new Set(monitor.map((r) => (r.data ? printable(r.data) : '')))];
  println(`Recorded workload cmdline-poll on the mainline GUP path (seed 1): ${run.events} events, final hash ${run.finalHash}`);
  println(`  -> ${result.file}#${run.name}`);
  println();
  println(`The monitor read /proc/PID/cmdline ${monitor.length} times; every read returned ${distinct.length === 1 ? 'the same' : distinct.length + ' different'} bytes:`);
  for (const d of distinct) println(`    "${d}"  (${monitor.find((r) => r.data && printable(r.data) === d)!.result} bytes)`);
  println(`  waiting per read: p50 ${percentile(waits, 50)}, p99 ${percentile(waits, 99)}, max ${waits[waits.length - 1] ?? 0} virtual ticks`);
  println('  (a virtual tick is the simulator\'s clock: each kernel step costs a fixed number of ticks, so');
  println('  the figures are the same on every machine; they are not nanoseconds)');
  println();
  const locks = Object.entries(agg.lockAcquisitions).sort((a, b) => b[1] - a[1]);
  println('Lock acquisitions (contended):');
  for (const [k, v] of locks) println(`    ${k.padEnd(24)} ${String(v).padStart(6)}  (${agg.lockContended[k] ?? 0})`);
  println(`Page-table entry reads: ${Object.entries(agg.pgtableReads).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  println(`Folio references: ${agg.folioGets} gets, ${agg.folioPuts} puts; ${agg.bytesCopied} bytes copied to readers`);
  if (agg.folioPuts > agg.folioGets) {
    println('  (more puts than gets: a folio is born holding one reference, its allocation\'s, which no get');
    println('  counts; the put that frees it when it is unmapped or reclaimed is counted)');
  }
  println(`Checks: ${agg.warnings} warnings, ${agg.useAfterFree} use-after-free, ${agg.deadlocks} deadlocks`);
  println();
  println('The review\'s headline race (docs/semantics.md#cross-vma-race): a 16-byte read spanning two VMAs while the');
  println('target replaces the second, recorded on the mainline path and on the per-VMA-lock fast path:');
  const bytes = (r: typeof race.v1.requests[number]['a']) => (r ? `${r.result} bytes, hash ${r.dataHash}` : '-');
  println(`    gup:                  ${bytes(race.v1.requests[0]?.a ?? null)}`);
  println(`    fast (v1 as posted):  ${bytes(race.v1.requests[0]?.b ?? null)}  -> ${race.v1.verdict}`);
  for (const f of race.v1.findings.filter((x) => x.severity === 'behaviour')) println(`        [${f.kind}] ${f.message}`);
  for (const r of race.v1.requests.filter((q) => q.differingRanges.length > 0)) {
    for (const line of renderSources(r, 'gup', 'fast')) println(`      ${line}`);
  }
  println(`    ${race.fixedName}: ${bytes(race.fixed.requests[0]?.b ?? null)}  -> ${race.fixed.verdict}`);
  println();
  println('Next:');
  println(`  npx mmtrace diff ${race.file}#gup ${race.file}#fast`);
  println(`  npx mmtrace replay ${race.file}#fast --until=kind=copy,task=reader,n=2`);
  println(`  npx mmtrace list ${result.file}`);
  println(`  sqlite3 ${result.file} 'select * from requests_v'`);
}
