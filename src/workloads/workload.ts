/**
 * What a workload is: named tasks of a target process, monitors and background tasks, with
 * parameters. `boot` runs as the first task (`init`) of a fresh emulated kernel and spawns the rest.
 */
import type { Variant } from '../linux/variants.js';
import type { Gate } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';

export type ParamValue = number | string;

export interface ParamSpec {
  readonly default: ParamValue;
  readonly description: string;
  /**
   * The values a numeric parameter may take, inclusive. A value outside is refused before anything
   * is recorded, never clamped: the run header stores the value the workload used.
   */
  readonly min?: number;
  readonly max?: number;
}

/** A numeric parameter from `min` to `max`. */
export function intParam(def: number, min: number, max: number, description: string): ParamSpec {
  return { default: def, min, max, description };
}

/** A 0/1 switch. */
export function switchParam(def: 0 | 1, description: string): ParamSpec {
  return { default: def, min: 0, max: 1, description };
}

/** The access paths of the series: mainline GUP, and the per-VMA-lock fast path of patch 3/3. */
export type AccessPath = 'gup' | 'fast';

export interface WorkloadContext {
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The run's access path: an AccessPath, or the name of a path module (`my-v2`). */
  readonly path: string;
  readonly variant: readonly Variant[];
  readonly seed: number;
  /** What boot tells the schedule's predicates (addresses, VMA ids), per run. */
  readonly shared: Record<string, number>;
}

export interface Workload {
  readonly name: string;
  /** One line: what the workload does and what it shows. */
  readonly description: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  boot(ctx: WorkloadContext): Gen;
  /**
   * A directed schedule: gates that force the interleaving the scenario is about, on top of the
   * run's strategy. Called before boot; predicates may read what boot records in `shared`.
   */
  schedule?(ctx: WorkloadContext): Gate[];
  /**
   * Nothing orders its tasks but the seeded strategy: no directed schedule, no completions. Two
   * paths (or configs) offer the strategy different scheduling points, so they interleave the
   * tasks differently, and a diff of the two can show the interleaving, not the path.
   */
  readonly unordered?: boolean;
  /**
   * A constraint between parameters that their own bounds cannot say (a read that must stay in its
   * page: offset + len <= 4096): why the values are refused, or null when they are fine.
   */
  checkParams?(params: Readonly<Record<string, ParamValue>>): string | null;
  /**
   * Roughly how many events a run records with these parameters, for workloads whose counts can
   * make a run very large; `record` asks for --yes when the file would pass 10 GB.
   */
  estimateEvents?(params: Readonly<Record<string, ParamValue>>): number;
}

export function num(ctx: WorkloadContext, key: string): number {
  const v = ctx.params[key];
  if (typeof v !== 'number') throw new Error(`parameter ${key} is not a number`);
  return v;
}
