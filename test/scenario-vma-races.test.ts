/**
 * The per-VMA lock against VMA writers (kernel-spec §12.6, §12.7, §12.10, §12.16), each scenario
 * recorded on gup, on fast (v1) and on fast with the review's fixes, under its directed schedule.
 */
import { describe, expect, test } from 'vitest';
import { mprotectRace, munmapDuringRead, readerBlocksWriter, vmaMerge } from '../src/workloads/vma-races.js';
import type { Workload } from '../src/workloads/workload.js';
import type { KindName } from '../src/trace/events.js';
import { type Ev, runTrace, type Trace } from './helpers/harness.js';

const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];
const SEEDS = [1, 2, 3];
const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data ?? new Uint8Array());

function run(w: Workload, path: 'gup' | 'fast', variant: string[], seed: number, params: Record<string, number> = {}): Trace {
  const t = runTrace(w, { path, variant, seed, params });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

const result = (t: Trace, task: string) => t.of('request_end', task).map((e) => [e.b, text(e.data).slice(0, 8)]);
const first = (t: Trace, kind: KindName, task: string, pred: (e: Ev) => boolean = () => true) => t.of(kind, task, pred)[0];

describe('§12.7 munmap of the VMA being read', () => {
  for (const seed of SEEDS) {
    test(`gup: munmap waits for the whole read on mmap_lock; the late read gets 0 (seed ${seed})`, () => {
      const t = run(munmapDuringRead, 'gup', [], seed);
      expect(result(t, 'reader')).toEqual([[16384, 'MMMMMMMM']]);
      expect(result(t, 'late-reader')).toEqual([[0, '']]);
      expect(first(t, 'sched_block', 'writer', (e) => t.name(e.b) === 'rwsem_down_write')).toBeDefined();
    });

    test(`fast: munmap sleeps in vma_start_write until vma_end_read; the late reader falls back, expand_stack takes mmap_lock for write, 0 (seed ${seed})`, () => {
      const t = run(munmapDuringRead, 'fast', [], seed);
      expect(result(t, 'reader')).toEqual([[16384, 'MMMMMMMM']]);
      expect(result(t, 'late-reader')).toEqual([[0, '']]);
      const wrote = first(t, 'vma_start_write', 'writer', (e) => e.b === 1)!;
      expect(wrote).toBeDefined();
      // It waited for the reader's VMA read lock: the reader's vma_end_read comes before it.
      const endRead = t.of('vma_end_read', 'reader', (e) => e.a === wrote.a).pop()!;
      expect(endRead.seq).toBeLessThan(wrote.seq);
      expect(first(t, 'fast_path_fallback', 'late-reader')).toBeDefined();
      // expand_stack() on the slow path takes mmap_lock for write.
      expect(t.of('mmap_lock_start_locking', 'late-reader', (e) => e.c === 1)).toHaveLength(1);
      expect(t.of('expand_stack', 'late-reader').map((e) => e.b)).toEqual([0]);
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
      expect(t.name(fb.c)).toBe('lock_vma_under_rcu failed');
      expect(first(t, 'vma_start_read', 'reader')!.b).toBe(1); // locked out
      expect(first(t, 'sched_block', 'reader', (e) => t.name(e.b) === 'rwsem_down_read')).toBeDefined();
      expect(t.of('gup_error', 'reader').map((e) => e.b)).toEqual([14]); // EFAULT
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
      const sleep = first(t, 'sched_block', 'writer', (e) => t.name(e.b) === 'vma_writer_wait')!;
      expect(sleep).toBeDefined();
      const merged = first(t, 'vma_start_write', 'writer', (e) => e.b === 1)!;
      const stalled = first(t, 'rwsem_contended', 'bystander')!;
      expect(stalled.seq).toBeGreaterThan(sleep.seq);
      expect(stalled.seq).toBeLessThan(merged.seq);
      const fb = first(t, 'fast_path_fallback', 'reader')!;
      expect(fb.b).toBe(8);
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
      const sleep = first(t, 'sched_block', 'writer', (e) => t.name(e.b) === 'vma_writer_wait')!;
      const retry = first(t, 'vmstat', 'faulter', (e) => t.name(e.a) === 'VMA_LOCK_RETRY')!;
      const stall = first(t, 'sched_block', 'faulter', (e) => t.name(e.b) === 'rwsem_down_read')!;
      expect(retry.seq).toBeGreaterThan(sleep.seq);
      expect(stall.seq).toBeGreaterThan(retry.seq);
      // Woken only once the writer got its VMA write lock and downgraded mmap_lock (munmap(2)).
      const got = first(t, 'vma_start_write', 'writer', (e) => e.b === 1)!;
      const woken = t.next('rwsem_wake', stall.seq, undefined, (e) => t.u32s(e.data).includes(t.tid('faulter')))!;
      expect(woken.tid).toBe(t.tid('writer'));
      expect(woken.seq).toBeGreaterThan(got.seq);
      // The VMA read lock was held across the whole 8-page copy.
      const held = t.of('vma_start_read', 'reader', (e) => e.b === 0)[0]!;
      const end = t.of('vma_end_read', 'reader', (e) => e.a === held.a).pop()!;
      expect(t.of('copy', 'reader', (e) => e.seq > held.seq && e.seq < end.seq)).toHaveLength(8);
    });

    test(`gup: the same chain through mmap_lock: the munmap queues behind the read, the fault behind the munmap (seed ${seed})`, () => {
      const t = run(readerBlocksWriter, 'gup', [], seed);
      expect(result(t, 'reader')).toEqual([[32768, 'RRRRRRRR']]);
      expect(first(t, 'sched_block', 'writer', (e) => t.name(e.b) === 'rwsem_down_write')).toBeDefined();
    });
  }
});
