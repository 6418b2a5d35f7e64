#!/usr/bin/env node
/**
 * The `mmtrace` command. Data goes to stdout (one JSON document with --json), progress and messages
 * to stderr. Exit codes: 0 success, 1 a negative answer (e.g. runs differ), 2 the command could not
 * do its job (bad input, bad file, unknown run or workload).
 */
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../errors.js';
import { endQuietlyOnBrokenPipe } from './broken-pipe.js';
import { moduleRejection } from '../modules/load.js';
import { VARIANTS } from '../linux/variants.js';
import { DONE_REQUESTS_LISTED } from '../replay/doc.js';
import { packageVersion } from '../version.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Commander's message for a usage error, as one line like every other bad input: `mmtrace: unknown
 * option '--x' (add --help for usage)`; its "(Did you mean x?)" line joins the first.
 */
function oneLineUsageError(text: string): string {
  const what = text.trim().replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/, " (did you mean '$1'?)");
  return `mmtrace: ${what} (add --help for usage)`;
}

function program(): Command {
  const p = new Command('mmtrace')
    .description('Deterministic emulator of the Linux mm paths behind __access_remote_vm(), with a trace recorder')
    .version(packageVersion())
    .configureOutput({ outputError: (text, write) => write(`${oneLineUsageError(text)}\n`) })
    .exitOverride();

  p.command('workloads')
    .description('list the workloads, their parameters and defaults, and what each shows')
    .option('--json', 'one JSON document on stdout')
    .action(async (o) => (await import('./workloads.js')).workloadsCommand(o));

  p.command('record')
    .description('run a workload once per path (same seed) and append one run per path to a trace file')
    .argument('<workload>', 'a workload name (see `npx mmtrace workloads`), or a workload module file (./my-race.ts)')
    .option('--path <paths>', 'comma-separated access paths: gup (mainline), fast (per-VMA lock), or path module files (./my-v2.ts)', 'gup')
    .option('--variant <switches>', `comma-separated switches of the fast path: ${Object.keys(VARIANTS).join(', ')}`, '')
    .option('--seed <n>', 'scheduler seed (non-negative integer)', '1')
    .option('--strategy <s>', 'scheduling strategy: random, pct:D, or schedule:STEP@TID,... (a schedule explore found)', 'random')
    .option('--undirected', "ignore the workload's directed schedule: the strategy alone orders the tasks (as explore runs them)")
    .option('--param <k=v>', 'workload parameter (repeatable)', collect, [])
    .option('--config <k=v>', 'kernel config, e.g. CONFIG_PER_VMA_LOCK=n, pteFreeImmediate=y (repeatable)', collect, [])
    .option('--out <file>', 'trace file (default traces/WORKLOAD.db)')
    .option('--name <run>', 'run name (default: the path plus variant switches)')
    .option('--replace', 'replace an existing run of the same name')
    .option('--max-events <n>', 'stop a run after this many events')
    .option('--max-bytes <size>', 'stop recording before the file passes this size: bytes, or with K, M, G, T (500M, 2G; powers of 1000)')
    .option('--yes', 'record even when the estimated file size passes 10 GB')
    .option('--json', 'one JSON document on stdout')
    .action(async (workload, o) => (await import('./record-command.js')).recordCommand(workload, o));

  const created = p.command('new')
    .description('write a commented starting file for a workload module or an access-path module');
  for (const kind of ['workload', 'path'] as const) {
    created.command(kind)
      .description(kind === 'workload'
        ? 'a workload module: a scenario of your own (docs/writing-workloads.md)'
        : 'an access-path module: your version of the fast path, starting from patch 3/3 v1 (docs/writing-a-path.md)')
      .argument('<name>', 'the module name (its file is NAME.ts; its runs and trace file are named after it)')
      .option('--out <file>', 'where to write it (default NAME.ts; an existing file is never overwritten)')
      .option('--json', 'one JSON document: {file, kind, name, next}')
      .action(async (name, o) => (await import('./new.js')).newCommand(kind, name, o));
  }

  p.command('list')
    .description('list the runs in a trace file')
    .argument('<file>', 'a trace file')
    .option('--json', 'one JSON document on stdout')
    .action(async (file, o) => (await import('./list.js')).listCommand(file, o));

  p.command('replay')
    .description('the whole emulated state at one event of a recorded run')
    .argument('<file#run>', 'a trace file, and the run (by name or id) if it holds several')
    .option('--until <sel>', 'event N, end, first-warning, or kind=K,task=T,n=N (the n-th match)', 'end')
    .option('--engine <e>', 'projection (fold the log from a snapshot) or reexec (run the model again)', 'projection')
    .option('--verify', 're-execute and check every event up to --until against the log (exit 1 on divergence)')
    .option('--requests <n>', 'list every request in flight and the last N that ended, or all', String(DONE_REQUESTS_LISTED))
    .option('--json', 'one JSON document on stdout (requestsLeftOut: the requests that ended and are not listed)')
    .action(async (ref, o) => (await import('./replay.js')).replayCommand(ref, o));

  p.command('diff')
    .description('semantic diff of two runs (exit 0 equivalent, 1 different, 2 error)')
    .argument('<a>', 'FILE#RUN')
    .argument('<b>', 'FILE#RUN')
    .option('--strict', 'also count any difference in the aligned event streams (kind event-stream)')
    .option('--json', 'one JSON document on stdout')
    .addHelpText('after', `
The runs may be in one file or two; RUN is a run's name (gup, fast, fast+touch ...) or id.
The report, most important first: VERDICT; FINDINGS (behaviour differences: bytes, mixed-vmas,
foll-anon-file-bytes, aging, warnings, final state ...); REQUESTS matched by task and number, with
the differing byte ranges and where each run's bytes came from (copy seq, address, VMA or file,
folio); NOTES (fallbacks, waits: not differences); AGGREGATES with deltas; EVENT STREAMS aligned
per task, with each run's seq for 'npx mmtrace replay FILE#RUN --until=SEQ'.

Example:
  npx mmtrace record cross-vma-race --path=gup,fast --out=race.db
  npx mmtrace diff race.db#gup race.db#fast`)
    .action(async (a, b, o) => {
      // The second run's pass starts first, in a worker that boots while this thread loads the diff
      // (on a machine with a core to spare for it: workerMinEventsFor).
      const { startPassEarly, workerMinEventsFor } = await import('../diff/pass-start.js');
      const early = workerMinEventsFor() < Infinity ? startPassEarly(b) : null;
      return (await import('./diff.js')).diffCommand(a, b, o, early);
    });

  p.command('check')
    .description('run the checkers (lockdep, lock-context, refcount, use-after-free, mixed-vmas, foll-anon, aging, deadlock) over recorded runs; exit 1 when anything is reported')
    .argument('<file[#run]>', 'a trace file (every run in it), or one run by name or id')
    .option('--starvation-ticks <n>', 'a wait longer than this is starvation (default 1000000)')
    .option('--checkers <list>', 'comma-separated checkers to run (default: all)')
    .option('--json', 'one JSON document: {file, runs: [{run, status, violations: [{checker, severity, message, seqs, witnesses, request}]}]}')
    .addHelpText('after', `
Example:
  npx mmtrace record cross-vma-race --path=gup,fast --out=race.db
  npx mmtrace check race.db`)
    .action(async (ref, o) => (await import('./check.js')).checkCommand(ref, o));

  p.command('explore')
    .description('run many schedules of a workload (no directed schedule, checkers on, nothing recorded), stop at the first violation, shrink it and keep it as a run; exit 1 when one is found')
    .argument('<workload>', 'a workload name (see `npx mmtrace workloads`), or a workload module file (./my-race.ts)')
    .option('--path <path>', 'the access path: gup, fast, or a path module file (./my-v2.ts)', 'fast')
    .option('--variant <switches>', `comma-separated switches of the fast path: ${Object.keys(VARIANTS).join(', ')}`, '')
    .option('--param <k=v>', 'workload parameter (repeatable)', collect, [])
    .option('--config <k=v>', 'kernel config (repeatable)', collect, [])
    .option('--strategy <s>', 'random, pct:D or bounded:P (see below)', 'random')
    .option('--seeds <n>', 'schedules to run (random, pct)', '1000')
    .option('--checkers <list>', 'comma-separated checkers that judge a schedule (default: all)')
    .option('--all', 'run every schedule instead of stopping at the first violation; report the first of each checker')
    .option('--workers <n>', 'threads running schedules, this one included (default: one fewer than the cores, at least 1)')
    .option('--shard <k/n>', 'run only units whose index is k mod n (split one search over n machines)')
    .option('--keep <file>', "record each shrunk violation as a run in this file ('' keeps none)", undefined)
    .option('--seed <n>', "the workload's own seed", '1')
    .option('--max-events <n>', 'cut a schedule after this many events', '200000')
    .option('--starvation-ticks <n>', 'a wait longer than this is starvation (default 1000000)')
    .option('--json', 'one JSON document: {schedules, schedulesPerSec, interleavings, pruned, complete, covered, violationsByChecker, violations: [{checker, seed, preemptions, events, replay, message, ...}]}')
    .addHelpText('after', `
Strategies:
  random      a fresh seed per schedule (schedule i uses seed i+1)
  pct:D       probabilistic concurrency testing with depth D: finds a bug of depth D with probability
              at least 1/(n*k^(D-1)) per schedule (n tasks, k steps)
  bounded:P   systematic: every schedule that deviates at most P times from the default scheduler
              (run the last task while it can, else the lowest tid), at choice points after a
              shared-state event; ends with the count, and "no violation" then covers them all

Shrinking: a violation is shrunk by delta debugging over the schedule's deviations, kept as a run
(default traces/explore-WORKLOAD.db), and printed with the command that replays it.

Example:
  npx mmtrace explore cross-vma-race --path=fast --checkers=mixed-vmas --keep=race.db
  npx mmtrace explore cross-vma-race --path=gup --strategy=bounded:1`)
    .action(async (workload, o) => (await import('./explore.js')).exploreCommand(workload, o));

  p.command('merge')
    .description('copy every run of the input trace files into OUT (created if needed): all or nothing, refused when a run name is taken')
    .argument('<out>', 'the trace file to merge into')
    .argument('<inputs...>', 'trace files whose runs to copy (e.g. the keep files of explore --shard)')
    .option('--json', 'one JSON document: {file, runs: [{from, name, events}]}')
    .addHelpText('after', `
Example:
  npx mmtrace explore cross-vma-race --shard=0/2 --keep=shard0.db
  npx mmtrace explore cross-vma-race --shard=1/2 --keep=shard1.db
  npx mmtrace merge all.db shard0.db shard1.db`)
    .action(async (out, inputs, o) => (await import('./merge.js')).mergeCommand(out, inputs, o));

  p.command('export')
    .description('write a run for other tools: Chrome Trace Event JSON (Perfetto UI, chrome://tracing), Perfetto protobuf, or NDJSON')
    .argument('<file#run>', 'a trace file, and the run (by name or id) if it holds several')
    .option('--format <f>', 'chrome (Trace Event Format JSON), perfetto (protobuf TracePackets) or ndjson (one JSON object per event)', 'chrome')
    .option('--out <file>', 'write to this file (default: stdout)')
    .addHelpText('after', `
chrome: one process per emulated process, one thread per task; calls as nested slices, requests and
waits as complete slices, lock holds as async slices per lock class, flows from a waker to the task
it wakes and from each folio_get to its folio_put, counters for mmap_lock waiters and folio
refcounts. One virtual tick is written as one microsecond.
perfetto: the same timeline as TracePackets (protos/perfetto_trace.proto), names interned; requests,
waits and lock holds on child tracks of the task's thread. Binary: give --out or redirect.
ndjson: {seq, tick, tid, task, kind, ...fields}, coded values by name, bytes as hex.

Example:
  npx mmtrace record stuck-writer --out=stuck.db
  npx mmtrace export stuck.db --out=stuck.json
  npx mmtrace export stuck.db --format=perfetto --out=stuck.pftrace`)
    .action(async (ref, o) => (await import('./export.js')).exportCommand(ref, o));

  p.command('review')
    .description('the candidate path against gup across the scenario library: diffs, explored violations, headline figures, a report to paste into a reply')
    .addOption(new Option('--path <path>', 'the candidate: fast, or a path module file (./my-v2.ts)').default('fast'))
    .option('--variant <list>', "the fast path's review switches, comma-separated", '')
    .option('--config <k=v>', 'kernel config for every run (repeatable)', collect, [])
    .option('--seeds <n>', 'seeds 1..N of every scenario', '1')
    .option('--explore <n>', 'random schedules explored per scenario with the checkers on (0: none)', '100')
    .option('--workloads <list>', 'the scenarios (built-in names or workload modules; default: the whole library)')
    .option('--out <file>', 'the trace file of every run and kept violation (default traces/review-PATH.db)')
    .option('--workers <n>', 'worker threads (default: every core)')
    .option('--json', 'one JSON document on stdout')
    .addHelpText('after', `
Exit 0 when every scenario is equivalent and explore found nothing, 1 otherwise. Examples:
  npx mmtrace review --workloads=cross-vma-race,file-cmdline
  npx mmtrace review --variant=singleVmaOnly,checkFollAnon,touch --explore=0`)
    .action(async (o) => (await import('./review.js')).reviewCommand(o));

  p.command('tui')
    .description('browse a run in the terminal: events, state, lock lanes; with two runs, the diff view')
    .argument('<file#run>', 'a trace file, and the run if it holds several (without one: a run picker)')
    .argument('[other#run]', 'a second run: open the diff view of the two')
    .option('--follow', 'open a run that is still recording; the list grows as events commit (like less +F)')
    .addHelpText('after', `
Keys: ? in the browser, and README "Browsing a run". Example:
  npx mmtrace record stuck-writer --path=gup,fast --out=sw.db
  npx mmtrace tui sw.db#gup
  npx mmtrace tui sw.db#gup sw.db#fast`)
    .action(async (ref, other, o) => {
      // ink draws only the last frame when it believes it runs in CI (it reads CI when loaded); a
      // terminal on stdout means a person is looking, whatever the environment says
      if (process.stdout.isTTY) {
        delete process.env.CI;
        delete process.env.CONTINUOUS_INTEGRATION;
      }
      // React's development build checks every element and doubles the garbage of each frame
      process.env.NODE_ENV ??= 'production';
      const { progress } = await import('./progress.js');
      return (await import('../../tui/main.js')).runTui(other === undefined ? [ref] : [ref, other], { ...o, progress });
    })

  p.command('query')
    .description('one SQL statement over a trace file, opened read-only (tables and views: README "The trace file")')
    .argument('<file>', 'a trace file')
    .argument('<sql>', 'the SQL, or @NAME for queries/NAME.sql')
    .option('--json', 'one JSON document on stdout: {columns, rows: [{column: value}]}')
    .option('--csv', 'CSV (RFC 4180) on stdout, with a header line')
    .addHelpText('after', `
Example:
  npx mmtrace record cmdline-poll --out=poll.db
  npx mmtrace query poll.db "select request, result, data_hash from requests_v"
  npx mmtrace query poll.db @lock-acquisitions`)
    .action(async (file, sql, o) => (await import('./query.js')).queryCommand(file, sql, o));

  p.command('bench')
    .description('performance figures, each beside its baseline measured in the same run')
    .option('--events <n>', 'approximate events of the measured run', '10000000')
    .option('--skip <list>', 'figures not to measure (null in --json): review (a minute), tui, rss10m, rss100m (minutes)')
    .option('--against <dir>', "another checkout's root with a built dist/: run its bench first and give every figure beside its own, with the ratio")
    .option('--rounds <n>', 'run the bench N times, each in a process of its own (alternating with the --against build\'s), and give the median of every figure', '1')
    .option('--json', 'one JSON document on stdout')
    .action(async (o) => (await import('./bench.js')).benchCommand(o));

  p.command('demo')
    .description('record cmdline-poll, then the cross-VMA race on gup, fast and fast+fixes, diff them and print what happened (npm start)')
    .addOption(new Option('--out <file>', 'trace file').default('traces/cmdline-poll.db'))
    .option('--json', 'one JSON document on stdout')
    .action(async (o) => (await import('./demo.js')).demoCommand(o));

  return p;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return e.exitCode === 0 ? 0 : 2;
    }
    const { message, exitCode } = describeError(e);
    process.stderr.write(`mmtrace: ${message}\n`);
    return exitCode;
  }
}

endQuietlyOnBrokenPipe();
// A promise that failed with nobody awaiting it (a module's step that calls import(): the hooks
// refuse a built-in once the step is over) would end the process with a stack trace: one line.
process.on('unhandledRejection', (e) => {
  const { message, exitCode } = describeError(moduleRejection(e) ?? e);
  process.stderr.write(`mmtrace: ${message}\n`);
  process.exit(exitCode);
});
process.exitCode = await main(process.argv);
