/**
 * `mmtrace bench`: performance figures, each beside its baseline measured in the same process
 * (absolute times on shared machines are noisy; ratios are what the targets are about). One run of
 * the scale workload of about `--events` events is recorded and then replayed:
 *
 *   simEventsPerSec        the run simulated into a sink that keeps nothing (target >= 4M)
 *   simFastEventsPerSec    the same workload with the per-VMA-lock fast path built in
 *   recordEventsPerSec     the same run simulated and recorded (`mmtrace record`, snapshots included;
 *                          target >= 3M)
 *   recordOverhead         recording time over simulating time (target <= 1.25)
 *                          The three come from RECORD_PAIRS pairs of a simulation and a recording,
 *                          in alternating order: the rates are the medians of their runs, the
 *                          overhead the median of the pairs' ratios (each in recordOverheadPairs).
 *                          One pair's ratio moved by a fifth between benches.
 *   bytesPerEvent          trace file size / events (snapshots included; target <= 16)
 *   readEventsPerSec       every event of the run decoded from the file into typed arrays
 *                          (Trace.eventBlocks; target >= 8M)
 *   rawInsertEventsPerSec  a raw better-sqlite3 loop inserting rows of the same shape, one INSERT per
 *                          row in 16384-row transactions: the baseline (target: record >= 0.6 of it)
 *   snapshots, snapshotBytesPerEvent, snapshotShareOfRecord  what the replay snapshots cost
 *   replayUntilMedianMs    `replay --until` (projection, document built as the command prints it:
 *                          the requests in flight and the last DONE_REQUESTS_LISTED that ended) to
 *                          random events: median (target <= 30 on a 10-million-event run), with
 *                          replayUntilP90Ms
 *   replayFromZeroMs       the same, folding from event 0 without snapshots: the baseline
 *   verifyEventsPerSec     re-execution with --verify of the whole run (verifyVsRecord, its ratio to
 *                          recordEventsPerSec: target >= 1)
 *   diff1MMs               `mmtrace diff` (semantic diff plus aligned event streams) of the scale
 *                          workload recorded on gup and on fast, about min(--events, 1M) events each,
 *                          the first diff of the process (cold, as the command is); on more than two
 *                          cores the second run's pass goes to a worker thread, so this can come in
 *                          below the baseline (workerMinEventsFor, diff/pass-start.ts); target <= 600
 *   readBoth1MMs           reading both runs' events once, on one thread, in blocks as the diff's
 *                          passes read them: the baseline (diffOverRead, target <= 2)
 *   diff1MSerialMs         the same diff with both passes on this thread (no worker): what the diff
 *                          costs above the read on one core (serialDiffOverRead)
 *   align100kMs, align1MMs the event-stream alignment alone at a tenth of that size and at that
 *                          size: alignGrowth1MOver100k should be about 10 (linear), not 100
 *   checkOverhead          the scale workload simulated with every checker on, over the same run
 *                          simulated alone (medians of 9 alternating runs; target <= 1.3)
 *   exploreSchedulesPerSec `mmtrace explore cross-vma-race --path=gup` (random, on the command's default
 *                          threads: every core but one, at least one; defaultExploreThreads): schedules
 *                          per second over 3000 schedules (fewer below ~1M --events; target >= 1000
 *                          on a 2-core machine)
 *   exploreFirstViolationMs the same on the fast path as posted, judged by mixed-vmas: wall time until
 *                          the cross-VMA race is found (exploreShrinkMs: shrinking it after)
 *   tuiFirstFrameMs        `mmtrace tui` on the run, drawn to an in-memory 200x50 terminal in a process
 *                          of its own (tui/bench.ts): opening the file to the first frame (target <= 300)
 *   tuiKeyToFrameMs        key to frame, median over page, jump, search, next match, where-from and
 *                          back (target <= 50)
 *   tuiRssMb               that process's peak resident set (target <= 250; ink and React alone: ~90)
 *                          Each of the three is the median of three processes.
 *   reviewLibraryMs        `mmtrace review` of the whole built-in library with the defaults (fast
 *                          against gup, seed 1, 100 explored schedules per scenario): wall time on
 *                          every core (target <= 60000 on a 2-core machine)
 *   rssMbAt10M, rssMbAt100M  peak resident set of a process recording the scale workload at 10M and
 *                          at 100M events (bench-rss.ts, one child each, so the figure is the
 *                          recorder's alone): memory should stay flat, within 10%, as runs grow
 *
 * With --against=DIR, the bench of another checkout's build (DIR/dist) runs first, in a child
 * process with the same --events, and every figure is shown beside its figure there (bench-against.ts).
 * With --rounds=N (N > 1) the bench runs N times, each in a child process of its own (alternating
 * with the other build's, the two going first in turn), and every figure is the median of its N.
 * The figures say which node ran them and with which options; the children get the same options.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errors } from '../errors.js';
import { alignRuns } from '../diff/align.js';
import { diffTraces } from '../diff/diff.js';
import { DONE_REQUESTS_LISTED, toDoc } from '../replay/doc.js';
import { project } from '../replay/projection.js';
import { reexecute } from '../replay/reexec.js';
import { RandomStrategy } from '../sim/strategy.js';
import { Prng } from '../sim/prng.js';
import { openTrace, type RunInfo, type Trace } from '../trace/reader.js';
import { percentile } from '../reduce/aggregates.js';
import { NULL_SINK, type EventSink } from '../trace/sink.js';
import { CheckingSink } from '../check/online.js';
import { defaultExploreThreads, explore } from '../explore/explore.js';
import { availableParallelism } from 'node:os';
import { findWorkload, resolveParams } from '../workloads/index.js';
import { runWorkload } from '../workloads/runner.js';
import type { AccessPath } from '../workloads/workload.js';
import { recordRuns, type RecordedRun } from '../record/record.js';
import { review } from '../review/review.js';
import { againstCli, againstTable, benchOf, medianFigures, ownBench, ratios, type Against } from './bench-against.js';
import { rawLoop } from './bench-store.js';
import { printJson, println } from './output.js';
import { progress } from './progress.js';


/** The scale workload's parameters for roughly `events` events (about 2000 per iteration). */
export function scaleParams(events: number): Record<string, string> {
  const iterations = Math.max(10, Math.round(events / 2000));
  return { iterations: String(iterations), reads: String(iterations * 2) };
}

