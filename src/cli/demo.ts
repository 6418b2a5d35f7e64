/**
 * `mmtrace demo` (what `npm start` runs): record cmdline-poll on the mainline GUP path and show what
 * the emulated kernel did for the monitor's reads.
 */
import { percentile } from '../trace/aggregate.js';
import { openTrace } from '../trace/reader.js';
import { printJson, println } from './output.js';
import { recordRuns } from './record.js';
import { aggregateRun, printable } from './summary.js';

export async function demoCommand(o: { out: string; json?: boolean }): Promise<void> {
  const result = await recordRuns({
    workload: 'cmdline-poll', paths: ['gup'], variant: [], seed: 1, strategy: 'random', params: {},
    out: o.out, replace: true,
  });
  const run = result.runs[0]!;
  const trace = await openTrace(result.file);
  let agg;
  try {
    agg = aggregateRun(trace, run.id);
  } finally {
    trace.close();
  }
  const monitor = agg.requests.filter((r) => r.task === 'monitor');
  const waits = monitor.map((r) => r.waitTicks).sort((a, b) => a - b);
  if (o.json) {
    printJson({ file: result.file, run, aggregates: { ...agg, requests: agg.requests.map(({ data, ...r }) => ({ ...r, data: data ? printable(data) : null })) } });
    return;
  }
  const distinct = [...new Set(monitor.map((r) => (r.data ? printable(r.data) : '')))];
  println(`Recorded workload cmdline-poll on the mainline GUP path (seed 1): ${run.events} events, final hash ${run.finalHash}`);
  println(`  -> ${result.file}#${run.name}`);
  println();
  println(`The monitor read /proc/PID/cmdline ${monitor.length} times; every read returned ${distinct.length === 1 ? 'the same' : distinct.length + ' different'} bytes:`);
  for (const d of distinct) println(`    "${d}"  (${monitor.find((r) => r.data && printable(r.data) === d)!.result} bytes)`);
  println(`  waiting per read (virtual ticks): p50 ${percentile(waits, 50)}, p99 ${percentile(waits, 99)}, max ${waits[waits.length - 1] ?? 0}`);
  println();
  const locks = Object.entries(agg.lockAcquisitions).sort((a, b) => b[1] - a[1]);
  println('Lock acquisitions (contended):');
  for (const [k, v] of locks) println(`    ${k.padEnd(24)} ${String(v).padStart(6)}  (${agg.lockContended[k] ?? 0})`);
  println(`Page-table entry reads: ${Object.entries(agg.pgtableReads).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  println(`Folio references: ${agg.folioGets} gets, ${agg.folioPuts} puts; ${agg.bytesCopied} bytes copied to readers`);
  println(`Checks: ${agg.warnings} warnings, ${agg.useAfterFree} use-after-free, ${agg.deadlocks} deadlocks`);
  println();
  println(`Next: mmtrace list ${result.file}    sqlite3 ${result.file} 'select * from requests_v'`);
}
