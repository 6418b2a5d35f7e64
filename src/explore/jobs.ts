/**
 * The units of an exploration, the same on this thread and in a worker: a batch of schedules by
 * index (random and PCT: schedule i runs with seed i + 1), or a batch of bounded subtrees by index.
 * Their results are plain data, posted back from a worker as they are.
 */
import type { Violation } from '../check/index.js';
import { PctStrategy, RandomStrategy, type Deviation, type Strategy } from '../sim/strategy.js';
import { exploreSubtree } from './bounded.js';
import { runSchedule } from './run-schedule.js';
import { resolveTarget, type Target, type TargetSpec } from './target.js';

/** How the schedules of a search are chosen. */
export type SearchSpec =
  | { kind: 'random' }
  | { kind: 'pct'; depth: number; steps: number }
  | { kind: 'bounded'; bound: number; firsts: Deviation[] };

export interface Job {
  target: TargetSpec;
  search: SearchSpec;
  /** Schedule indices (random, pct) or subtree indices (bounded), ascending. */
  indices: number[];
  /** Bounded: per index, the root's choice-point steps another subtree owns (pruneAcrossSubtrees). */
  skip?: number[][];
}

/** A schedule that violated a checker: enough to replay, shrink and report it. */
export interface Found {
  violation: Violation;
  deviations: Deviation[];
  preemptions: number;
  events: number;
}

export interface UnitResult {
  index: number;
  schedules: number;
  pruned: number;
  /** The interleaving of each schedule run (distinct ones are counted across the search). */
  interleavings: string[];
  found: Found | null;
}

/** The seed of schedule i. */
export function seedOf(index: number): number {
  return index + 1;
}

function strategyFor(search: SearchSpec, index: number): Strategy {
  if (search.kind === 'pct') return new PctStrategy(seedOf(index), search.depth, search.steps);
  return new RandomStrategy(seedOf(index));
}

function runUnit(target: Target, search: SearchSpec, index: number, skip: readonly number[]): UnitResult {
  if (search.kind === 'bounded') {
    const interleavings: string[] = [];
    let found: Found | null = null;
    const stats = exploreSubtree(target, search.firsts[index]!, search.bound, (o) => {
      interleavings.push(o.interleaving);
      if (!o.violation) return true;
      found = { violation: o.violation, deviations: o.deviations, preemptions: o.preemptions, events: o.events };
      return false;
    }, new Set(skip));
    return { index, schedules: stats.schedules, pruned: stats.pruned, interleavings, found };
  }
  const o = runSchedule(target, strategyFor(search, index));
  const found = o.violation ? { violation: o.violation, deviations: o.deviations, preemptions: o.preemptions, events: o.events } : null;
  return { index, schedules: 1, pruned: 0, interleavings: [o.interleaving], found };
}

/** Run a job's units in order (the target's modules loaded in this thread first). */
export async function runJob(job: Job): Promise<UnitResult[]> {
  const target = await resolveTarget(job.target);
  return job.indices.map((i, n) => runUnit(target, job.search, i, job.skip?.[n] ?? []));
}

/**
 * runJob on the thread that also hands jobs to workers: a turn of the event loop before each unit
 * lets a worker's reply in, so a worker that finishes is given its next job within a unit's time
 * (a schedule: about a millisecond) rather than this thread's whole job.
 */
export async function runJobBesideWorkers(job: Job): Promise<UnitResult[]> {
  const target = await resolveTarget(job.target);
  const results: UnitResult[] = [];
  for (const [n, i] of job.indices.entries()) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    results.push(runUnit(target, job.search, i, job.skip?.[n] ?? []));
  }
  return results;
}
