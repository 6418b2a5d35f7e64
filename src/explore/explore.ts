/**
 * `mmtrace explore`: run many schedules of one workload, without its directed schedule and with the
 * checkers on, nothing recorded; stop at the first violation (or run them all); shrink what was
 * found to a 1-minimal schedule; record that one into the keep file, where replay, check, diff and
 * the browser open it like any run.
 *
 * The search is split into units (schedules by index for random and PCT, subtrees for bounded) that
 * run on this thread and worker threads in rounds; results are taken in index order, so what is
 * reported (the first violation, the counts) does not depend on the number of threads or on timing. `--shard=K/N`
 * keeps the units whose index is K mod N, so N machines cover the search once between them.
 */
import { availableParallelism } from 'node:os';
import { errors } from '../errors.js';
import type { CheckerName } from '../check/index.js';
import { recordRuns } from '../record/record.js';
import { runName } from '../record/variants.js';
import { scheduleSpec, ScheduleStrategy } from '../sim/strategy.js';
import { firstDeviations, pruneAcrossSubtrees, runRoot } from './bounded.js';
import { runJob, runJobBesideWorkers, seedOf, type Found, type Job, type SearchSpec, type UnitResult } from './jobs.js';
import { startPool, type Pool } from './pool.js';
import { runSchedule } from './run-schedule.js';
import { shrinkSchedule } from './shrink.js';
import { resolveTarget, type Target, type TargetSpec } from './target.js';

export interface Shard {
  index: number;
  count: number;
}

export interface ExploreOptions {
  target: TargetSpec;
  /** random, pct:D or bounded:P. */
  strategy: string;
  /** Schedules to run (random, pct); bounded runs its whole tree. */
  schedules: number;
  all: boolean;
  workers: number;
  shard: Shard;
  /** The trace file shrunk violations are recorded into; undefined: not kept. */
  keep?: string;
  /** Put before the kept runs' names (review keeps every scenario's in one file: `WORKLOAD/`). */
  keepPrefix?: string;
  onProgress?: (p: { schedules: number; violations: number }) => void;
  /** Worker threads to run on (review explores scenario after scenario on one pool); else its own. */
  pool?: Pool<Job, UnitResult[]>;
}

export interface ReportedViolation {
  checker: CheckerName;
  severity: string;
  message: string;
  request: string | null;
  /** The seed of the schedule that found it (random, pct), or null (bounded). */
  seed: number | null;
  /** The shrunk schedule, as --strategy takes it. */
  schedule: string;
  deviations: number;
  preemptions: number;
  /** Deviations of the schedule as found, before shrinking, and the runs shrinking took. */
  foundWith: number;
  shrinkRuns: number;
  /** False when shrinking stopped at its budget (SHRINK_BUDGET runs) before the schedule was 1-minimal. */
  minimal: boolean;
  /** Events up to the violation. */
  events: number;
  /** The last event of the violation in the kept run. */
  seq: number;
  /** The kept run (FILE#RUN) and the command that replays it to the violation; null when not kept. */
  run: string | null;
  replay: string | null;
}

export interface ExploreSummary {
  workload: string;
  path: string;
  variant: string[];
  strategy: string;
  shard: string;
  schedules: number;
  schedulesPerSec: number;
  /** Wall time of the search (until the first violation, or to the end), and of shrinking and keeping. */
  searchMs: number;
  shrinkMs: number;
  interleavings: number;
  /** Schedules the bounded search did not run because an equivalent state was branched from already. */
  pruned: number;
  /** Did the search run everything it was asked to (no early stop)? */
  complete: boolean;
  /** What was covered, in a sentence. */
  covered: string;
  violationsByChecker: Record<string, number>;
  violations: ReportedViolation[];
}

/**
 * How many threads a search runs on unless told: every core but one, at least one. A thread
 * simulating keeps V8's garbage collector and compiler threads busy beside it (one explore thread
 * alone used 1.24 cores of two), so a thread per core leaves them none; and a worker starts cold
 * (its own compiled code to warm up), which a short search does not earn back. On the 2-core
 * machine, `mmtrace explore cross-vma-race --path=gup` ran 630 schedules a second on one thread and
 * 467 on two over 1000 schedules (the default --seeds), 1000 and 850 over 3000; only over 10,000
 * did two come out ahead, by 6%. (`review` keeps its explore pool on every core: its worker stays
 * warm from one scenario to the next, and one thread fewer made it slower.)
 */
