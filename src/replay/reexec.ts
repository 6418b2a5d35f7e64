/**
 * Re-execution: run the recorded workload again from its header and stored scheduler decisions,
 * optionally checking every event against the log, and read the state off the live kernel at the
 * stopping event.
 */
import { MmtraceError } from '../errors.js';
import { ReplayStrategy } from '../sim/strategy.js';
import type { Sim } from '../sim/sim.js';
import type { EventRow, RunInfo, Trace } from '../trace/reader.js';
import { NULL_SINK, type EventSink } from '../trace/sink.js';
import { codeVersion } from '../version.js';
import { findWorkload } from '../workloads/index.js';
import { runWorkload } from '../workloads/runner.js';
import type { AccessPath, ParamValue } from '../workloads/workload.js';
import type { KernelConfig } from '../linux/kernel.js';
import { modelFromKernel } from './live.js';
import type { Model } from './model.js';

export type Row = [number, number, number, number, number, number, number, number, Uint8Array | null];

export interface Divergence {
  seq: number;
  /** The logged event (null: the log ended first). */
  recorded: Row | null;
  /** The event re-execution produced (null: it produced none there). */
  replayed: Row | null;
  /** Set when the scheduler could not follow the recorded decisions. */
  message?: string;
}

export interface ReexecResult {
  /** The state at the stopping event (null when re-execution diverged before it). */
  model: Model | null;
  divergence: Divergence | null;
  /** Events re-executed (and checked, with verify). */
  events: number;
  /** The code that recorded the run differs from this build. */
  codeChanged: boolean;
  recordedWith: string;
}

class Diverged extends Error {}

function sameBytes(x: Uint8Array | null | undefined, y: Uint8Array | null | undefined): boolean {
  if (!x || x.length === 0) return !y || y.length === 0;
  if (!y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Compares every event the simulator stamps with the log, in order. */
class VerifySink implements EventSink {
  divergence: Divergence | null = null;
  private chunk: EventRow[] = [];
  private i = 0;
  private readonly chunks: Iterator<EventRow[]>;

  constructor(trace: Trace, run: number, last: number) {
    this.chunks = trace.eventChunks(run, 1, last)[Symbol.iterator]();
  }

  private nextRecorded(): EventRow | null {
    if (this.i >= this.chunk.length) {
      const n = this.chunks.next();
      if (n.done) return null;
      this.chunk = n.value;
      this.i = 0;
    }
    return this.chunk[this.i++]!;
  }

  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined): void {
    const r = this.nextRecorded();
    if (r && r[0] === seq && r[1] === tick && r[2] === tid && r[3] === kind && r[4] === a && r[5] === b
        && r[6] === c && r[7] === d && sameBytes(r[8], data)) {
      return;
    }
    this.divergence = { seq, recorded: r ? [...r] as Row : null, replayed: [seq, tick, tid, kind, a, b, c, d, data ?? null] };
    throw new Diverged();
  }

  name(): void {}
  task(): void {}
}

export function reexecute(trace: Trace, run: RunInfo, until: number, opts: { verify?: boolean } = {}): ReexecResult {
  const workload = findWorkload(run.workload);
  if (!workload) {
    throw new MmtraceError('EUNKNOWN_WORKLOAD', `run ${run.name} was recorded from workload '${run.workload}', which this build does not have; use --engine=projection`);
  }
  const current = codeVersion();
  const base = { codeChanged: run.codeVersion !== current, recordedWith: run.codeVersion };
  const decisions = trace.decisionsOf(run.id);
  const sink = opts.verify ? new VerifySink(trace, run.id, until) : NULL_SINK;
  let sim: Sim | undefined;
  let model: Model | null = null;
  try {
    const result = runWorkload({
      workload, params: run.params as Record<string, ParamValue>, path: run.path as AccessPath, variant: run.variant,
      seed: run.seed, strategy: new ReplayStrategy(decisions), config: run.config as Partial<KernelConfig>, sink,
      stopAfter: until,
    });
    sim = result.sim;
    model = sim.inside(() => modelFromKernel(result.sim, result.kernel));
    if (result.events < until) {
      const divergence: Divergence = { seq: result.events + 1, recorded: null, replayed: null, message: `re-execution ended after ${result.events} events, the log goes on to ${until}` };
      return { ...base, model: null, divergence, events: result.events };
    }
    return { ...base, model, divergence: null, events: result.events };
  } catch (e) {
    if (e instanceof Diverged && sink instanceof VerifySink) {
      return { ...base, model: null, divergence: sink.divergence, events: sink.divergence!.seq - 1 };
    }
    if (e instanceof Error && /replay diverged/.test(e.message)) {
      return { ...base, model: null, divergence: { seq: 0, recorded: null, replayed: null, message: e.message }, events: 0 };
    }
    throw e;
  }
}
