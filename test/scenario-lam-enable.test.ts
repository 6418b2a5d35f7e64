/**
 * lam-enable (kernel-spec §9, §12.15): the target enables x86 LAM (arch_prctl
 * ARCH_ENABLE_TAGGED_ADDR) while a monitor reads through a tagged pointer. The slow path untags
 * under mmap_lock, so it sees the mask before or after the enable, atomically: 0 bytes before
 * (the tag makes the address non-canonical: no VMA), the data after. The fast path reads the
 * mask without the lock and may use the old all-ones mask: its VMA lookup fails, it falls back,
 * and the slow path untags correctly -- same result, benign.
 */
import { describe, expect, it } from 'vitest';
import {
  LAM_U57_BITS, LAM_U57_SHIFT, pointer_bits, pointer_number, pointer_tag, tagged_pointer,
} from '../src/linux/arch/x86/include/uaccess_64.js';
import { EBUSY } from '../src/linux/include/errno.js';
import { LAM_AREA, LAM_OFFSET, LAM_PATTERN, LAM_TAG, TAGGED_ADDR, lamEnable } from '../src/workloads/lam-enable.js';
import type { EventOf } from '../src/trace/vocab/index.js';
import { firstFoldMismatch } from './helpers/fold-check.js';
import { runTrace, type Ev, type Trace } from './helpers/harness.js';

const RUNS = [
  { path: 'gup', variant: [] as string[] },
  { path: 'fast', variant: [] as string[] },
  // No variant of the review changes the untagging; singleVmaOnly is the one that could matter
  // (a single-VMA read either way) and must not.
  { path: 'fast', variant: ['singleVmaOnly'] },
] as const;

function prctlResults(t: Trace): number[] {
  return t.of('syscall_end', 'target', (e) => e.nr === 'arch_prctl').map((e) => e.ret);
}

/** The monitor's requests, each with its events. */
function requests(t: Trace): { begin: EventOf<'request_begin'>; end: EventOf<'request_end'>; events: Ev[] }[] {
  const begins = t.of('request_begin', 'monitor');
  const ends = t.of('request_end', 'monitor');
  expect(ends).toHaveLength(begins.length);
  return begins.map((begin, i) => ({ begin, end: ends[i]!, events: t.between(begin.seq, ends[i]!.seq).filter((e) => e.tid === begin.tid) }));
}

