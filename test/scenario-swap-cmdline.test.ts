/**
 * swap-cmdline (issue 11 item 12, kernel-spec §12.9 "Swapped out"): kswapd swaps out the stack page
 * holding the target's cmdline -- add_to_swap, try_to_unmap (a swap entry in the PTE), the write,
 * and on the next pass __remove_mapping frees the folio -- then a monitor reads /proc/PID/cmdline.
 * GUP swaps the page in under mmap_lock, sleeping for the read; the fast path finds the swap entry
 * not present and falls back to GUP. A target thread touching the page (a user fault) releases its
 * lock while it waits for the read and retries.
 */
import { describe, expect, test } from 'vitest';
import { is_real_swap_pte, pte_swp_exclusive, swp_offset } from '../src/linux/arch/x86/include/pgtable_types.js';
import { VM_FAULT_MAJOR, VM_FAULT_RETRY } from '../src/linux/mm/mm_types.js';
import { LockHolders, VMA_LOCK_CLASS } from '../src/reduce/lock-holders.js';
import type { TraceEvent } from '../src/trace/vocab/index.js';
import { TARGET_ARGV } from '../src/workloads/cmdline-poll.js';
import { swapCmdline } from '../src/workloads/swap-cmdline.js';
import { firstFoldMismatch } from './helpers/fold-check.js';
import { runTrace, type Trace } from './helpers/harness.js';

const IO = 500;
const CMDLINE = new TextEncoder().encode(TARGET_ARGV.map((a) => `${a}\0`).join(''));

