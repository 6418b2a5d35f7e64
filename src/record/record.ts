/**
 * The recording service: run a workload once per access path (same seed, same strategy) and append
 * one run per path to a trace file, with replay snapshots along the way. The command line, the demo
 * and the benchmark call it; it prints nothing (progress goes to the caller's `progress`).
 *
 * It sits with the consumers, above the workloads: it drives a workload through the simulator into
 * the recorder, and encodes the replay model for its snapshots.
 */
import { errors } from '../errors.js';
import { modelFromKernel } from '../replay/live.js';
import { encodeModel, SNAPSHOT_EVERY } from '../replay/snapshot.js';
import type { Sim } from '../sim/sim.js';
import { parseStrategy, type Strategy } from '../sim/strategy.js';
import { openTrace } from '../trace/reader.js';
import { Recorder } from '../trace/recorder.js';
import { codeVersion } from '../version.js';
import { findWorkload, resolveParams, WORKLOADS } from '../workloads/index.js';
import { runWorkload } from '../workloads/runner.js';
import type { AccessPath, Workload } from '../workloads/workload.js';
import type { KernelConfig } from '../linux/kernel.js';
import { resolveConfig } from './config.js';
import { checkPaths, checkVariant, runName } from './variants.js';

export interface RecordOptions {
  workload: string;
  paths: string[];
  variant: string[];
  seed: number;
  strategy: string;
  params: Record<string, string>;
  /** Kconfig-like switches, e.g. CONFIG_PER_VMA_LOCK=n (see KernelConfig). */
  config?: Record<string, string>;
  /** The trace file (default traces/WORKLOAD.db). */
  out?: string;
  /** The run's name (one path only; default: the path plus its variant switches). */
  name?: string;
  replace?: boolean;
  maxEvents?: number;
  /** Progress of each run, by event number (none by default). */
  progress?: (label: string, maxEvents?: number) => RunProgress;
}

export interface RunProgress {
  update(seq: number): void;
  stop(): void;
}

export interface RecordedRun {
  name: string;
  id: number;
  events: number;
  finalHash: string;
  status: string;
  /** The --max-events that stopped a limited run, else null. */
  limit: number | null;
  requests: number;
  outcome: string;
  /** Snapshots taken, and the wall time spent taking and encoding them (for `mmtrace bench`). */
  snapshots: number;
  snapshotMs: number;
}

export interface RecordResult {
  file: string;
  runs: RecordedRun[];
}

const NO_PROGRESS: RunProgress = { update() {}, stop() {} };

/** What every run of one recording shares, checked before anything is written. */
interface Plan {
  workload: Workload;
  paths: AccessPath[];
  params: ReturnType<typeof resolveParams>;
  config: KernelConfig;
  /** A fresh strategy per run: the same seed gives the same decisions for the same workload. */
  strategy: () => Strategy;
}

/** Check every option up front, so a bad one fails before the trace file is touched. */
function plan(opts: RecordOptions): Plan {
  const workload = findWorkload(opts.workload);
  if (!workload) throw errors.unknownWorkload(opts.workload, WORKLOADS.map((w) => w.name));
  const paths = checkPaths(opts.paths);
  checkVariant(opts.variant, paths);
  if (opts.name && paths.length > 1) throw errors.usage('--name names one run; it cannot be used with several --path values');
  const params = asUsage(() => resolveParams(workload, opts.params));
  const strategy = (): Strategy => parseStrategy(opts.strategy, opts.seed);
  asUsage(strategy);
  return { workload, paths, params, config: resolveConfig(opts.config ?? {}), strategy };
}

/** Run `f`; its error is a usage error (a bad parameter or strategy text). */
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw errors.usage((e as Error).message);
  }
}

export async function recordRuns(opts: RecordOptions): Promise<RecordResult> {
  const p = plan(opts);
  const file = opts.out ?? `traces/${p.workload.name}.db`;
  const rec = await Recorder.open(file);
  const runs: RecordedRun[] = [];
  try {
    for (const path of p.paths) runs.push(recordOne(rec, p, path, opts));
  } finally {
    rec.close();
  }
  const trace = await openTrace(file);
  try {
    for (const r of runs) {
      r.requests = trace.requests(r.id).length;
      // How whole the run is, as every reader will say it (a run cut by --max-events is limited).
      const info = trace.run(r.id);
      r.status = info.status;
      r.limit = info.limit;
    }
  } finally {
    trace.close();
  }
  return { file, runs };
}

/** Record the workload on one path as one run. */
function recordOne(rec: Recorder, p: Plan, path: AccessPath, opts: RecordOptions): RecordedRun {
  // Variant switches belong to the fast path: a gup run beside them is plain mainline.
  const variant = path === 'fast' ? opts.variant : [];
  const name = opts.name ?? runName(path, variant);
  const id = rec.beginRun({
    name, workload: p.workload.name, params: p.params, path, variant, seed: opts.seed,
    strategy: opts.strategy, config: { ...p.config }, codeVersion: codeVersion(),
  }, { replace: opts.replace });
  const bar = (opts.progress ?? (() => NO_PROGRESS))(`record ${name}`, opts.maxEvents);
  let snapshots = 0;
  let snapshotMs = 0;
  const takeSnapshot = (seq: number, sim: Sim): void => {
    const t0 = performance.now();
    rec.snapshot(seq, encodeModel(modelFromKernel(sim)));
    snapshotMs += performance.now() - t0;
    snapshots++;
  };
  let outcome: string;
  try {
    outcome = runWorkload({
      workload: p.workload, params: p.params, path, variant, seed: opts.seed,
      strategy: p.strategy(), config: p.config, sink: rec, maxEvents: opts.maxEvents,
      onProgress: (seq) => bar.update(seq),
      snapshotEvery: SNAPSHOT_EVERY,
      onSnapshot: takeSnapshot,
    }).outcome;
  } catch (e) {
    bar.stop();
    rec.finish('failed', e);
    throw e;
  }
  bar.stop();
  const summary = rec.finish('complete');
  return {
    name, id, events: summary.events, finalHash: summary.finalHash, status: summary.status, limit: null, requests: 0, outcome,
    snapshots, snapshotMs,
  };
}