describe('the tagged-pointer encoding (uaccess_64.ts)', () => {
  it('§9 holds the tag bits 57..62 exactly, and untagged addresses are themselves', () => {
    expect(pointer_bits(TAGGED_ADDR)).toBe((BigInt(LAM_TAG) << 57n) | BigInt(LAM_AREA + LAM_OFFSET));
    expect(pointer_bits(TAGGED_ADDR)).toBe(0x5400000040000100n);
    expect(pointer_number(0x5400000040000100n)).toBe(TAGGED_ADDR);
    expect(pointer_tag(TAGGED_ADDR)).toBe(LAM_TAG);
    expect(pointer_bits(0x7ffffffff000)).toBe(0x7ffffffff000n);
    expect(tagged_pointer(0x7ffffffff000, 63)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    expect(pointer_bits(tagged_pointer(0x7ffffffff000, 63))).toBe(0x7e007ffffffff000n);
    // Bits 47..56 and 63 have no place in the encoding.
    expect(() => pointer_number(1n << 50n)).toThrow(RangeError);
    expect(() => pointer_number(1n << 63n)).toThrow(RangeError);
  });
});

describe('lam-enable: LAM enabled during a tagged remote read (kernel-spec §9, §12.15)', () => {
  for (const run of RUNS) {
    const label = [run.path, ...run.variant].join('+');
    for (const seed of [1, 2, 3]) {
      it(`${label}, seed ${seed}: 0 bytes before the enable, the data from the read it races with and after`, () => {
        const t = runTrace(lamEnable, { path: run.path, variant: [...run.variant], seed });
        expect(t.result.outcome).toBe('done');
        expect(t.of('warn')).toHaveLength(0); // untagged_addr_remote always ran under mmap_lock

        // §9: enabling takes mmap_write_lock_killable, changes the mask once, locks LAM.
        expect(prctlResults(t)).toEqual([0, -EBUSY]);
        const enable = t.of('lam_enable');
        expect(enable).toHaveLength(1);
        expect(t.taskName(enable[0]!.tid)).toBe('target');
        expect([enable[0]!.bits, enable[0]!.shift]).toEqual([LAM_U57_BITS, LAM_U57_SHIFT]);
        const wlock = t.of('mmap_lock_acquire_returned', 'target', (e) => e.write && e.success && e.seq < enable[0]!.seq).at(-1)!;
        const wunlock = t.next('mmap_lock_released', enable[0]!.seq, 'target', (e) => e.write)!;
        expect(t.of('mmap_lock_released', 'target', (e) => e.write && e.seq > wlock.seq && e.seq < enable[0]!.seq)).toHaveLength(0);
        expect(wunlock).toBeDefined();

        const reqs = requests(t);
        expect(reqs).toHaveLength(6);
        for (const r of reqs) expect(r.begin.addr).toBe(TAGGED_ADDR);
        // Read 1, before the enable: the tag is kept, nothing is mapped there: 0 bytes.
        expect(reqs[0]!.end.seq).toBeLessThan(enable[0]!.seq);
        expect(reqs[0]!.end.result).toBe(0);
        // Read 2 races with the enable (the directed schedule puts the enable inside it) and every
        // later read: the data.
        expect(reqs[1]!.begin.seq).toBeLessThan(enable[0]!.seq);
        expect(reqs[1]!.end.seq).toBeGreaterThan(wunlock.seq);
        for (const r of reqs.slice(1)) {
          expect(r.end.result).toBe(LAM_PATTERN.length);
          expect(r.end.data).toEqual(LAM_PATTERN);
        }
        // The slow path of read 2 takes mmap_lock only after the enable released it.
        const lock2 = reqs[1]!.events.find((e) => t.is(e, 'mmap_lock_acquire_returned'))!;
        expect(lock2.seq).toBeGreaterThan(wunlock.seq);

        const fallbacks = (i: number) => reqs[i]!.events.filter((e) => t.is(e, 'fast_path_fallback'));
        if (run.path === 'gup') {
          expect(t.of('fast_path_fallback')).toHaveLength(0);
        } else {
          // §12.15: the fast path's unlocked mask read saw the old all-ones mask in reads 1 and 2
          // (the address it looked up still carries the tag): lookup failed, it fell back.
          for (const i of [0, 1]) {
            const f = fallbacks(i);
            expect(f).toHaveLength(1);
            expect(f[0]!.addr).toBe(TAGGED_ADDR);
            expect(f[0]!.copied).toBe(0);
            expect(f[0]!.reason).toBe('lock_vma_under_rcu failed');
          }
          expect(fallbacks(1)[0]!.seq).toBeLessThan(enable[0]!.seq);
          // From read 3 on the fast path untags with the new mask and copies without mmap_lock.
          for (const i of [2, 3, 4, 5]) {
            expect(fallbacks(i)).toHaveLength(0);
            expect(reqs[i]!.events.filter((e) => t.is(e, 'mmap_lock_start_locking'))).toHaveLength(0);
            const copies = reqs[i]!.events.filter((e) => t.is(e, 'copy'));
            expect(copies.map((e) => [e.addr, e.len])).toEqual([[LAM_AREA + LAM_OFFSET, LAM_PATTERN.length]]);
          }
        }
      });
    }
  }

  for (const path of ['gup', 'fast'] as const) {
    it(`${path}: without the directed schedule, reads are 0 until the enable and the data after, never anything else (seeds 1..8)`, () => {
      for (let seed = 1; seed <= 8; seed++) {
        const t = runTrace(lamEnable, { path, seed, params: { race: 0 } });
        expect(t.result.outcome).toBe('done');
        expect(prctlResults(t)).toEqual([0, -EBUSY]);
        const results = requests(t).map((r) => r.end.result);
        expect(results[0]).toBe(0);
        expect(results.slice(2).every((b) => b === LAM_PATTERN.length)).toBe(true);
        expect([0, LAM_PATTERN.length]).toContain(results[1]);
        // A slow path that returned 0 took mmap_lock before the enable; the data means after.
        const enable = t.of('lam_enable')[0]!;
        for (const r of requests(t)) {
          const locked = r.events.find((e) => t.is(e, 'mmap_lock_acquire_returned'));
          if (r.end.result === 0) expect(locked!.seq).toBeLessThan(enable.seq);
          else if (locked) expect(locked.seq).toBeGreaterThan(enable.seq);
        }
      }
    });
  }

  it('§9: a multi-threaded target (MM_CONTEXT_LOCK_LAM) cannot enable LAM; tagged reads stay 0', () => {
    for (const path of ['gup', 'fast'] as const) {
      const t = runTrace(lamEnable, { path, seed: 1, params: { threads: 1, race: 0 } });
      expect(t.result.outcome).toBe('done');
      expect(prctlResults(t)).toEqual([-EBUSY, -EBUSY]);
      expect(t.of('lam_enable')).toHaveLength(0);
      expect(requests(t).map((r) => r.end.result)).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('the projection equals the live kernel after every event on every path', () => {
    for (const run of RUNS) expect(firstFoldMismatch(lamEnable, run.path, [...run.variant], 2)).toBeNull();
    expect(firstFoldMismatch(lamEnable, 'fast', [], 2, { race: 0, threads: 1 })).toBeNull();
  });
});
