/**
 * kernel-spec §12.1: a read spanning two VMAs while the second is replaced. The directed schedule
 * runs the writer right after the reader's first copy from A, for every seed and strategy.
 */
import { describe, expect, test } from 'vitest';
import { crossVmaRace } from '../src/workloads/cross-vma-race.js';
import { runTrace } from './helpers/harness.js';

const text = (data: Uint8Array | null) => new TextDecoder().decode(data ?? new Uint8Array());

function read(path: 'gup' | 'fast', variant: string[], gap: number, seed: number, pct: boolean) {
  const t = runTrace(crossVmaRace, { path, variant, seed, params: { gap }, strategy: pct ? { pct: 3 } : 'random' });
  expect(t.result.outcome).toBe('done');
  const end = t.of('request_end', 'reader')[0]!;
  return { t, result: end.result, bytes: text(end.data) };
}

const RUNS: [number, boolean][] = [[1, false], [2, false], [3, false], [4, true]];

describe('§12.1 read spanning two VMAs, neighbour replaced', () => {
  for (const [seed, pct] of RUNS) {
    const label = `seed ${seed}${pct ? ' PCT' : ''}`;
    test(`gup: one mmap_read_lock hold for the whole read, the writer waits: all (A,B) (${label})`, () => {
      const { t, result, bytes } = read('gup', [], 0, seed, pct);
      expect([result, bytes]).toEqual([16, 'AAAAAAAABBBBBBBB']);
      // The writer's munmap queued for the write lock behind the reader's read lock.
      expect(t.of('rwsem_contended', 'writer').length).toBeGreaterThan(0);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
    });

    test(`fast v1: A under A's VMA lock, then C under C's: bytes from two moments (${label})`, () => {
      const { t, result, bytes } = read('fast', [], 0, seed, pct);
      expect([result, bytes]).toEqual([16, 'AAAAAAAACCCCCCCC']);
      // No mmap_lock for the reader at all; two VMA read locks, on different VMAs.
      expect(t.of('mmap_lock_start_locking', 'reader')).toHaveLength(0);
      const locked = t.of('vma_start_read', 'reader', (e) => e.result === 'ok').map((e) => e.vma);
      expect(new Set(locked).size).toBe(2);
    });

    test(`fast+singleVmaOnly: the read spans two VMAs, so it falls back at once: as gup (${label})`, () => {
      const { t, result, bytes } = read('fast', ['singleVmaOnly'], 0, seed, pct);
      expect([result, bytes]).toEqual([16, 'AAAAAAAABBBBBBBB']);
      const fb = t.of('fast_path_fallback', 'reader');
      expect(fb).toHaveLength(1);
      expect(fb[0]!.copied).toBe(0); // nothing copied on the fast path
      expect(fb[0]!.reason).toBe('VMA not for the fast path');
    });

    test(`gap observed: fast v1 copies 8 bytes, finds no VMA, and the slow path's return 0 drops them (§8.3 item 8) (${label})`, () => {
      const fast = read('fast', [], 1, seed, pct);
      expect(fast.result).toBe(0);
      const fb = fast.t.of('fast_path_fallback', 'reader');
      expect(fb.map((e) => [e.copied, e.reason])).toEqual([[8, 'lock_vma_under_rcu failed']]);
      expect(fast.t.of('expand_stack', 'reader').map((e) => e.vma)).toEqual([0]); // no VMA grew
      // gup and the single-VMA fix still read a consistent (A,B).
      expect(read('gup', [], 1, seed, pct).bytes).toBe('AAAAAAAABBBBBBBB');
      expect(read('fast', ['singleVmaOnly'], 1, seed, pct).bytes).toBe('AAAAAAAABBBBBBBB');
    });
  }
});
