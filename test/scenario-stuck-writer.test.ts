/**
 * kernel-spec §12.5 on every build: a long mmap_lock write hold (a MAP_FIXED remap zapping a large
 * populated range) against a monitor. The gup-path side is also covered in kernel-stuck-writer.
 */
import { describe, expect, test } from 'vitest';
import { stuckWriter } from '../src/workloads/stuck-writer.js';
import { runTrace, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const ARGV_LEN = 48;

function run(path: 'gup' | 'fast', variant: string[], seed: number, region: number): Trace {
  const t = runTrace(stuckWriter, { path, variant, seed, params: { pages: 128, region } });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  return t;
}

/** The monitor's blocks on mmap_lock. */
const mmapWaits = (t: Trace) => t.of('sched_block', 'monitor', (e) => e.wait === 'rwsem_down_read');

describe('§12.5 monitoring tool stuck behind a long mmap_lock writer', () => {
  for (const seed of SEEDS) {
    test(`cmdline: gup waits on mmap_lock; fast reads the stack VMA without touching mmap_lock (seed ${seed})`, () => {
      const gup = run('gup', [], seed, 0);
      expect(mmapWaits(gup).length).toBeGreaterThanOrEqual(1);
      for (const fix of [[], ['singleVmaOnly', 'checkFollAnon', 'touch']]) {
        const fast = run('fast', fix, seed, 0);
        expect(fast.requests('monitor').map((r) => r.result)).toEqual([ARGV_LEN, ARGV_LEN, ARGV_LEN, ARGV_LEN]);
        expect(fast.of('mmap_lock_start_locking', 'monitor')).toHaveLength(0);
        expect(mmapWaits(fast)).toHaveLength(0);
        // Same bytes as gup.
        expect(fast.requests('monitor').map((r) => Array.from(r.data))).toEqual(gup.requests('monitor').map((r) => Array.from(r.data)));
      }
    });

    test(`the write-locked region: fast aborts, falls back and waits like gup (seed ${seed})`, () => {
      const fast = run('fast', [], seed, 1);
      const aborted = fast.of('fast_path_fallback', 'monitor', (e) => e.reason === 'lock_vma_under_rcu failed');
      expect(aborted.length).toBeGreaterThanOrEqual(1);
      expect(mmapWaits(fast).length).toBeGreaterThanOrEqual(1);
      expect(fast.requests('monitor').every((r) => r.result === 64)).toBe(true);
    });

    test(`the write-locked region with waitForWriter: it sleeps on mmap_lock, then retries lock-free (seed ${seed})`, () => {
      const t = run('fast', ['waitForWriter'], seed, 1);
      const retries = t.of('vma_lock_wait_retry', 'monitor');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      // Before the retry: an mmap_lock read lock taken and dropped (it waited for the writer) ...
      const r = retries[0]!;
      const waited = t.of('mmap_lock_released', 'monitor', (e) => e.seq < r.seq && !e.write);
      expect(waited.length).toBeGreaterThanOrEqual(1);
      // ... after it, the VMA read lock, without falling back for the lock.
      const next = t.next('vma_start_read', r.seq, 'monitor')!;
      expect(next.result).toBe('ok');
      expect(t.of('fast_path_fallback', 'monitor', (e) => e.reason === 'lock_vma_under_rcu failed')).toHaveLength(0);
      expect(t.requests('monitor').every((q) => q.result === 64)).toBe(true);
    });
  }
});
