/**
 * The recording service: run a workload once per access path (same seed, same strategy) and append
 * one run per path to a trace file, with replay snapshots along the way. The command line, the demo
 * and the benchmark call it; it prints nothing (progress goes to the caller's `progress`).
 *
 * It sits with the consumers, above the workloads: it drives a workload through the simulator into
 * the recorder, and encodes the replay model for its snapshots.
 */
import { existsSync, statSync } from 'node:fs';
import { errors } from '../errors.js';
import { modelFromKernel } from '../replay/live.js';
import { kernel } from '../linux/kernel.js';
import { encodeSnapshot, SNAPSHOT_EVERY } from '../replay/snapshot.js';
import type { Sim } from '../sim/sim.js';
import { parseStrategy, type Strategy } from '../sim/strategy.js';
import { openTrace } from '../trace/reader.js';
import { Recorder, type WriterMode } from '../trace/recorder.js';
import { NULL_SINK } from '../trace/sink.js';
import { codeVersion } from '../version.js';
import { resolveParams } from '../workloads/index.js';
import { runWorkload, type RunResult } from '../workloads/runner.js';
import type { Workload } from '../workloads/workload.js';
import type { KernelConfig } from '../linux/kernel.js';
import { chooseWorkload, choosePath, moduleHashes, type PathChoice, type WorkloadChoice } from '../modules/registry.js';
import { runGuarded } from '../modules/sandbox.js';
import { resolveConfig } from './config.js';
import { ByteLimit, checkByteLimit, checkSize, expectedEvents } from './file-size.js';
import { withBoundedHeapGrowth } from './heap.js';
import { checkPaths, checkRunName, checkVariant, runName } from './variants.js';

export interface RecordOptions {
  /** A built-in workload's name, or a workload module's file. */
  workload: string;
  /** Built-in paths (gup, fast) and path modules' files. */
  paths: string[];
  variant: string[];
  seed: number;
  strategy: string;
  /** Ignore the workload's directed schedule (the run's strategy text then ends in ` undirected`). */
  undirected?: boolean;
  params: Record<string, string>;
  /** Kconfig-like switches, e.g. CONFIG_PER_VMA_LOCK=n (see KernelConfig). */
  config?: Record<string, string>;
  /** The trace file (default traces/WORKLOAD.db). */
  out?: string;
  /** The run's name (one path only; default: the path plus its variant switches). */
  name?: string;
  replace?: boolean;
  maxEvents?: number;
  /**
   * Keep the file within this many bytes: a run that would pass it is cut (limited, as by
   * --max-events, at the event count where it was cut).
   */
  maxBytes?: number;
  /** Record even when the estimate says the file would pass FILE_SIZE_ASK_BYTES. */
  yes?: boolean;
  /** Progress of each run, by event number, and the events it is expected to have (none by default). */
  progress?: (label: string, expectedEvents?: number) => RunProgress;
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
  /** The event limit that stopped a limited run (--max-events, or where --max-bytes cut it), else null. */
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
  /** Which writer wrote them: in process for a recording known to be small (writerFor). */
  writer: WriterMode;
}

const NO_PROGRESS: RunProgress = { update() {}, stop() {} };

/** What every run of one recording shares, checked before anything is written. */
interface Plan {
  workload: Workload;
  /** The workload's module, if it is one. */
  module: WorkloadChoice['source'];
  paths: PathChoice[];
  /** The run name of each path, in order. */
  names: string[];
  params: ReturnType<typeof resolveParams>;
  config: KernelConfig;
  /** A fresh strategy per run: the same seed gives the same decisions for the same workload. */
  strategy: () => Strategy;
  /** The workload's estimate of a run's events with these parameters, if it makes one. */
  estimate: number | undefined;
}

/**
 * Check every option up front, so a bad one fails before the trace file is touched; a module is
 * loaded here, so one that does not load fails before it too.
 */
