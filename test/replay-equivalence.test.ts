/**
 * The two replay engines agree (issue: replay). The exhaustive check: while a workload runs, fold
 * every event into a projection model and, after every single event, compare it with the model
 * read off the live kernel. Then, on recorded files: projection from snapshots, projection from
 * the start, and re-execution give identical documents at many random events.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { modelFromKernel } from '../src/replay/live.js';
import { toDoc } from '../src/replay/doc.js';
import { decodeModel, encodeModel, isRefusal } from '../src/replay/snapshot.js';
import { project } from '../src/replay/projection.js';
import { reexecute } from '../src/replay/reexec.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { openTrace } from '../src/trace/reader.js';
import { WORKLOADS, findWorkload, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import { tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';
import { checkEveryEvent } from './helpers/fold-check.js';

const SMALL: Record<string, Record<string, string>> = {
  'cmdline-poll': { reads: '8', iterations: '3' },
  'stuck-writer': { pages: '24', reads: '3' },
  scale: { iterations: '4', reads: '8', monitors: '1' },
};

function checkWorkload(workload: string, seed: number, pct: boolean) {
  const w = findWorkload(workload)!;
  return checkEveryEvent(w, { seed, pct, params: resolveParams(w, SMALL[workload] ?? {}) });
}

describe('projection equals the live kernel after every event', () => {
  for (const w of WORKLOADS) {
    for (const [seed, pct] of [[1, false], [2, false], [3, true]] as const) {
      test(`${w.name}, seed ${seed}${pct ? ', PCT' : ''}`, () => {
        const { events, firstMismatch } = checkWorkload(w.name, seed, pct);
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
      recordHere(workload, [...params.flatMap((p) => ['--param', p]), `--out=${file}`, `--name=${name}`, '--seed=5']);
    await record('cmdline-poll', [], 'poll');
    await record('stuck-writer', ['pages=64'], 'stuck');
    await record('scale', ['iterations=45', 'reads=90'], 'scale'); // > 2 snapshot intervals
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
        const back = decodeModel(encodeModel(m));
        if (isRefusal(back)) throw new Error(back.reason);
        expect(JSON.stringify(toDoc(back))).toBe(JSON.stringify(toDoc(m)));
        checked++;
      },
    });
    expect(checked).toBeGreaterThan(2);
  });
});
