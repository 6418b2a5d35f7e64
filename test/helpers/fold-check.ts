/**
 * The exhaustive replay check of test/replay-equivalence.test.ts for any path and variant: fold
 * every event into a projection model and compare it with the live kernel after every event.
 */
import type { KernelConfig } from '../../src/linux/kernel.js';
import { modelFromKernel } from '../../src/replay/live.js';
import { toDoc } from '../../src/replay/doc.js';
import { fold } from '../../src/replay/fold.js';
import { emptyModel, type Model, type RunContext } from '../../src/replay/model-types.js';
import { PctStrategy, RandomStrategy } from '../../src/sim/strategy.js';
import { decode, kindDef } from '../../src/trace/vocab/index.js';
import type { EventSink } from '../../src/trace/sink.js';
import { runWorkload } from '../../src/workloads/runner.js';
import type { AccessPath, ParamValue, Workload } from '../../src/workloads/workload.js';

class FoldingSink implements EventSink {
  readonly model: Model = emptyModel();
  readonly names: string[] = [''];
  readonly taskNames = new Map<number, string>();
  private readonly ctx: RunContext = { taskNames: this.taskNames };
  lastKind = 0;
  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data?: Uint8Array) {
    this.lastKind = kind;
    fold(this.model, this.ctx, decode([seq, tick, tid, kind, a, b, c, d, data ?? null], this.names), kind);
  }
  name(id: number, text: string) {
    this.names[id] = text;
  }
  task(tid: number, name: string) {
    this.taskNames.set(tid, name);
  }
}

/** null when the projection equals the live kernel after every event, else the first difference. */
export interface FoldCheck {
  events: number;
  /** The first event after which projection and the live kernel differ, described; null if none. */
  firstMismatch: string | null;
}

/**
 * Run a workload, folding every event into a projection model, and compare it with the model read
 * off the live kernel after every single event.
 */
export function checkEveryEvent(
  workload: Workload,
  opts: {
    path?: AccessPath; variant?: string[]; seed: number; params?: Record<string, ParamValue>; pct?: boolean;
    config?: Partial<KernelConfig>;
  },
): FoldCheck {
  const sink = new FoldingSink();
  let firstMismatch: string | null = null;
  const all: Record<string, ParamValue> = {};
  for (const [k, spec] of Object.entries(workload.params)) all[k] = spec.default;
  Object.assign(all, opts.params ?? {});
  const seed = opts.seed;
  const r = runWorkload({
    workload, params: all, path: opts.path ?? 'gup', variant: opts.variant ?? [], seed,
    strategy: opts.pct ? new PctStrategy(seed, 3, 4000) : new RandomStrategy(seed), sink, snapshotEvery: 1, config: opts.config,
    onSnapshot: (seq, sim) => {
      if (firstMismatch) return;
      const live = toDoc(modelFromKernel(sim)) as unknown as Record<string, unknown>;
      const folded = toDoc(sink.model) as unknown as Record<string, unknown>;
      for (const key of Object.keys(live)) {
        const l = JSON.stringify(live[key]);
        const f = JSON.stringify(folded[key]);
        if (l !== f) {
          firstMismatch = `event ${seq} (${kindDef(sink.lastKind).name}): ${key} differs\n live:   ${l.slice(0, 600)}\n folded: ${f.slice(0, 600)}`;
          return;
        }
      }
    },
  });
  return { events: r.events, firstMismatch };
}

export function firstFoldMismatch(
  workload: Workload, path: AccessPath, variant: string[], seed: number, params: Record<string, ParamValue> = {},
): string | null {
  return checkEveryEvent(workload, { path, variant, seed, params }).firstMismatch;
}