async function plan(opts: RecordOptions): Promise<Plan> {
  const pathRefs = checkPaths(opts.paths);
  checkVariant(opts.variant, pathRefs);
  if (opts.name !== undefined && pathRefs.length > 1) throw errors.usage('--name names one run; it cannot be used with several --path values');
  const { workload, source } = await chooseWorkload(opts.workload);
  const paths: PathChoice[] = [];
  for (const ref of pathRefs) paths.push(await choosePath(ref));
  const names = paths.map((path) => checkRunName(opts.name ?? runName(path.name, variantOf(path, opts.variant))));
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) throw errors.usage(`two --path values would both record a run named '${repeated}'; rename one module file`);
  const params = asUsage(() => resolveParams(workload, opts.params));
  const strategy = (): Strategy => parseStrategy(opts.strategy, opts.seed);
  asUsage(strategy);
  const estimate = workload.estimateEvents?.(params);
  checkByteLimit(opts.maxBytes);
  checkSize(workload.name, estimate, paths.length, opts, opts.yes ?? false);
  return { workload, module: source, paths, names, params, config: resolveConfig(opts.config ?? {}), strategy, estimate };
}

/** Variant switches belong to the fast path: a gup run (or a path module's) beside them has none. */
function variantOf(path: PathChoice, variant: readonly string[]): readonly string[] {
  return path.header === 'fast' ? variant : [];
}

/** Run `f`; its error is a usage error (a bad parameter or strategy text). */
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw errors.usage((e as Error).message);
  }
}

/**
 * Run each path of a recording that loads a module once without recording, so a module that
 * throws, or calls a clock, fails in one line before the trace file is created or touched (as any
 * other bad input does). Built-ins need no trial: their failures are mmtrace's own.
 */
function trialRuns(p: Plan, opts: RecordOptions): void {
  for (const path of p.paths) {
    if (p.module === null && path.source === null) continue;
    runGuarded(true, () => runWorkload({
      workload: p.workload, params: p.params, path: path.name, pathHook: path.hook, variant: variantOf(path, opts.variant),
      seed: opts.seed, strategy: p.strategy(), directed: !opts.undirected, config: p.config, sink: NULL_SINK, maxEvents: opts.maxEvents,
      requestLog: false,
    }));
  }
}

export async function recordRuns(opts: RecordOptions): Promise<RecordResult> {
  const p = await plan(opts);
  trialRuns(p, opts);
  const file = opts.out ?? `traces/${p.workload.name}.db`;
  checkRoom(file, opts.maxBytes);
  const rec = await Recorder.open(file, { writer: writerFor(p, opts) });
  const runs: RecordedRun[] = [];
  const writer = rec.writerMode;
  try {
    // Every name is free (or to be replaced) before the first run starts: no half-done recording.
    if (!opts.replace) {
      const taken = p.names.find((name) => rec.hasRun(name));
      if (taken !== undefined) throw errors.runExists(file, taken);
    }
    p.paths.forEach((path, i) => runs.push(recordOne(rec, p, path, p.names[i]!, opts)));
  } finally {
    rec.close();
  }
  const trace = await openTrace(file);
  try {
    for (const r of runs) {
      r.requests = trace.requestCount(r.id);
      // How whole the run is, as every reader will say it (a run cut by --max-events is limited).
      const info = trace.run(r.id);
      r.status = info.status;
      r.limit = info.limit;
    }
  } finally {
    trace.close();
  }
  return { file, runs, writer };
}

/**
 * Below this many events in all (the workload's estimate, over every path) a recording writes on
 * its own thread. Starting the writer worker, and its first batch with nothing compiled yet, cost
 * about 50 ms, more than writing that many events here: `record scale` of ~20k and ~100k events took
 * 373-391 and 534-575 ms this way against 416-443 and 581-626 with the worker; at ~300k events the
 * two were even, and at 1M the worker was 100 ms faster (three runs each, fresh processes).
 */
const WORKER_FROM_EVENTS = 250_000;

