/**
 * Scheduling strategies: which runnable task makes the next step. The strategy is the only user of
 * the PRNG, so a run is fixed by (workload, options, seed, strategy), and fully by its decisions.
 */
import type { RawRow } from '../trace/vocab/index.js';
import { Prng } from './prng.js';
import { IDLE_TID, type Task } from './task.js';
import type { RecordedDecisions } from '../trace/decisions.js';

export interface Strategy {
  /**
   * Pick one of `runnable` (non-empty, ordered by tid) for step number `step`, or -- only when
   * `canIdle` (some task sleeps and will wake) -- undefined: run the idle task, let time pass.
   */
  pick(runnable: readonly Task[], step: number, canIdle: boolean): Task | undefined;
  /** A new task appeared (PCT gives it a priority). */
  spawned(task: Task): void;
  /**
   * Every stamped event as it is stored, with the run's names so far, for strategies that steer by
   * what happened (directed schedules decode it).
   */
  observe?(row: RawRow, names: readonly string[]): void;
  readonly description: string;
}

/** Uniformly random among the runnable tasks at every step. */
export class RandomStrategy implements Strategy {
  private readonly rng: Prng;
  readonly description = 'random';

  constructor(seed: number) {
    this.rng = new Prng(seed);
  }

  pick(runnable: readonly Task[]): Task {
    return runnable.length === 1 ? runnable[0]! : runnable[this.rng.below(runnable.length)]!;
  }

  spawned(): void {}
}

/**
 * Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): every task gets a random
 * priority; the highest-priority runnable task always runs; at D-1 random steps among the first
 * `steps` the running task drops below every initial priority. Finds any bug of depth D with
 * probability at least 1/(n * k^(D-1)).
 */
export class PctStrategy implements Strategy {
  private readonly rng: Prng;
  private readonly changePoints: Map<number, number>;
  readonly description: string;

  constructor(seed: number, depth: number, steps: number) {
    this.rng = new Prng(seed);
    this.description = `pct:${depth}`;
    this.changePoints = new Map();
    for (let i = 1; i < depth; i++) this.changePoints.set(1 + this.rng.below(steps), i);
  }

  spawned(task: Task): void {
    // Initial priorities lie above every change-point priority (1..depth-1).
    task.priority = 1_000 + this.rng.below(1_000_000_000);
  }

  pick(runnable: readonly Task[], step: number): Task {
    let best = runnable[0]!;
    for (let i = 1; i < runnable.length; i++) {
      const t = runnable[i]!;
      if (t.priority > best.priority) best = t;
    }
    const lowered = this.changePoints.get(step);
    if (lowered !== undefined) best.priority = lowered;
    return best;
  }
}

/** The recorded decisions name a task that is not runnable: the re-execution went elsewhere. */
export class ScheduleDiverged extends Error {
  constructor(readonly decision: number, readonly tid: number) {
    super(`replay diverged at decision ${decision}: task ${tid} is not runnable`);
  }
}

/** Replays recorded decisions: the tid of every step, in order. */
export class ReplayStrategy implements Strategy {
  private taken = 0;
  readonly description = 'replay';

  constructor(private readonly decisions: RecordedDecisions) {}

  spawned(): void {}

  pick(runnable: readonly Task[]): Task | undefined {
    const tid = this.decisions.next();
    this.taken++;
    if (tid === IDLE_TID) return undefined;
    const task = runnable.find((t) => t.tid === tid);
    if (!task) throw new ScheduleDiverged(this.taken, tid ?? 0);
    return task;
  }
}

/**
 * The default scheduler of a schedule: keep running the task that ran last while it is runnable,
 * else the runnable task with the lowest tid. Non-preemptive, so with no deviation a run has no
 * preemption at all.
 */
export function defaultPick(runnable: readonly Task[], last: Task | undefined): Task {
  return last !== undefined && runnable.includes(last) ? last : runnable[0]!;
}

/** A schedule's deviations from the default: at step `step`, run task `tid` instead. */
export interface Deviation {
  step: number;
  tid: number;
}

/** `schedule:12@3,40@2`: deviations as step@tid, in step order (`schedule:` alone is the default). */
export function scheduleSpec(deviations: readonly Deviation[]): string {
  return `schedule:${deviations.map((d) => `${d.step}@${d.tid}`).join(',')}`;
}

/**
 * A schedule given by its deviations from defaultPick(): what `mmtrace explore` finds, shrinks and
 * keeps. A deviation naming a task that is not runnable at its step is ignored (the default runs),
 * so any subset of a schedule's deviations is a schedule too, which is what shrinking relies on.
 */
export class ScheduleStrategy implements Strategy {
  private readonly at = new Map<number, number>();
  private last: Task | undefined;
  readonly description: string;

  constructor(deviations: readonly Deviation[]) {
    for (const d of deviations) this.at.set(d.step, d.tid);
    this.description = scheduleSpec(deviations);
  }

  pick(runnable: readonly Task[], step: number): Task {
    const want = this.at.get(step);
    const chosen = (want !== undefined ? runnable.find((t) => t.tid === want) : undefined) ?? defaultPick(runnable, this.last);
    this.last = chosen;
    return chosen;
  }

  spawned(): void {}
}

function parseSchedule(text: string): Deviation[] {
  if (text === '') return [];
  return text.split(',').map((part) => {
    const m = /^(\d+)@(\d+)$/.exec(part);
    if (!m) throw new RangeError(`bad schedule deviation '${part}' (use STEP@TID)`);
    return { step: Number(m[1]), tid: Number(m[2]) };
  });
}

/**
 * Parse `random`, `pct:D` (an optional `pct:D:K` gives the step estimate K) or `schedule:STEP@TID,...`
 * (a schedule explore found).
 */
export function parseStrategy(spec: string, seed: number, defaultSteps = 20_000): Strategy {
  if (spec === 'random') return new RandomStrategy(seed);
  if (spec.startsWith('schedule:')) return new ScheduleStrategy(parseSchedule(spec.slice('schedule:'.length)));
  const m = /^pct:(\d+)(?::(\d+))?$/.exec(spec);
  if (m) {
    const depth = Number(m[1]);
    if (depth < 1 || depth > 64) throw new RangeError(`pct depth must be 1..64, got ${depth}`);
    return new PctStrategy(seed, depth, m[2] ? Number(m[2]) : defaultSteps);
  }
  throw new RangeError(`unknown strategy '${spec}' (use random, pct:D or schedule:STEP@TID,...)`);
}
