/**
 * Run one workload on a fresh emulated kernel: boot (the `init` task), then everything the
 * workload spawns, under the chosen strategy, handing every event to `sink`.
 */
import { rcu_init } from '../linux/kernel/rcu/tree.js';
import { init_zero_page } from '../linux/mm/folio.js';
import { DEFAULT_CONFIG, Kernel, type KernelConfig } from '../linux/kernel.js';
import { parseVariants } from '../linux/variants.js';
import { type AccessRemoteVmHook, build_with_access_remote_vm_hook } from '../linux/mm/access_remote_fast.js';
import { keep_request_log } from '../linux/kernel/request.js';
import { TaskStruct } from '../linux/kernel/sched.js';
import { Sim, type SimResult } from '../sim/sim.js';
import { ReplayStrategy, type Strategy } from '../sim/strategy.js';
import { DirectedStrategy } from '../sim/directed.js';
import type { EventSink } from '../trace/sink.js';
import type { ParamValue, Workload, WorkloadContext } from './workload.js';

export interface RunOptions {
  workload: Workload;
  params: Record<string, ParamValue>;
  /** `gup`, `fast`, or the path module's name (the kernel is then built with `pathHook`). */
  path: string;
  /** A path module's hook, run where the series' fast path would be (null or absent: none). */
  pathHook?: AccessRemoteVmHook | null;
  /** The fast path's variant switches (VARIANTS); an unknown name is an error. */
  variant: readonly string[];
  seed: number;
  strategy: Strategy;
  /**
   * Follow the workload's directed schedule (its gates), if it has one (default). Off, the strategy
   * alone orders the tasks: how `mmtrace explore` looks for races nobody scripted.
   */
  directed?: boolean;
  config?: Partial<KernelConfig>;
  sink: EventSink;
  maxEvents?: number;
  /** Called every `progressEvery` events (default 65536), between steps. */
  onProgress?: (seq: number, sim: Sim) => void;
  progressEvery?: number;
  /** Stop right after this event. */
  stopAfter?: number;
  /** Called between steps after every `snapshotEvery`-th event. */
  onSnapshot?: (seq: number, sim: Sim) => void;
  snapshotEvery?: number;
  /**
   * Keep the request log in the kernel (default), which the model read off the live kernel lists
   * (re-execution). A recording passes false: its trace file keeps the requests, and the log would
   * otherwise grow with every request of the run.
   */
  requestLog?: boolean;
}

export interface RunResult extends SimResult {
  kernel: Kernel;
  sim: Sim;
}

export function runWorkload(opts: RunOptions): RunResult {
  const { onSnapshot, onProgress } = opts;
  const variant = parseVariants(opts.variant);
  const ctx: WorkloadContext = { params: opts.params, path: opts.path, variant, seed: opts.seed, shared: {} };
  // A replay follows recorded decisions, which already obey the schedule's gates.
  const gates = opts.strategy instanceof ReplayStrategy || opts.directed === false ? [] : opts.workload.schedule?.(ctx) ?? [];
  const strategy = gates.length > 0 ? new DirectedStrategy(opts.strategy, gates) : opts.strategy;
  const sim: Sim = new Sim({
    sink: opts.sink, strategy, maxEvents: opts.maxEvents, progressEvery: opts.progressEvery,
    onProgress: onProgress && ((seq) => onProgress(seq, sim)),
    stopAfter: opts.stopAfter, snapshotEvery: opts.snapshotEvery,
    onSnapshot: onSnapshot && ((seq) => onSnapshot(seq, sim)),
  });
  const build = { fastPath: opts.path === 'fast', variants: new Set(variant) };
  const kernel = new Kernel({ ...DEFAULT_CONFIG, ...opts.config }, sim, build);
  if (opts.pathHook) build_with_access_remote_vm_hook(kernel, opts.pathHook);
  if (opts.requestLog !== false) keep_request_log(kernel);
  sim.spawn('init', function* () {
    rcu_init();
    yield* init_zero_page();
    yield* opts.workload.boot(ctx);
  }, { data: new TaskStruct(1, 'init', null) });
  const result = sim.run();
  return { ...result, kernel, sim };
}
