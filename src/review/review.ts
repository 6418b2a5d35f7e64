/**
 * `mmtrace review`: what a path changes compared with mainline, across the scenario library, in one
 * command. For every scenario the candidate path and gup are recorded with the same seeds and
 * diffed (in worker threads, a scenario per job), then the candidate is explored with the checkers
 * on. Every run and every shrunk violation ends up in one trace file, which replaces the previous
 * review's only once the new one is whole.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errors } from '../errors.js';
import { explore, startExplorePool, type ReportedViolation } from '../explore/explore.js';
import { startPool } from '../explore/pool.js';
import { chooseWorkload, isModuleRef, moduleName } from '../modules/registry.js';
import { resolveConfig } from '../record/config.js';
import { checkPaths, checkVariant, runName } from '../record/variants.js';
import { MAX_MERGE_INPUTS, mergeTraceFiles } from '../trace/merge.js';
import { WORKLOADS } from '../workloads/index.js';
import { reviewScenario, type ScenarioJob, type ScenarioResult, type SeedResult } from './scenario.js';

export interface ReviewOptions {
  /** fast, or a path module's file. */
  path: string;
  variant: string[];
  config: Record<string, string>;
  /** Seeds 1..seeds for every scenario. */
  seeds: number;
  /** Schedules explored per scenario (0: no exploration). */
  explore: number;
  /** Built-in workload names or workload modules; null: the whole built-in library. */
  workloads: string[] | null;
  out: string;
  workers: number;
  /** Steps done of all steps (a scenario's record and diff, then its exploration). */
  onProgress?: (done: number, total: number) => void;
}

/** A violation explore found on the candidate, kept in the review's file. */
export interface ReviewViolation {
  checker: string;
  message: string;
  request: string | null;
  seed: number | null;
  preemptions: number;
  deviations: number;
  /** False when shrinking stopped at its budget (a schedule with fewer preemptions may exist). */
  minimal: boolean;
  run: string;
  replay: string;
}

export interface ScenarioReview {
  workload: string;
  /** Nothing orders its tasks but the seeded strategy: two paths may interleave it differently. */
  unordered: boolean;
  verdict: 'equivalent' | 'different';
  differences: string[];
  seeds: SeedResult[];
  explored: number;
  violations: ReviewViolation[];
}

export interface Review {
  /** The candidate's run name (fast, fast+singleVmaOnly, or the path module's name). */
  candidate: string;
  file: string;
  config: Record<string, string>;
  seeds: number;
  explore: number;
  scenarios: ScenarioReview[];
}

/** Maximum events of an explored schedule: a long scenario (scale) is judged on its first part. */
const EXPLORE_MAX_EVENTS = 50_000;

/** Run names of a scenario's recordings: `WORKLOAD/PATH/sSEED`. */
function namesOf(workload: string, candidate: string, seeds: number): ScenarioJob['names'] {
  return Array.from({ length: seeds }, (_, i) => ({ seed: i + 1, gup: `${workload}/gup/s${i + 1}`, candidate: `${workload}/${candidate}/s${i + 1}` }));
}

/** The workloads a review covers, each checked (bad names are a usage error before anything runs). */
async function scenarios(names: string[] | null): Promise<{ ref: string; name: string; unordered: boolean }[]> {
  if (names === null) return WORKLOADS.map((w) => ({ ref: w.name, name: w.name, unordered: w.unordered ?? false }));
  // an empty list would review nothing, and leave no file to write the report's runs to
  if (names.length === 0) throw errors.usage('--workloads names no workload: give built-in names or workload modules, comma-separated');
  const out = [];
  for (const ref of names) {
    const { workload } = await chooseWorkload(ref);
    out.push({ ref, name: isModuleRef(ref) ? moduleName(ref) : workload.name, unordered: workload.unordered ?? false });
  }
  return out;
}