function simulateAlone(events: number, path: AccessPath = 'gup'): number {
  const w = findWorkload('scale')!;
  const params = resolveParams(w, scaleParams(events));
  const t0 = performance.now();
  // without the kernel's request log, as recording runs it: the two figures are of one simulation
  const r = runWorkload({ workload: w, params, path, variant: [], seed: 1, strategy: new RandomStrategy(1), sink: NULL_SINK, requestLog: false });
  return r.events / ((performance.now() - t0) / 1000);
}

/** Pairs of a simulation alone and a recording of the same run, alternating (see the top). */
const RECORD_PAIRS = 3;

/**
 * The simulation and recording figures, from RECORD_PAIRS pairs. The pairs alternate their order
 * (simulate then record, record then simulate, ...): a simulation right after a recording ran up to
 * 9% slower, and a process's first recording up to 10% slower than later ones, so neither side
 * always gets the disadvantaged turn. The first pair's recording goes to `file` and is the run
 * every later figure reads; the others are deleted.
 */
async function simulateAndRecord(events: number, file: string, dir: string, log: (line: string) => void) {
  // seconds an event, of each simulation and each recording
  const simulating: number[] = [];
  const recording: number[] = [];
  let kept: { run: RecordedRun; seconds: number } | undefined;
  const simulate = (pair: number) => {
    log(`simulating alone (${pair} of ${RECORD_PAIRS})`);
    simulating.push(1 / simulateAlone(events));
  };
  const record = async (pair: number) => {
    log(`recording (${pair} of ${RECORD_PAIRS})`);
    const out = pair === 1 ? file : join(dir, `bench-${pair}.db`);
    const t0 = performance.now();
    const rec = await recordRuns({
      workload: 'scale', paths: ['gup'], variant: [], seed: 1, strategy: 'random', params: scaleParams(events), out, progress,
    });
    const seconds = (performance.now() - t0) / 1000;
    const run = rec.runs[0]!;
    recording.push(seconds / run.events);
    if (pair === 1) kept = { run, seconds };
    else rmSync(out, { force: true });
  };
  for (let pair = 1; pair <= RECORD_PAIRS; pair++) {
    const simulateFirst = pair % 2 === 1;
    if (simulateFirst) simulate(pair);
    await record(pair);
    if (!simulateFirst) simulate(pair);
  }
  return {
    simEventsPerSec: 1 / median(simulating),
    recordEventsPerSec: 1 / median(recording),
    overheadOfPairs: recording.map((r, i) => r / simulating[i]!),
    run: kept!.run,
    // the kept (first) recording's time: what its snapshots' share is of
    recordSeconds: kept!.seconds,
  };
}

