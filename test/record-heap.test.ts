/**
 * A recording collects the whole heap every GC_EVERY events (src/record/heap.ts), so that a long
 * recording's resident set stays where a short one's is: the collection is there and frees, a
 * recording past GC_EVERY events makes one per GC_EVERY, and a shorter one none. (What it does to
 * the peak memory is a bench figure, `rssMbAt10M` against `rssMbAt100M`, not a test's.)
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { collectGarbage, GC_EVERY, garbageCollections } from '../src/record/heap.js';
import { recordRuns } from '../src/record/record.js';
import { scaleParams } from '../src/cli/bench.js';
import { tempDir } from './helpers/cli.js';

describe('a long recording collects its garbage', () => {
  test('the collection is there, and takes back what nothing holds', () => {
    let junk: { i: number }[] | null = Array.from({ length: 400_000 }, (_, i) => ({ i }));
    const held = process.memoryUsage().heapUsed;
    expect(junk.length).toBe(400_000);
    junk = null;
    const before = garbageCollections();
    expect(collectGarbage()).toBe(true);
    expect(garbageCollections()).toBe(before + 1);
    // 400k small objects are some 10 MB of heap
    expect(held - process.memoryUsage().heapUsed).toBeGreaterThan(5_000_000);
  });

  test('one collection per GC_EVERY events of a run, none in a shorter run', async () => {
    const dir = tempDir();
    const base = { workload: 'scale', paths: ['gup'], variant: [] as string[], seed: 1, strategy: 'random' };
    const before = garbageCollections();
    const short = await recordRuns({ ...base, params: scaleParams(GC_EVERY / 4), out: join(dir, 'short.db') });
    expect(short.runs[0]!.events).toBeLessThan(GC_EVERY);
    expect(garbageCollections()).toBe(before);
    const long = await recordRuns({ ...base, params: scaleParams(GC_EVERY * 1.2), out: join(dir, 'long.db') });
    expect(long.runs[0]!.events).toBeGreaterThan(GC_EVERY);
    expect(garbageCollections() - before).toBe(Math.floor(long.runs[0]!.events / GC_EVERY));
  }, 60_000);
});
