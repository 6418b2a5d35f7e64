/**
 * A recording bounds the growth of V8's heap (src/record/heap.ts), so that a long recording's
 * resident set stays where a short one's is: inside the bound V8 collects the old generation far
 * more often and the young generation keeps its size, a recording runs inside it, and nothing else
 * does. (What it does to
 * the peak memory is a bench figure, `rssMbAt10M` against `rssMbAt100M`, not a test's.)
 */
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, test } from 'vitest';
import { heapGrowthBounded, withBoundedHeapGrowth } from '../src/record/heap.js';
import { recordRuns } from '../src/record/record.js';
import { scaleParams } from '../src/cli/bench.js';
import { tempDir } from './helpers/cli.js';

/** What a recording does to the heap: objects that outlive a few scavenges, then die. */
function promoteGarbage(): number {
  const ring: { i: number; pair: number[] }[] = new Array(300_000);
  for (let i = 0; i < 6_000_000; i++) ring[i % ring.length] = { i, pair: [i, i + 1] };
  return ring.length;
}

/** The major collections `work` leads to (the observer hears of them after the work returns). */
async function majorCollections(work: () => void): Promise<number> {
  let majors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  });
  observer.observe({ entryTypes: ['gc'] });
  work();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return majors;
}

describe('a recording bounds the old generation', () => {
  test('inside the bound V8 collects the old generation far more often than with its own heuristic', async () => {
    promoteGarbage(); // compiled and warm, either way
    const free = await majorCollections(promoteGarbage);
    const bound = await majorCollections(() => withBoundedHeapGrowth(promoteGarbage));
    const freeAgain = await majorCollections(promoteGarbage);
    expect(bound).toBeGreaterThan(2 * Math.max(free, freeAgain));
  }, 30_000);

  test('inside the bound the young generation keeps its size', () => {
    const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
    const sizes = withBoundedHeapGrowth(() => {
      const before = young();
      promoteGarbage();
      return [before, young()];
    });
    // Node 20 stops the young generation at 34 MB anyway; Node 24 would grow it toward 134 MB.
    expect(sizes[1]).toBe(sizes[0]);
  }, 30_000);

  test('a run records inside the bound, and the bound ends with it', async () => {
    const dir = tempDir();
    const seen: boolean[] = [];
    const progress = () => ({ update: () => seen.push(heapGrowthBounded()), stop: () => {} });
    expect(heapGrowthBounded()).toBe(false);
    const rec = await recordRuns({
      workload: 'scale', paths: ['gup', 'fast'], variant: [], seed: 1, strategy: 'random', params: scaleParams(200_000),
      out: join(dir, 'run.db'), progress,
    });
    expect(rec.runs.map((r) => r.status)).toEqual(['complete', 'complete']);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every((b) => b)).toBe(true);
    expect(heapGrowthBounded()).toBe(false);
  }, 60_000);

  test('the bound ends when the run throws', () => {
    expect(() => withBoundedHeapGrowth(() => {
      throw new Error('the run failed');
    })).toThrow('the run failed');
    expect(heapGrowthBounded()).toBe(false);
  });
});