function fileBytes(file: string): number {
  let total = 0;
  for (const s of ['', '-wal']) {
    try {
      total += statSync(file + s).size;
    } catch {
      // no WAL left after the checkpoint on close
    }
  }
  return total;
}

/** The p-th percentile of xs (the aggregates' nearest-rank percentile). */
function pct(xs: number[], p: number): number {
  return percentile([...xs].sort((a, b) => a - b), p);
}

/** The median of xs, as pct takes it (of an even count, the lower middle). */
function median(xs: number[]): number {
  return pct(xs, 50);
}

export interface BenchFigures {
  /** The node that ran the bench, and the options it was started with (its children get them too). */
  node: string;
  nodeOptions: string[];
  /** How many benches, each in a process of its own, every figure is the median of (--rounds; 1: this one). */
  rounds: number;
  events: number;
  simEventsPerSec: number;
  simFastEventsPerSec: number;
  recordEventsPerSec: number;
  recordOverhead: number;
  /** Each pair's ratio, in order (of the first bench, with --rounds): how far one pair strays. */
  recordOverheadPairs: number[];
  bytesPerEvent: number;
  readEventsPerSec: number;
  rawInsertEventsPerSec: number;
  recordVsRawInsert: number;
  snapshots: number;
  snapshotBytesPerEvent: number;
  snapshotShareOfRecord: number;
  replayUntilMedianMs: number;
  replayUntilP90Ms: number;
  replayFromZeroMs: number;
  verifyEventsPerSec: number;
  verifyVsRecord: number;
  diffEvents: number;
  diff1MMs: number;
  readBoth1MMs: number;
  diffOverRead: number;
  diff1MSerialMs: number;
  serialDiffOverRead: number;
  alignSmallEvents: number;
  align100kMs: number;
  align1MMs: number;
  alignGrowth1MOver100k: number;
  checkEvents: number;
  checkOverhead: number;
  exploreSchedulesPerSec: number;
  exploreFirstViolationMs: number;
  exploreShrinkMs: number;
  /** null when skipped (--skip=tui, --skip=review). */
  tuiFirstFrameMs: number | null;
  tuiKeyToFrameMs: number | null;
  tuiRssMb: number | null;
  reviewLibraryMs: number | null;
  /** null when skipped (--skip=rss10m, --skip=rss100m). */
  rssMbAt10M: number | null;
  rssMbAt100M: number | null;
}

/**
 * Schedules explore runs on gup for its rate: 3000 at a million events or more, fewer on a quick
 * bench (--events small), never under 300 (a rate over fewer is mostly start-up). The search for
 * the race on fast stops at its first violation, so its budget stays 3000.
 */
function exploreSchedules(events: number): number {
  return Math.min(3000, Math.max(300, Math.round(events / 300)));
}

