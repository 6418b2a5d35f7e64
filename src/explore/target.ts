/**
 * What is explored: one workload on one path, with its variant switches, parameters and kernel
 * config, as plain strings (so a worker thread can be handed it), and its resolved form.
 */
import { DEFAULT_STARVATION_TICKS, type CheckerName, type CheckOptions } from '../check/index.js';
import { errors } from '../errors.js';
import type { KernelConfig } from '../linux/kernel.js';
import { resolveConfig } from '../record/config.js';
import { chooseWorkload, choosePath, type PathChoice } from '../modules/registry.js';
import { checkPaths, checkVariant } from '../record/variants.js';
import { resolveParams } from '../workloads/index.js';
import type { ParamValue, Workload } from '../workloads/workload.js';

export interface TargetSpec {
  /** A built-in workload's name, or a workload module's file (each worker loads it too). */
  workload: string;
  /** gup, fast, or a path module's file. */
  path: string;
  variant: string[];
  params: Record<string, string>;
  config: Record<string, string>;
  /** The workload's own seed (its randomness, if any; the schedule is the strategy's). */
  seed: number;
  /** A schedule that runs this long without ending is cut (and judged on what it did). */
  maxEvents: number;
  starvationTicks?: number;
  /** The checkers that judge a schedule (default: all). */
  checkers?: CheckerName[];
}

export interface Target {
  spec: TargetSpec;
  workload: Workload;
  /** The module file the workload came from, or null for a built-in. */
  workloadModule: string | null;
  path: PathChoice;
  variant: string[];
  params: Record<string, ParamValue>;
  config: KernelConfig;
  check: CheckOptions;
}

/**
 * Check every part of the spec (bad input is a usage error: one line, exit 2), loading the modules
 * it names (once per thread).
 */
export async function resolveTarget(spec: TargetSpec): Promise<Target> {
  const [pathRef] = checkPaths([spec.path]);
  checkVariant(spec.variant, [pathRef!]);
  const { workload, source } = await chooseWorkload(spec.workload);
  const path = await choosePath(pathRef!);
  let params: Record<string, ParamValue>;
  try {
    params = resolveParams(workload, spec.params);
  } catch (e) {
    throw errors.usage((e as Error).message);
  }
  return {
    spec, workload, workloadModule: source?.file ?? null, path, variant: spec.variant, params, config: resolveConfig(spec.config),
    check: { starvationTicks: spec.starvationTicks ?? DEFAULT_STARVATION_TICKS, checkers: spec.checkers },
  };
}