export async function review(opts: ReviewOptions): Promise<Review> {
  const [path] = checkPaths([opts.path]);
  if (path === 'gup') throw errors.usage('review compares a path with gup: give --path=fast or a path module');
  checkVariant(opts.variant, [path!]);
  resolveConfig(opts.config);
  const list = await scenarios(opts.workloads);
  const candidate = runName(isModuleRef(path!) ? moduleName(path!) : path!, opts.variant);
  // Everything is written beside the output first: the previous review stays whole until this one is.
  const work = join(dirname(opts.out), `.${basename(opts.out)}.review-${process.pid}`);
  const staged = join(work, 'review.db');
  mkdirSync(work, { recursive: true });
  try {
    const total = list.length * (opts.explore > 0 ? 2 : 1);
    let done = 0;
    const step = () => opts.onProgress?.(++done, total);
    opts.onProgress?.(0, total);
    const jobs: ScenarioJob[] = list.map((s, i) => ({
      workload: s.ref, candidate: path!, variant: opts.variant, config: opts.config,
      seeds: Array.from({ length: opts.seeds }, (_, k) => k + 1), file: join(work, `${i}.db`),
      names: namesOf(s.name, candidate, opts.seeds),
    }));
    const recorded = await recordAll(jobs, opts.workers, step);
    const reviews = await exploreAll(list, recorded, path!, opts, staged, step);
    const files = jobs.map((j) => j.file);
    for (let at = 0; at < files.length; at += MAX_MERGE_INPUTS) await mergeTraceFiles(staged, files.slice(at, at + MAX_MERGE_INPUTS));
    renameSync(staged, opts.out);
    return { candidate, file: opts.out, config: opts.config, seeds: opts.seeds, explore: opts.explore, scenarios: reviews };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Record and diff every scenario, a scenario per job on worker threads; results in job order. */
async function recordAll(jobs: ScenarioJob[], workers: number, step: () => void): Promise<ScenarioResult[]> {
  const pool = startPool<ScenarioJob, ScenarioResult>(new URL('./worker.js', import.meta.url), Math.min(workers, jobs.length), reviewScenario);
  try {
    return await Promise.all(jobs.map(async (job) => {
      const r = await pool.run(job);
      step();
      return r;
    }));
  } finally {
    await pool.close();
  }
}

/** Each scenario's review: its diffs, and what exploring the candidate on it found (one pool for all). */
async function exploreAll(
  list: { ref: string; name: string; unordered: boolean }[], recorded: ScenarioResult[], path: string, opts: ReviewOptions,
  staged: string, step: () => void,
): Promise<ScenarioReview[]> {
  const explorers = startExplorePool(opts.workers);
  try {
    const reviews: ScenarioReview[] = [];
    for (const [i, s] of list.entries()) {
      const seeds = recorded[i]!.seeds;
      const violations = opts.explore > 0 ? await exploreScenario(s, path, opts, staged, explorers) : [];
      if (opts.explore > 0) step();
      const different = seeds.filter((x) => x.verdict === 'different');
      reviews.push({
        workload: s.name, unordered: s.unordered, verdict: different.length ? 'different' : 'equivalent',
        differences: [...new Set(different.flatMap((x) => x.differences))], seeds, explored: opts.explore, violations,
      });
    }
    return reviews;
  } finally {
    await explorers.close();
  }
}

/** Explore the candidate on one scenario, keeping each checker's first violation, shrunk. */
async function exploreScenario(
  s: { ref: string; name: string }, path: string, opts: ReviewOptions, staged: string, pool: ReturnType<typeof startExplorePool>,
): Promise<ReviewViolation[]> {
  const summary = await explore({
    target: { workload: s.ref, path, variant: opts.variant, params: {}, config: opts.config, seed: 1, maxEvents: EXPLORE_MAX_EVENTS },
    strategy: 'random', schedules: opts.explore, all: true, workers: opts.workers, shard: { index: 0, count: 1 },
    keep: staged, keepPrefix: `${s.name}/`, pool,
  });
  return summary.violations.map((v) => keptViolation(v, staged, opts.out));
}

/** A violation as the review's file will hold it: its run and replay command name the final file. */
function keptViolation(v: ReportedViolation, staged: string, out: string): ReviewViolation {
  const name = v.run!.slice(staged.length + 1);
  return {
    checker: v.checker, message: v.message, request: v.request, seed: v.seed, preemptions: v.preemptions, deviations: v.deviations, minimal: v.minimal,
    run: `${out}#${name}`, replay: `npx mmtrace replay ${out}#${name} --until=${v.seq}`,
  };
}