function run(path: 'gup' | 'fast', seed: number, toucher = 0): Trace {
  const t = runTrace(swapCmdline, { path, seed, params: { io: IO, toucher } });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

/** The address-space locks (mmap_lock, VMA locks) `task` holds at its first block on `wait`. */
function heldAtBlock(t: Trace, task: string, wait: string): { block: TraceEvent; held: string[] } {
  const holders = new LockHolders();
  for (const e of t.events) {
    if (e.kind === 'sched_block' && e.wait === wait && t.taskName(e.tid) === task) {
      const held = holders.heldBy(e.tid).filter((h) => h.class === 'mmap_lock' || h.class === VMA_LOCK_CLASS);
      return { block: e, held: held.map((h) => `${h.class}:${h.mode}`) };
    }
    holders.event(e);
  }
  throw new Error(`${task} never blocked on ${wait}`);
}

/** The swap-out of the cmdline folio by kswapd, checked in the kernel's order; returns the folio and slot. */
function swappedOut(t: Trace): { folio: number; offset: number } {
  const verdicts = t.of('reclaim_verdict', 'kswapd0', (e) => e.verdict === 'reclaim');
  const added = t.of('swap_cache_add', 'kswapd0');
  expect(added).toHaveLength(1);
  const { folio, offset } = added[0]!;
  // Pass one: judged RECLAIM (no young PTE; exec's PG_referenced does not save an anon folio),
  // a slot and the swap cache, then the PTE becomes an exclusive swap entry for that slot.
  expect(verdicts.filter((v) => v.folio === folio).map((v) => [v.ptes, v.referenced])).toEqual([[0, true], [0, false]]);
  const unmap = t.of('pgtable_set', 'kswapd0', (e) => is_real_swap_pte(e.value));
  expect(unmap.map((e) => [swp_offset(e.value), pte_swp_exclusive(e.value)])).toEqual([[offset, true]]);
  expect(unmap[0]!.seq).toBeGreaterThan(added[0]!.seq);
  // The write is the device's: it ends in the swapio task, after kswapd has moved on.
  const write = t.of('swap_io', 'swapio', (e) => e.write);
  expect(write.map((e) => [e.folio, e.offset])).toEqual([[folio, offset]]);
  expect(write[0]!.tick - unmap[0]!.tick).toBeGreaterThanOrEqual(IO - 100);
  // Pass two: frozen at isolation + swap cache (2), out of the cache, freed; the slot keeps the
  // swap PTE's reference only.
  const freeze = t.of('folio_ref_freeze', 'kswapd0', (e) => e.folio === folio);
  expect(freeze.map((e) => [e.count, e.ok])).toEqual([[2, true]]);
  expect(freeze[0]!.seq).toBeGreaterThan(write[0]!.seq);
  expect(t.next('swap_cache_delete', freeze[0]!.seq, 'kswapd0')!.folio).toBe(folio);
  expect(t.next('swap_map', freeze[0]!.seq, 'kswapd0')).toMatchObject({ offset, count: 1, cache: false });
  expect(t.next('folio_free', freeze[0]!.seq, 'kswapd0')!.folio).toBe(folio);
  return { folio, offset };
}

describe('swap-cmdline: reading a swapped-out cmdline page', () => {
  for (const seed of [1, 2, 3]) {
    test(`GUP swaps the page in under mmap_lock, sleeping for the read; the bytes are the cmdline (gup seed ${seed})`, () => {
      const t = run('gup', seed);
      const { folio, offset } = swappedOut(t);
      const [req] = t.requests('monitor');
      expect(req!.data).toEqual(CMDLINE);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
      // do_swap_page: a swap cache miss, a new folio for the slot, the read submitted ...
      const readIn = t.of('swap_cache_add', 'monitor');
      expect(readIn.map((e) => e.offset)).toEqual([offset]);
      expect(readIn[0]!.folio).not.toBe(folio);
      // ... and folio_lock_or_retry without FAULT_FLAG_ALLOW_RETRY: the monitor sleeps on the
      // folio lock for the whole read holding mmap_lock for read.
      const { block, held } = heldAtBlock(t, 'monitor', 'folio_lock');
      expect(held).toEqual(['mmap_lock:read']);
      const read = t.of('swap_io', 'swapio', (e) => !e.write)[0]!;
      expect(read.seq).toBeGreaterThan(block.seq);
      expect(read.tick - block.tick).toBeGreaterThanOrEqual(IO - 100);
      const fault = t.of('fault', 'monitor');
      expect(fault.map((e) => [e.how, e.result])).toEqual([['do_swap_page', VM_FAULT_MAJOR]]);
      // Mapped: the swap PTE's reference is gone; the clean folio stays in the swap cache, which
      // keeps the slot (a read fault: should_try_to_free_swap says no).
      expect(t.next('swap_map', read.seq, 'monitor')).toMatchObject({ offset, count: 0, cache: true });
    });

    test(`the fast path finds the swap entry not present and falls back to GUP, which swaps it in (fast seed ${seed})`, () => {
      const t = run('fast', seed);
      const { offset } = swappedOut(t);
      const [req] = t.requests('monitor');
      expect(req!.data).toEqual(CMDLINE);
      expect(t.of('fast_path_fallback').map((e) => [e.copied, e.reason])).toEqual([[0, 'folio_walk_start: not found']]);
      expect(t.of('swap_cache_add', 'monitor').map((e) => e.offset)).toEqual([offset]);
      expect(heldAtBlock(t, 'monitor', 'folio_lock').held).toEqual(['mmap_lock:read']);
    });
  }

  for (const path of ['gup', 'fast'] as const) {
    for (const seed of [1, 2]) {
      test(`a user fault on the swapped-out page releases its lock while the read is in flight and retries (${path} seed ${seed})`, () => {
        const t = run(path, seed, 1);
        swappedOut(t);
        expect(t.requests('monitor')[0]!.data).toEqual(CMDLINE);
        // folio_lock_or_retry with FAULT_FLAG_ALLOW_RETRY: the toucher waits for the folio holding
        // neither mmap_lock nor its VMA lock, then its fault says VM_FAULT_RETRY ...
        expect(heldAtBlock(t, 'toucher', 'folio_wait_locked').held).toEqual([]);
        const faults = t.of('fault', 'toucher');
        expect(faults[0]!.how).toBe('do_swap_page:folio_lock_or_retry');
        expect(faults[0]!.result & VM_FAULT_RETRY).toBe(VM_FAULT_RETRY);
        // ... and is done again; the page is read from the device once, whoever started it.
        expect(faults.length).toBeGreaterThan(1);
        expect(t.of('swap_io', 'swapio', (e) => !e.write)).toHaveLength(1);
        expect(t.of('swap_cache_add').filter((e) => t.taskName(e.tid) !== 'kswapd0')).toHaveLength(1);
      });
    }
  }

  test('the projection equals the live kernel after every event (swap slots, swap cache, swap entries)', () => {
    expect(firstFoldMismatch(swapCmdline, 'gup', [], 1)).toBeNull();
    expect(firstFoldMismatch(swapCmdline, 'fast', [], 2, { toucher: 1 })).toBeNull();
  });
});