/** The checkers' cost on a run of about min(events, 500k) events, and explore's speed. */
async function checkFigures(events: number, log: (line: string) => void) {
  log('checkers on and off');
  const w = findWorkload('scale')!;
  const params = resolveParams(w, scaleParams(Math.min(events, 500_000)));
  let checkEvents = 0;
  const run = (sink: EventSink) => {
    const t0 = performance.now();
    checkEvents = runWorkload({ workload: w, params, path: 'gup', variant: [], seed: 1, strategy: new RandomStrategy(1), sink }).events;
    return performance.now() - t0;
  };
  run(new CheckingSink()); // warm the JIT
  const alone: number[] = [];
  const checked: number[] = [];
  // Nine alternating pairs: a ratio of two ~0.3 s runs on a shared machine needs the median of many.
  for (let i = 0; i < 9; i++) {
    alone.push(run(NULL_SINK));
    checked.push(run(new CheckingSink()));
  }
  log('explore');
  const target = { workload: 'cross-vma-race', variant: [], params: {}, config: {}, seed: 1, maxEvents: 200_000 };
  // the threads `mmtrace explore` runs on by default
  const base = { all: false, workers: defaultExploreThreads(), shard: { index: 0, count: 1 } };
  const clean = await explore({ ...base, target: { ...target, path: 'gup' }, strategy: 'random', schedules: exploreSchedules(events) });
  const race = await explore({ ...base, target: { ...target, path: 'fast', checkers: ['mixed-vmas'] }, strategy: 'random', schedules: 3000 });
  return {
    checkEvents, checkOverhead: +(median(checked) / median(alone)).toFixed(2),
    exploreSchedulesPerSec: clean.schedulesPerSec, exploreFirstViolationMs: race.searchMs, exploreShrinkMs: race.shrinkMs,
  };
}

/** Events per run of the diff figures: 1M, or --events when that is smaller (quick runs). */
const DIFF_EVENTS = 1_000_000;

/** Record the scale workload on gup and on fast (same seed) into `file`; the two runs. */
async function recordPair(file: string, events: number): Promise<{ trace: Trace; gup: RunInfo; fast: RunInfo }> {
  await recordRuns({ workload: 'scale', paths: ['gup', 'fast'], variant: [], seed: 1, strategy: 'random', params: scaleParams(events), out: file, progress });
  const trace = await openTrace(file);
  return { trace, gup: trace.resolveRun('gup'), fast: trace.resolveRun('fast') };
}

