/**
 * The two replay engines agree (issue: replay). The exhaustive check: while a workload runs, fold
 * every event into a projection model and, after every single event, compare it with the model
 * read off the live kernel. Then, on recorded files: projection from snapshots, projection from
 * the start, and re-execution give identical documents at many random events.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { modelFromKernel } from '../src/replay/live.js';
import { decodeModel, emptyModel, encodeModel, fold, toDoc, type Model, type RunContext } from '../src/replay/model.js';
import { project } from '../src/replay/projection.js';
import { reexecute } from '../src/replay/reexec.js';
import { PctStrategy, RandomStrategy } from '../src/sim/strategy.js';
import { kindDef } from '../src/trace/events.js';
import { openTrace } from '../src/trace/reader.js';
import type { EventSink } from '../src/trace/sink.js';
import { WORKLOADS, findWorkload, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import { mmtrace, tempDir } from './helpers/cli.js';

const SMALL: Record<string, Record<string, string>> = {
  'cmdline-poll': { reads: '8', iterations: '3' },
  'stuck-writer': { pages: '24', reads: '3' },
  scale: { iterations: '4', reads: '8', monitors: '1' },
};

/** A sink that folds each event into a projection model as the run goes. */
class FoldingSink implements EventSink {
  readonly model: Model = emptyModel();
  readonly names: string[] = [''];
  readonly taskNames = new Map<number, string>();
  private readonly ctx: RunContext = { names: this.names, taskNames: this.taskNames };
  lastKind = 0;
  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data?: Uint8Array) {
    this.lastKind = kind;
    fold(this.model, this.ctx, seq, tick, tid, kind, a, b, c, d, data ?? null);
  }
  name(id: number, text: string) {
    this.names[id] = text;
  }
  task(tid: number, name: string) {
    this.taskNames.set(tid, name);
  }
}

function checkEveryEvent(workload: string, seed: number, pct: boolean): { events: number; firstMismatch: string | null } {
  const w = findWorkload(workload)!;
  const sink = new FoldingSink();
  let firstMismatch: string | null = null;
  const r = runWorkload({
    workload: w, params: resolveParams(w, SMALL[workload] ?? {}), path: 'gup', variant: [], seed,
    strategy: pct ? new PctStrategy(seed, 3, 4000) : new RandomStrategy(seed), sink,
    snapshotEvery: 1,
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

describe('projection equals the live kernel after every event', () => {
  for (const w of WORKLOADS) {
    for (const [seed, pct] of [[1, false], [2, false], [3, true]] as const) {
      test(`${w.name}, seed ${seed}${pct ? ', PCT' : ''}`, () => {
        const { events, firstMismatch } = checkEveryEvent(w.name, seed, pct);
        expect(events).toBeGreaterThan(150);
        expect(firstMismatch).toBeNull();
      });
    }
  }
});

describe('recorded runs: projection (with and without snapshots) and re-execution agree', () => {
  test('at many random events of three workloads', async () => {
    const file = join(tempDir(), 'eq.db');
    const record = (workload: string, params: string[], name: string) =>
      expect(mmtrace(['record', workload, ...params.flatMap((p) => ['--param', p]), `--out=${file}`, `--name=${name}`, '--seed=5']).status).toBe(0);
    record('cmdline-poll', [], 'poll');
    record('stuck-writer', ['pages=64'], 'stuck');
    record('scale', ['iterations=45', 'reads=90'], 'scale'); // > 2 snapshot intervals
    const trace = await openTrace(file);
    try {
      let rng = 12345;
      const next = (n: number) => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) % n) + 1;
      for (const run of trace.listRuns()) {
        const points = [1, run.events, ...Array.from({ length: 12 }, () => next(run.events))];
        for (const seq of points) {
          const fromSnapshot = JSON.stringify(toDoc(project(trace, run, seq).model));
          const fromStart = JSON.stringify(toDoc(project(trace, run, seq, { useSnapshots: false }).model));
          const reexec = reexecute(trace, run, seq);
          expect(reexec.divergence).toBeNull();
          expect(fromStart, `${run.name} event ${seq}: snapshot vs start`).toBe(fromSnapshot);
          expect(JSON.stringify(toDoc(reexec.model!)), `${run.name} event ${seq}: reexec vs projection`).toBe(fromSnapshot);
        }
      }
      const scale = trace.resolveRun('scale');
      expect(trace.snapshotCount(scale.id)).toBeGreaterThanOrEqual(2);
    } finally {
      trace.close();
    }
  });

  test('a snapshot decodes to the model it encoded', () => {
    const w = findWorkload('cmdline-poll')!;
    let checked = 0;
    runWorkload({
      workload: w, params: resolveParams(w, {}), path: 'gup', variant: [], seed: 9, strategy: new RandomStrategy(9),
      sink: { event() {}, name() {}, task() {} }, snapshotEvery: 997,
      onSnapshot: (_seq, sim) => {
        const m = modelFromKernel(sim);
        expect(JSON.stringify(toDoc(decodeModel(encodeModel(m))))).toBe(JSON.stringify(toDoc(m)));
        checked++;
      },
    });
    expect(checked).toBeGreaterThan(2);
  });
});
