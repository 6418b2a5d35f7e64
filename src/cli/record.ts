/** `mmtrace record`: run a workload once per path and append one run per path to a trace file. */
import { MmtraceError } from '../errors.js';
import { DEFAULT_CONFIG, type KernelConfig } from '../linux/kernel.js';
import { parseStrategy } from '../sim/strategy.js';
import { openTrace } from '../trace/reader.js';
import { Recorder } from '../trace/recorder.js';
import { findWorkload, resolveParams, WORKLOADS } from '../workloads/index.js';
import { runWorkload } from '../workloads/runner.js';
import type { AccessPath } from '../workloads/workload.js';
import { modelFromKernel } from '../replay/live.js';
import { encodeModel, SNAPSHOT_EVERY } from '../replay/model.js';
import type { Sim } from '../sim/sim.js';
import { progress } from './progress.js';
import { codeVersion } from '../version.js';

export interface RecordOptions {
  workload: string;
  paths: string[];
  variant: string[];
  seed: number;
  strategy: string;
  params: Record<string, string>;
  /** Kconfig-like switches, e.g. CONFIG_PER_VMA_LOCK=n (see KernelConfig). */
  config?: Record<string, string>;
  out?: string;
  name?: string;
  replace?: boolean;
  maxEvents?: number;
}

export interface RecordedRun {
  name: string;
  id: number;
  events: number;
  finalHash: string;
  status: string;
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

const PATHS: readonly AccessPath[] = ['gup', 'fast'];

/** The review's switches of the fast path (kernel-spec §8.3), combinable. */
export const VARIANTS: Readonly<Record<string, string>> = {
  singleVmaOnly: 'fall back unless the whole read lies in one VMA (Suren, Lorenzo, David)',
  checkFollAnon: 'honour FOLL_ANON: no file-backed reads for cmdline/environ (Usama; CVE-2018-1120)',
  touch: 'FOLL_TOUCH: folio_mark_accessed() like GUP (Usama)',
  irqOffWalk: 'keep IRQs disabled across folio_walk_start..end (v2)',
  waitForWriter: 'lock_vma_under_rcu_wait(): wait out a writer on mmap_lock, then retry (Dave Hansen)',
  vmaGup: 'GUP itself under the per-VMA lock (FAULT_FLAG_VMA_LOCK faults, RETRY falls back; reads and writes) (David)',
};

export function usage(message: string): MmtraceError {
  return new MmtraceError('EUSAGE', message);
}

/** --config KEY=VALUE over the defaults: booleans as y/n (or 1/0, true/false), numbers as numbers. */
export function resolveConfig(given: Record<string, string>): KernelConfig {
  const config: Record<string, boolean | number> = { ...DEFAULT_CONFIG };
  for (const [key, raw] of Object.entries(given)) {
    const current = config[key];
    if (current === undefined) {
      throw usage(`unknown config '${key}' (config: ${Object.keys(DEFAULT_CONFIG).join(', ')})`);
    }
    if (typeof current === 'boolean') {
      if (/^(y|yes|1|true)$/i.test(raw)) config[key] = true;
      else if (/^(n|no|0|false)$/i.test(raw)) config[key] = false;
      else throw usage(`config ${key} is y or n, got '${raw}'`);
    } else {
      const v = Number(raw);
      if (!Number.isSafeInteger(v) || v < 0) throw usage(`config ${key} must be a non-negative integer, got '${raw}'`);
      config[key] = v;
    }
  }
  return config as unknown as KernelConfig;
}

/** Default run name: the path plus its variant switches (`gup`, `fast+singleVmaOnly`). */
export function runName(path: string, variant: readonly string[]): string {
  return [path, ...variant].join('+');
}

function checkPaths(paths: string[]): AccessPath[] {
  if (paths.length === 0) throw usage('--path needs at least one of: gup, fast');
  for (const p of paths) {
    if (!PATHS.includes(p as AccessPath)) throw usage(`unknown path '${p}' (paths: ${PATHS.join(', ')})`);
  }
  return paths as AccessPath[];
}

export async function recordRuns(opts: RecordOptions): Promise<RecordResult> {
  const workload = findWorkload(opts.workload);
  if (!workload) {
    throw new MmtraceError('EUNKNOWN_WORKLOAD',
      `unknown workload '${opts.workload}' (workloads: ${WORKLOADS.map((w) => w.name).join(', ')}; see \`mmtrace workloads\`)`);
  }
  const paths = checkPaths(opts.paths);
  for (const v of opts.variant) {
    if (!(v in VARIANTS)) throw usage(`unknown variant '${v}' (variants: ${Object.keys(VARIANTS).join(', ')})`);
  }
  if (opts.variant.length > 0 && !paths.includes('fast')) {
    throw usage('--variant switches change the fast path; record with --path=fast (or --path=gup,fast)');
  }
  if (opts.name && paths.length > 1) throw usage('--name names one run; it cannot be used with several --path values');
  let params;
  try {
    params = resolveParams(workload, opts.params);
  } catch (e) {
    throw usage((e as Error).message);
  }
  // Each run gets its own strategy (same seed, same decisions for the same workload); parse once
  // up front so a bad --strategy fails before anything is written.
  const newStrategy = () => parseStrategy(opts.strategy, opts.seed);
  try {
    newStrategy();
  } catch (e) {
    throw usage((e as Error).message);
  }
  const config = resolveConfig(opts.config ?? {});
  const file = opts.out ?? `traces/${workload.name}.db`;
  const rec = await Recorder.open(file);
  const runs: RecordedRun[] = [];
  try {
    for (const path of paths) {
      // Variant switches belong to the fast path: a gup run beside them is plain mainline.
      const variant = path === 'fast' ? opts.variant : [];
      const name = opts.name ?? runName(path, variant);
      const id = rec.beginRun({
        name, workload: workload.name, params, path, variant, seed: opts.seed,
        strategy: opts.strategy, config: { ...config }, codeVersion: codeVersion(),
      }, { replace: opts.replace });
      const bar = progress(`record ${name}`, opts.maxEvents);
      let outcome: string;
      let snapshots = 0;
      let snapshotMs = 0;
      const takeSnapshot = (seq: number, sim: Sim) => {
        const t0 = performance.now();
        rec.snapshot(seq, encodeModel(modelFromKernel(sim)));
        snapshotMs += performance.now() - t0;
        snapshots++;
      };
      try {
        const result = runWorkload({
          workload, params, path, variant, seed: opts.seed,
          strategy: newStrategy(), config, sink: rec, maxEvents: opts.maxEvents,
          onProgress: (seq) => bar.update(seq),
          snapshotEvery: SNAPSHOT_EVERY,
          onSnapshot: takeSnapshot,
        });
        outcome = result.outcome;
      } catch (e) {
        bar.stop();
        rec.finish('failed', e);
        throw e;
      }
      bar.stop();
      const summary = rec.finish('complete');
      runs.push({
        name, id, events: summary.events, finalHash: summary.finalHash, status: summary.status, requests: 0, outcome,
        snapshots, snapshotMs,
      });
    }
  } finally {
    rec.close();
  }
  const trace = await openTrace(file);
  try {
    for (const r of runs) r.requests = trace.requests(r.id).length;
  } finally {
    trace.close();
  }
  return { file, runs };
}