async function timedAsync(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

function timed(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

/** Every event of a run decoded into blocks (the kinds summed, so the read is not optimised away). */
function readAll(trace: Trace, run: RunInfo): number {
  let sum = 0;
  for (const b of trace.eventBlocks(run.id)) for (let i = 0; i < b.count; i++) sum += b.kind[i]!;
  return sum;
}

/** The baseline of a diff: every event of both runs read once, in blocks, as the diff's passes read them. */
function readBoth(trace: Trace, a: RunInfo, b: RunInfo): number {
  return readAll(trace, a) + readAll(trace, b);
}

/** What `mmtrace diff` does: facts of both runs, the semantic diff, then the aligned streams. */
async function diffAndAlign(trace: Trace, a: RunInfo, b: RunInfo, workerMinEvents?: number): Promise<number> {
  const report = await diffTraces(trace, a, trace, b, false, { workerMinEvents });
  return report.hunks?.length ?? 0;
}

interface DiffFigures {
  diffEvents: number; diff1MMs: number; diff1MSerialMs: number; readBoth1MMs: number;
  alignSmallEvents: number; align100kMs: number; align1MMs: number;
}

async function diffFigures(dir: string, events: number, log: (line: string) => void): Promise<DiffFigures> {
  const bigEvents = Math.min(events, DIFF_EVENTS);
  log(`recording the scale workload on gup and fast (~${bigEvents} and ~${Math.round(bigEvents / 10)} events each)`);
  const big = await recordPair(join(dir, 'diff-big.db'), bigEvents);
  const small = await recordPair(join(dir, 'diff-small.db'), Math.round(bigEvents / 10));
  try {
    alignRuns(small.trace, small.gup, small.trace, small.fast); // warm the JIT
    // The first read after recording also pays for the page cache and the WAL; not part of a diff.
    readBoth(big.trace, big.gup, big.fast);
    log('reading both runs (diff baseline)');
    const readBoth1MMs = timed(() => readBoth(big.trace, big.gup, big.fast));
    log('diff with aligned event streams');
    const diff1MMs = await timedAsync(() => diffAndAlign(big.trace, big.gup, big.fast));
    log('the same diff on one thread');
    const diff1MSerialMs = await timedAsync(() => diffAndAlign(big.trace, big.gup, big.fast, Infinity));
    log('alignment alone at two sizes');
    const align100kMs = timed(() => alignRuns(small.trace, small.gup, small.trace, small.fast));
    const align1MMs = timed(() => alignRuns(big.trace, big.gup, big.trace, big.fast));
    return {
      diffEvents: big.gup.events, diff1MMs, diff1MSerialMs, readBoth1MMs, alignSmallEvents: small.gup.events, align100kMs, align1MMs,
    };
  } finally {
    big.trace.close();
    small.trace.close();
  }
}

const ms = (x: number) => +x.toFixed(1);

/** The browser's figures (tui/bench.ts), each the median of three processes. */
function tuiFigures(ref: string, events: number): { tuiFirstFrameMs: number; tuiKeyToFrameMs: number; tuiRssMb: number } {
  const script = fileURLToPath(new URL('../../tui/bench.js', import.meta.url));
  // as `mmtrace tui` does on a terminal: without CI in its environment, ink draws every frame
  // rather than only the last one at exit, and the figures are of the interactive browser
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  const runs = [0, 1, 2].map(() => {
    const r = spawnSync(process.execPath, [...process.execArgv, script, ref, String(events)], { encoding: 'utf8', env });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (r.status !== 0 || !line) throw new Error(`bench: the browser's measurement failed: ${r.stderr.trim() || r.stdout.trim()}`);
    return JSON.parse(line) as { firstFrameMs: number; keyToFrameMs: number; rssMb: number };
  });
  const mid = (f: (x: (typeof runs)[number]) => number) => median(runs.map(f));
  return { tuiFirstFrameMs: mid((x) => x.firstFrameMs), tuiKeyToFrameMs: mid((x) => x.keyToFrameMs), tuiRssMb: mid((x) => x.rssMb) };
}

/**
 * Peak resident set, in MB, of a child process recording the scale workload of about `events`
 * events (bench-rss.ts).
 */
export function recordingRssMb(events: number, dir: string): number {
  const script = fileURLToPath(new URL('./bench-rss.js', import.meta.url));
  const file = join(dir, `rss-${events}.db`);
  try {
    const r = spawnSync(process.execPath, [...process.execArgv, script, String(events), file], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (r.status !== 0 || !line) throw new Error(`bench: recording ${events} events in a child failed: ${r.stderr.trim() || r.stdout.trim()}`);
    return (JSON.parse(line) as { rssMb: number }).rssMb;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Figure groups `--skip` may leave out: the slow ones that are not about the measured run. */
export const SKIPPABLE = ['review', 'tui', 'rss10m', 'rss100m'] as const;
export type Skippable = (typeof SKIPPABLE)[number];

export function parseSkip(text: string | undefined): Set<Skippable> {
  const names = (text ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const n of names) {
    if (!(SKIPPABLE as readonly string[]).includes(n)) throw errors.usage(`--skip takes ${SKIPPABLE.join(', ')}, got '${n}'`);
  }
  return new Set(names as Skippable[]);
}

export async function runBench(events: number, log: (line: string) => void, skip: ReadonlySet<Skippable> = new Set()): Promise<BenchFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'mmtrace-bench-'));
  try {
    // Warm up to the steady state every later figure is measured in: V8 grows the young generation
    // only as survivors grow, and after 200k events the first 10M still ran 10-15% slower than a
    // second run (docs/performance.md).
    simulateAlone(Math.min(events, 1_000_000));
    log('simulating the fast path alone');
    const simFastEventsPerSec = simulateAlone(events, 'fast');
    const file = join(dir, 'bench.db');
    const { simEventsPerSec, recordEventsPerSec, overheadOfPairs, run, recordSeconds } = await simulateAndRecord(events, file, dir, log);

    log('raw insert baseline');
    const raw = rawLoop(join(dir, 'raw.db'), run.events);

    const trace = await openTrace(file);
    try {
      const info = trace.resolveRun(run.name);
      const snapshotBytes = trace.snapshotBytes(info.id);
      log('reading every event');
      readAll(trace, info); // the first read also pays for the page cache
      const readEventsPerSec = info.events / (timed(() => readAll(trace, info)) / 1000);
      log('replay --until at random events');
      const rng = new Prng(7);
      const points = Array.from({ length: 21 }, () => 1 + rng.below(run.events));
      // The document `replay --until` prints: the requests in flight and the last ones that ended.
      const doc = { doneRequests: DONE_REQUESTS_LISTED };
      const replayMs = points.map((seq) => {
        const t = performance.now();
        JSON.stringify(toDoc(project(trace, info, seq).model, doc));
        return performance.now() - t;
      });
      log('replay from event 0 (baseline)');
      const zeroMs = points.slice(0, 3).map((seq) => {
        const t = performance.now();
        JSON.stringify(toDoc(project(trace, info, seq, { useSnapshots: false }).model, doc));
        return performance.now() - t;
      });
      log('re-execution with --verify');
      const v0 = performance.now();
      const verified = reexecute(trace, info, info.events, { verify: true });
      if (verified.divergence) throw new Error(`bench: re-execution diverged at event ${verified.divergence.seq}`);
      const verifyEventsPerSec = verified.events / ((performance.now() - v0) / 1000);
      if (!skip.has('tui')) log('the browser on the run (three processes)');
      const tui = skip.has('tui') ? { tuiFirstFrameMs: null, tuiKeyToFrameMs: null, tuiRssMb: null } : tuiFigures(`${file}#${info.name}`, info.events);
      if (!skip.has('review')) log('a review of the whole library');
      const reviewLibraryMs = skip.has('review') ? null : await timedAsync(() => review({
        path: 'fast', variant: [], config: {}, seeds: 1, explore: 100, workloads: null, out: join(dir, 'review.db'), workers: availableParallelism(),
      }));
      const d = await diffFigures(dir, events, log);
      const c = await checkFigures(events, log);
      const rssAt = (events: number, name: Skippable): number | null => {
        if (skip.has(name)) return null;
        log(`peak memory while recording ${events / 1e6}M events (a child process)`);
        return recordingRssMb(events, dir);
      };
      const rssMbAt10M = rssAt(10_000_000, 'rss10m');
      const rssMbAt100M = rssAt(100_000_000, 'rss100m');
      return {
        node: process.version,
        nodeOptions: [...process.execArgv],
        rounds: 1,
        events: run.events,
        simEventsPerSec: Math.round(simEventsPerSec),
        simFastEventsPerSec: Math.round(simFastEventsPerSec),
        recordEventsPerSec: Math.round(recordEventsPerSec),
        recordOverhead: +median(overheadOfPairs).toFixed(2),
        recordOverheadPairs: overheadOfPairs.map((x) => +x.toFixed(2)),
        bytesPerEvent: +(fileBytes(file) / run.events).toFixed(1),
        readEventsPerSec: Math.round(readEventsPerSec),
        rawInsertEventsPerSec: Math.round(raw),
        recordVsRawInsert: +(recordEventsPerSec / raw).toFixed(2),
        snapshots: run.snapshots,
        snapshotBytesPerEvent: +(snapshotBytes / run.events).toFixed(1),
        snapshotShareOfRecord: +(run.snapshotMs / 1000 / recordSeconds).toFixed(3),
        replayUntilMedianMs: ms(median(replayMs)),
        replayUntilP90Ms: ms(pct(replayMs, 90)),
        replayFromZeroMs: ms(median(zeroMs)),
        verifyEventsPerSec: Math.round(verifyEventsPerSec),
        verifyVsRecord: +(verifyEventsPerSec / recordEventsPerSec).toFixed(2),
        diffEvents: d.diffEvents,
        diff1MMs: ms(d.diff1MMs),
        readBoth1MMs: ms(d.readBoth1MMs),
        diffOverRead: +(d.diff1MMs / d.readBoth1MMs).toFixed(2),
        diff1MSerialMs: ms(d.diff1MSerialMs),
        serialDiffOverRead: +(d.diff1MSerialMs / d.readBoth1MMs).toFixed(2),
        alignSmallEvents: d.alignSmallEvents,
        align100kMs: ms(d.align100kMs),
        align1MMs: ms(d.align1MMs),
        alignGrowth1MOver100k: +(d.align1MMs / d.align100kMs).toFixed(1),
        ...c,
        ...tui,
        reviewLibraryMs: reviewLibraryMs === null ? null : ms(reviewLibraryMs),
        rssMbAt10M,
        rssMbAt100M,
      };
    } finally {
      trace.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One bench in this process, after the other build's in a child (--against). */
async function oneRound(events: number, skip: ReadonlySet<Skippable>, againstDir: string | undefined): Promise<{ figures: BenchFigures; against?: Against }> {
  const log = (line: string) => process.stderr.write(`  ${line}...\n`);
  let against: Against | undefined;
  if (againstDir !== undefined) {
    process.stderr.write(`mmtrace bench: first the bench of ${againstDir}\n`);
    against = { dir: resolve(againstDir), figures: benchOf(againstDir, events, [...skip]), ratios: {} };
  }
  process.stderr.write(`mmtrace bench: one scale run of ~${events} events\n`);
  return { figures: await runBench(events, log, skip), against };
}

/**
 * `rounds` benches of this build, each in a child process, alternating with the other build's
 * (--against), every figure the median of its rounds. The two take turns going first (the other
 * build in odd rounds, this one in even ones): on this machine the second of two benches in a row
 * measured slower, for code the same in both, so a fixed order would bias every ratio.
 */
function alternateRounds(rounds: number, events: number, skip: ReadonlySet<Skippable>, againstDir: string | undefined): { figures: BenchFigures; against?: Against } {
  const mine: Record<string, unknown>[] = [];
  const theirs: Record<string, unknown>[] = [];
  const theirBench = (round: number) => {
    if (againstDir === undefined) return;
    process.stderr.write(`mmtrace bench: round ${round} of ${rounds}, the bench of ${againstDir}\n`);
    theirs.push(benchOf(againstDir, events, [...skip]));
  };
  const myBench = (round: number) => {
    process.stderr.write(`mmtrace bench: round ${round} of ${rounds}, this build's bench\n`);
    mine.push(ownBench(events, [...skip]));
  };
  for (let round = 1; round <= rounds; round++) {
    const theirsFirst = round % 2 === 1;
    if (theirsFirst) theirBench(round);
    myBench(round);
    if (!theirsFirst) theirBench(round);
  }
  const figures = { ...(medianFigures(mine) as unknown as BenchFigures), rounds };
  // the other build's figures are medians of as many rounds (so no ratio of the round counts)
  return { figures, against: againstDir === undefined ? undefined : { dir: resolve(againstDir), figures: { ...medianFigures(theirs), rounds }, ratios: {} } };
}

export async function benchCommand(o: { events: string; skip?: string; against?: string; rounds: string; json?: boolean }): Promise<void> {
  const events = Number(o.events);
  if (!Number.isInteger(events) || events < 10_000) throw errors.usage(`--events must be an integer >= 10000, got '${o.events}'`);
  const rounds = Number(o.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw errors.usage(`--rounds must be an integer >= 1, got '${o.rounds}'`);
  const skip = parseSkip(o.skip);
  if (o.against !== undefined) againstCli(o.against);
  const { figures: f, against } = rounds === 1 ? await oneRound(events, skip, o.against) : alternateRounds(rounds, events, skip, o.against);
  if (against) against.ratios = ratios({ ...f }, against.figures);
  if (o.json) {
    printJson(against ? { ...f, against } : f);
    return;
  }
  println(`node                        ${[f.node, ...f.nodeOptions].join(' ')}`);
  if (f.rounds > 1) println(`every figure                the median of ${f.rounds} benches, each in a process of its own${against ? ', alternating with the other build\'s' : ''}`);
  println(`events in the run           ${f.events}`);
  println(`simulate alone              ${f.simEventsPerSec} events/s   (target >= 4M; fast path built in: ${f.simFastEventsPerSec})`);
  println(`simulate + record           ${f.recordEventsPerSec} events/s   (target >= 3M; overhead ${f.recordOverhead}x, ${f.rounds > 1 ? 'the median over rounds; the first round\'s pairs' : 'the median of pairs'} ${f.recordOverheadPairs.join(', ')}; target <= 1.25)`);
  println(`raw better-sqlite3 insert   ${f.rawInsertEventsPerSec} events/s   (record/raw ${f.recordVsRawInsert}, target >= 0.6)`);
  println(`read every event            ${f.readEventsPerSec} events/s   (target >= 8M)`);
  println(`bytes per event on disk     ${f.bytesPerEvent}   (snapshots: ${f.snapshots}, ${f.snapshotBytesPerEvent} bytes/event, ${(f.snapshotShareOfRecord * 100).toFixed(1)}% of record time; target <= 16)`);
  println(`replay --until (projection) median ${f.replayUntilMedianMs} ms, p90 ${f.replayUntilP90Ms} ms   (from event 0: ${f.replayFromZeroMs} ms; target <= 30 ms at 10M events)`);
  println(`re-execution with --verify  ${f.verifyEventsPerSec} events/s   (verify/record ${f.verifyVsRecord}, target >= 1)`);
  println(`diff gup vs fast (aligned)  ${f.diff1MMs} ms for 2 x ${f.diffEvents} events   (target <= 600 ms; reading both: ${f.readBoth1MMs} ms; diff/read ${f.diffOverRead}, target <= 2)`);
  println(`  on one thread              ${f.diff1MSerialMs} ms   (diff/read ${f.serialDiffOverRead})`);
  println(`event-stream alignment      ${f.align100kMs} ms at ${f.alignSmallEvents} events, ${f.align1MMs} ms at ${f.diffEvents}   (growth ${f.alignGrowth1MOver100k}x for ${(f.diffEvents / f.alignSmallEvents).toFixed(1)}x the events)`);
  println(`checkers on                 ${f.checkOverhead}x the simulation alone at ${f.checkEvents} events   (target <= 1.3)`);
  if (f.reviewLibraryMs !== null) println(`review of the library       ${f.reviewLibraryMs} ms   (target <= 60000 on 2 cores)`);
  if (f.tuiFirstFrameMs !== null) println(`tui on the run (200x50)     first frame ${f.tuiFirstFrameMs} ms (target <= 300), key to frame ${f.tuiKeyToFrameMs} ms (target <= 50), ${f.tuiRssMb} MB resident (target <= 250)`);
  println(`explore cross-vma-race      ${f.exploreSchedulesPerSec} schedules/s on gup (target >= 1000); the race found on fast in ${f.exploreFirstViolationMs} ms (+${f.exploreShrinkMs} ms shrinking)`);
  if (f.rssMbAt10M !== null || f.rssMbAt100M !== null) {
    println(`peak memory recording       ${f.rssMbAt10M ?? '-'} MB at 10M events, ${f.rssMbAt100M ?? '-'} MB at 100M   (target: flat within 10%)`);
  }
  if (against) for (const line of againstTable({ ...f }, against)) println(line);
}