export function defaultExploreThreads(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/**
 * Threads running explore's search units: this one and threads - 1 workers. This thread has nothing
 * else to do meanwhile, and it saves starting and warming up a worker, which is most of what a
 * short search costs: on the 2-core machine, 3000 schedules of cross-vma-race on gup ran at about
 * 800 a second with two workers, 860 with this thread and one worker (medians of 4 alternating runs).
 */
export function startExplorePool(threads: number): Pool<Job, UnitResult[]> {
  return startPool(new URL('./worker.js', import.meta.url), threads, runJob, { here: runJobBesideWorkers });
}

export function parseSearchName(text: string): { kind: 'random' } | { kind: 'pct'; depth: number } | { kind: 'bounded'; bound: number } {
  if (text === 'random') return { kind: 'random' };
  const pct = /^pct:(\d+)$/.exec(text);
  if (pct && Number(pct[1]) >= 1 && Number(pct[1]) <= 64) return { kind: 'pct', depth: Number(pct[1]) };
  const bounded = /^bounded:(\d+)$/.exec(text);
  if (bounded && Number(bounded[1]) <= 8) return { kind: 'bounded', bound: Number(bounded[1]) };
  throw errors.usage(`--strategy must be random, pct:D (D 1..64) or bounded:P (P 0..8), got '${text}'`);
}

export function parseShard(text: string | undefined): Shard {
  if (text === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw errors.usage(`--shard must be K/N with 0 <= K < N, got '${text}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Units per job: enough to keep a worker busy between messages, few enough to stop soon after a find. */
const SCHEDULES_PER_JOB = 64;

export async function explore(opts: ExploreOptions): Promise<ExploreSummary> {
  const target = await resolveTarget(opts.target);
  const named = parseSearchName(opts.strategy);
  const started = performance.now();
  let schedules = 0;
  let pruned = 0;
  const interleavings = new Set<string>();
  const byChecker: Record<string, number> = {};
  /** The first find of each checker, by unit index (-1: the bounded search's root). */
  const firsts = new Map<CheckerName, { index: number; found: Found }>();
  const note = (index: number, r: { schedules: number; pruned: number; interleavings: string[]; found: Found | null }) => {
    schedules += r.schedules;
    pruned += r.pruned;
    for (const i of r.interleavings) interleavings.add(i);
    if (!r.found) return;
    const checker = r.found.violation.checker;
    byChecker[checker] = (byChecker[checker] ?? 0) + 1;
    if (!firsts.has(checker)) firsts.set(checker, { index, found: r.found });
  };

  let search: SearchSpec;
  let units: number;
  /** Bounded: per subtree, the root choice points an earlier subtree owns. */
  let skip: number[][] = [];
  if (named.kind === 'bounded') {
    const root = runRoot(target);
    const firstsOfRoot = firstDeviations(root);
    search = { kind: 'bounded', bound: named.bound, firsts: named.bound === 0 ? [] : firstsOfRoot };
    units = search.firsts.length;
    if (named.bound >= 2) skip = pruneAcrossSubtrees(target, search.firsts);
    if (opts.shard.index === 0) {
      note(-1, {
        schedules: 1, pruned: 0, interleavings: [root.interleaving],
        found: root.violation ? { violation: root.violation, deviations: [], preemptions: 0, events: root.events } : null,
      });
    }
  } else {
    // PCT spreads its priority changes over the run's length: measured on the default schedule.
    const steps = named.kind === 'pct' ? runSchedule(target, new ScheduleStrategy([])).events : 0;
    search = named.kind === 'pct' ? { kind: 'pct', depth: named.depth, steps: Math.max(steps, 1) } : { kind: 'random' };
    units = opts.schedules;
  }

  const mine = [...Array(units).keys()].filter((i) => i % opts.shard.count === opts.shard.index);
  const perJob = search.kind === 'bounded' ? 1 : SCHEDULES_PER_JOB;
  const jobs: number[][] = [];
  for (let at = 0; at < mine.length; at += perJob) jobs.push(mine.slice(at, at + perJob));
  const pool = opts.pool ?? startExplorePool(Math.min(opts.workers, jobs.length));
  let done: UnitResult[][];
  try {
    done = await runJobs(jobs, pool.threads, (indices) => pool.run({ target: opts.target, search, indices, skip: indices.map((i) => skip[i] ?? []) }), !opts.all, (results) => {
      const units = results.flat();
      opts.onProgress?.({ schedules: units.reduce((n, u) => n + u.schedules, 0), violations: units.filter((u) => u.found).length });
    });
  } finally {
    if (!opts.pool) await pool.close();
  }
  for (const r of done.flat()) note(r.index, r);
  const stoppedEarly = done.length < jobs.length;

  const elapsed = performance.now() - started;
  const shrinkStarted = performance.now();
  const reported = [...firsts].sort((x, y) => x[1].index - y[1].index);
  const violations: ReportedViolation[] = [];
  for (const [, { index, found }] of opts.all ? reported : reported.slice(0, 1)) {
    violations.push(await report(target, opts, search.kind === 'bounded' ? null : seedOf(index), found));
  }
  return {
    workload: target.workload.name, path: target.path.name, variant: target.variant, strategy: opts.strategy,
    shard: `${opts.shard.index}/${opts.shard.count}`, schedules, schedulesPerSec: Math.round((schedules / elapsed) * 1000),
    searchMs: Math.round(elapsed), shrinkMs: Math.round(performance.now() - shrinkStarted),
    interleavings: interleavings.size, pruned, complete: !stoppedEarly,
    covered: coverage(named, schedules, opts, stoppedEarly), violationsByChecker: byChecker, violations,
  };
}

function coverage(named: ReturnType<typeof parseSearchName>, schedules: number, opts: ExploreOptions, stoppedEarly: boolean): string {
  const shard = opts.shard.count > 1 ? ` (shard ${opts.shard.index}/${opts.shard.count})` : '';
  if (named.kind !== 'bounded') return `${schedules} ${opts.strategy} schedule(s)${shard}${stoppedEarly ? ', stopped at the first violation' : ''}`;
  if (stoppedEarly) return `part of the schedules with at most ${named.bound} deviation(s) from the default scheduler${shard}: stopped at the first violation`;
  return `every schedule with at most ${named.bound} deviation(s) from the default scheduler at shared-state choice points${shard}`;
}

/**
 * Run `jobs` in order on `run`, `threads` at a time, keeping every
 * worker busy. With `stopAtFind`, no job after the first one with a find is started, and the
 * results stop at that job: what jobs after it did (they may have been under way) is dropped, so
 * the outcome is the same whatever the timing. `progress` sees the results in hand after each job.
 */
async function runJobs(
  jobs: readonly number[][], threads: number, run: (indices: number[]) => Promise<UnitResult[]>, stopAtFind: boolean,
  progress: (results: UnitResult[][]) => void,
): Promise<UnitResult[][]> {
  const results: UnitResult[][] = [];
  let stopAt = Number.POSITIVE_INFINITY;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && next <= stopAt) {
      const j = next++;
      results[j] = await run(jobs[j]!);
      if (stopAtFind && results[j]!.some((u) => u.found)) stopAt = Math.min(stopAt, j);
      progress(results.filter(Boolean));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs.length, threads)) }, worker));
  return results.slice(0, Math.min(results.length, stopAt + 1));
}

/** Shrink a find, record it into the keep file, and say how to replay it. */
async function report(target: Target, opts: ExploreOptions, seed: number | null, found: Found): Promise<ReportedViolation> {
  const shrunk = shrinkSchedule(target, found);
  const { violation: v, deviations } = shrunk.found;
  const seq = Math.max(...v.seqs, ...v.witnesses.map((w) => w.seq));
  const base: ReportedViolation = {
    checker: v.checker, severity: v.severity, message: v.message, request: v.request, seed, schedule: scheduleSpec(deviations),
    deviations: deviations.length, preemptions: shrunk.found.preemptions, foundWith: found.deviations.length,
    shrinkRuns: shrunk.runs, minimal: shrunk.minimal, events: shrunk.found.events, seq, run: null, replay: null,
  };
  if (opts.keep === undefined) return base;
  const name = `${opts.keepPrefix ?? ''}${runName(target.path.name, target.variant)}-${v.checker}-${seed ?? 'bounded'}`;
  await recordRuns({
    workload: target.workloadModule ?? target.workload.name, paths: [target.path.header], variant: target.variant, seed: target.spec.seed,
    strategy: scheduleSpec(deviations), undirected: true, params: target.spec.params, config: target.spec.config,
    out: opts.keep, name, replace: true, maxEvents: target.spec.maxEvents,
  });
  return { ...base, run: `${opts.keep}#${name}`, replay: `npx mmtrace replay ${opts.keep}#${name} --until=${seq}` };
}
