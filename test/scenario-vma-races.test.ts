/**
 * The per-VMA lock against VMA writers (kernel-spec §12.6, §12.7, §12.10, §12.16), each scenario
 * recorded on gup, on fast (v1) and on fast with the review's fixes, under its directed schedule.
 */
import { describe, expect, test } from 'vitest';
import { mprotectRace, munmapDuringRead, readerBlocksWriter, vmaMerge } from '../src/workloads/vma-races.js';
import { EFAULT } from '../src/linux/include/errno.js';
import type { EventOf, KindName } from '../src/trace/vocab/index.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace, type Trace } from './helpers/harness.js';

const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];
const SEEDS = [1, 2, 3];
const text = (data: Uint8Array | null) => new TextDecoder().decode(data ?? new Uint8Array());

function run(w: Workload, path: 'gup' | 'fast', variant: string[], seed: number, params: Record<string, number> = {}): Trace {
  const t = runTrace(w, { path, variant, seed, params });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

const result = (t: Trace, task: string) => t.of('request_end', task).map((e) => [e.result, text(e.data).slice(0, 8)]);
const first = <N extends KindName>(t: Trace, kind: N, task: string, pred: (e: EventOf<N>) => boolean = () => true) =>
  t.of(kind, task, pred)[0];

describe('§12.7 munmap of the VMA being read', () => {
  for (const seed of SEEDS) {
    test(`gup: munmap waits for the whole read on mmap_lock; the late read gets 0 (seed ${seed})`, () => {
      const t = run(munmapDuringRead, 'gup', [], seed);
      expect(result(t, 'reader')).toEqual([[16384, 'MMMMMMMM']]);
      expect(result(t, 'late-reader')).toEqual([[0, '']]);
      expect(first(t, 'sched_block', 'writer', (e) => e.wait === 'rwsem_down_write')).toBeDefined();
    });

    test(`fast: munmap sleeps in vma_start_write until vma_end_read; the late reader falls back, expand_stack takes mmap_lock for write, 0 (seed ${seed})`, () => {
      const t = run(munmapDuringRead, 'fast', [], seed);
      expect(result(t, 'reader')).toEqual([[16384, 'MMMMMMMM']]);
      expect(result(t, 'late-reader')).toEqual([[0, '']]);
      const wrote = first(t, 'vma_start_write', 'writer', (e) => e.waited)!;
      expect(wrote).toBeDefined();
      // It waited for the reader's VMA read lock: the reader's vma_end_read comes before it.
      const endRead = t.of('vma_end_read', 'reader', (e) => e.vma === wrote.vma).pop()!;
      expect(endRead.seq).toBeLessThan(wrote.seq);
      expect(first(t, 'fast_path_fallback', 'late-reader')).toBeDefined();
      // expand_stack() on the slow path takes mmap_lock for write.
      expect(t.of('mmap_lock_start_locking', 'late-reader', (e) => e.write)).toHaveLength(1);
      expect(t.of('expand_stack', 'late-reader').map((e) => e.vma)).toEqual([0]);
    });
  }
});

describe('§12.10 mprotect(PROT_NONE) racing a read', () => {
  const cases: [string, number, number, number][] = [
    ['read before the mprotect', 0, 0, 16], ['read while A is write-locked', 1, 0, 0], ['read after', 2, 0, 0],
    ['FOLL_FORCE before', 0, 1, 16], ['FOLL_FORCE during', 1, 1, 16], ['FOLL_FORCE after', 2, 1, 16],
  ];
  for (const [what, when, force, bytes] of cases) {
    test(`${what}: gup, fast and fast+fixes all return ${bytes} bytes`, () => {
      for (const seed of SEEDS) {
        for (const [path, variant] of [['gup', []], ['fast', []], ['fast', FIXES]] as const) {
          const t = run(mprotectRace, path, [...variant], seed, { when, force });
          expect(result(t, 'reader')[0]![0], `${path}${variant.length ? '+fixes' : ''} seed ${seed}`).toBe(bytes);
        }
      }
    });
  }

  test('during, fast: the write-locked VMA makes lock_vma_under_rcu abort; the slow path waits for mmap_lock, then -EFAULT', () => {
    for (const seed of SEEDS) {
      const t = run(mprotectRace, 'fast', [], seed, { when: 1, force: 0 });
      const fb = first(t, 'fast_path_fallback', 'reader')!;
      expect(fb.reason).toBe('lock_vma_under_rcu failed');
      expect(first(t, 'vma_start_read', 'reader')!.result).toBe('locked_out');
      expect(first(t, 'sched_block', 'reader', (e) => e.wait === 'rwsem_down_read')).toBeDefined();
      expect(t.of('gup_error', 'reader').map((e) => e.errno)).toEqual([EFAULT]);
    }
  });
});

describe('§12.6 VMA merge while the fast path holds the first VMA', () => {
  for (const seed of SEEDS) {
    test(`same bytes on every path (only flags merged) (seed ${seed})`, () => {
      for (const [path, variant] of [['gup', []], ['fast', []], ['fast', FIXES]] as const) {
        expect(result(run(vmaMerge, path, [...variant], seed), 'reader')).toEqual([[16, 'AAAAAAAA']]);
      }
    });

    test(`fast: the merge's vma_start_write sleeps holding mmap_lock for write; a bystander's mmap stalls; the read falls back after 8 bytes (seed ${seed})`, () => {
      const t = run(vmaMerge, 'fast', [], seed);
      const sleep = first(t, 'sched_block', 'writer', (e) => e.wait === 'vma_writer_wait')!;
      expect(sleep).toBeDefined();
      const merged = first(t, 'vma_start_write', 'writer', (e) => e.waited)!;
      const stalled = first(t, 'rwsem_contended', 'bystander')!;
      expect(stalled.seq).toBeGreaterThan(sleep.seq);
      expect(stalled.seq).toBeLessThan(merged.seq);
      const fb = first(t, 'fast_path_fallback', 'reader')!;
      expect(fb.copied).toBe(8);
      // The absorbed VMA is detached and freed.
      expect(t.of('vma_mark_detached', 'writer')).toHaveLength(1);
      expect(t.of('vma_free', 'writer')).toHaveLength(1);
    });
  }
});

describe('§12.16 reader blocks writer (priority inversion)', () => {
  for (const seed of SEEDS) {
    test(`fast: munmap sleeps in vma_start_write; another thread's first write fault retries under mmap_lock and stalls until the writer is done (seed ${seed})`, () => {
      const t = run(readerBlocksWriter, 'fast', [], seed);
      expect(result(t, 'reader')).toEqual([[32768, 'RRRRRRRR']]);
      const sleep = first(t, 'sched_block', 'writer', (e) => e.wait === 'vma_writer_wait')!;
      const retry = first(t, 'vmstat', 'faulter', (e) => e.counter === 'VMA_LOCK_RETRY')!;
      const stall = first(t, 'sched_block', 'faulter', (e) => e.wait === 'rwsem_down_read')!;
      expect(retry.seq).toBeGreaterThan(sleep.seq);
      expect(stall.seq).toBeGreaterThan(retry.seq);
      // Woken only once the writer got its VMA write lock and downgraded mmap_lock (munmap(2)).
      const got = first(t, 'vma_start_write', 'writer', (e) => e.waited)!;
      const woken = t.next('rwsem_wake', stall.seq, undefined, (e) => e.woken?.includes(t.tid('faulter')) === true)!;
      expect(woken.tid).toBe(t.tid('writer'));
      expect(woken.seq).toBeGreaterThan(got.seq);
      // The VMA read lock was held across the whole 8-page copy.
      const held = t.of('vma_start_read', 'reader', (e) => e.result === 'ok')[0]!;
      const end = t.of('vma_end_read', 'reader', (e) => e.vma === held.vma).pop()!;
      expect(t.of('copy', 'reader', (e) => e.seq > held.seq && e.seq < end.seq)).toHaveLength(8);
    });

    test(`gup: the same chain through mmap_lock: the munmap queues behind the read, the fault behind the munmap (seed ${seed})`, () => {
      const t = run(readerBlocksWriter, 'gup', [], seed);
      expect(result(t, 'reader')).toEqual([[32768, 'RRRRRRRR']]);
      expect(first(t, 'sched_block', 'writer', (e) => e.wait === 'rwsem_down_write')).toBeDefined();
    });
  }
});