/**
 * The writer for this recording: in process when it is known to be small, else the worker's. A
 * recording bounded by --max-bytes keeps the worker: where it is cut depends on the file's committed
 * size as the recording goes, which depends on how the writer's batches land.
 */
function writerFor(p: Plan, opts: RecordOptions): WriterMode | 'auto' {
  if (opts.maxBytes !== undefined) return 'auto';
  const perRun = expectedEvents(p.estimate, opts);
  return perRun !== undefined && perRun * p.paths.length < WORKER_FROM_EVENTS ? 'sync' : 'auto';
}

/** A file that already fills --max-bytes has no room for a run: refused before it is touched. */
function checkRoom(file: string, maxBytes: number | undefined): void {
  if (maxBytes === undefined || !existsSync(file)) return;
  const size = statSync(file).size;
  if (size >= maxBytes) throw errors.usage(`${file} already holds ${size} bytes, no fewer than --max-bytes=${maxBytes}; give a larger limit or another --out`);
}

/**
 * Events between checks of the file's size under --max-bytes: a batch's worth, so a cut lands
 * within one batch of where the bytes run out.
 */
const BYTE_CHECK_EVERY = 16384;

/** Record the workload on one path as one run. */
function recordOne(rec: Recorder, p: Plan, path: PathChoice, name: string, opts: RecordOptions): RecordedRun {
  const variant = variantOf(path, opts.variant);
  const id = rec.beginRun({
    name, workload: p.module?.file ?? p.workload.name, params: p.params, path: path.header, variant, seed: opts.seed,
    strategy: opts.undirected ? `${opts.strategy} undirected` : opts.strategy, config: { ...p.config }, codeVersion: codeVersion(),
    modules: moduleHashes(p.module, path.source),
  }, { replace: opts.replace });
  const byteLimit = opts.maxBytes === undefined ? undefined : new ByteLimit(opts.maxBytes, rec);
  const eventLimit = opts.maxEvents ?? Number.MAX_SAFE_INTEGER;
  const bar = (opts.progress ?? (() => NO_PROGRESS))(`record ${name}`, expectedEvents(p.estimate, opts));
  const onProgress = (seq: number, sim: Sim): void => {
    bar.update(seq);
    if (byteLimit !== undefined) sim.cutAt(Math.min(byteLimit.cut(), eventLimit));
  };
  let snapshots = 0;
  let snapshotMs = 0;
  const takeSnapshot = (seq: number, sim: Sim): void => {
    const t0 = performance.now();
    rec.snapshot(seq, encodeSnapshot(modelFromKernel(sim, kernel(), { requestLog: false })));
    snapshotMs += performance.now() - t0;
    snapshots++;
  };
  const fromModule = p.module !== null || path.source !== null;
  // The state at the run's last event as well, unless a periodic snapshot is of it already: what
  // reads the end (the diff's final states, `replay --until` near it) then loads it rather than
  // folding up to SNAPSHOT_EVERY - 1 events after the last periodic one.
  const snapshotTheEnd = (run: RunResult): void => {
    if (run.events > 0 && run.events % SNAPSHOT_EVERY !== 0) run.sim.inside(() => takeSnapshot(run.events, run.sim));
  };
  let outcome: string;
  try {
    outcome = withBoundedHeapGrowth(() => runGuarded(fromModule, () => {
      const run = runWorkload({
        workload: p.workload, params: p.params, path: path.name, pathHook: path.hook, variant, seed: opts.seed,
        strategy: p.strategy(), directed: !opts.undirected, config: p.config, sink: rec,
        maxEvents: byteLimit === undefined ? opts.maxEvents : Math.min(byteLimit.firstCut(), eventLimit),
        onProgress, progressEvery: byteLimit === undefined ? undefined : BYTE_CHECK_EVERY,
        snapshotEvery: SNAPSHOT_EVERY,
        onSnapshot: takeSnapshot,
        // the file keeps the requests (the recorder's request pieces); the snapshots leave the log out
        requestLog: false,
      });
      snapshotTheEnd(run);
      return run.outcome;
    }));
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
