/**
 * io-fault: user faults drop their lock for I/O and retry (do_user_addr_fault's
 * FAULT_FLAG_ALLOW_RETRY, maybe_unlock_mmap_for_io); remote GUP, which has no FOLL_UNLOCKABLE,
 * sleeps for the I/O holding mmap_lock; the vmaGup variant holds only the VMA lock.
 */
import { describe, expect, test } from 'vitest';
import { LockHolders, VMA_LOCK_CLASS } from '../src/reduce/lock-holders.js';
import { IO_AREA, ioFault, ioFileByte } from '../src/workloads/io-fault.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import type { EventOf } from '../src/trace/vocab/index.js';
import { runTrace, type Trace } from './helpers/harness.js';

const PAGES = 8;
const IO = 500;

function run(path: 'gup' | 'fast', variant: string[], seed: number, region: number): Trace {
  const t = runTrace(ioFault, { path, variant, seed, params: { pages: PAGES, io: IO, region } });
  expect(t.result.outcome).toBe('done');
  return t;
}

/** The locks that keep the address space's writers out. */
const ADDRESS_SPACE_LOCKS = ['mmap_lock', VMA_LOCK_CLASS];

/**
 * Each I/O sleep (a page read from the file), with the mmap_lock and VMA locks its task held then
 * (as class:mode). The read itself holds the file's invalidate_lock, as in the kernel.
 */
function ioSleeps(t: Trace): { e: EventOf<'sched_sleep'>; task: string; held: string[] }[] {
  const holders = new LockHolders();
  const out: { e: EventOf<'sched_sleep'>; task: string; held: string[] }[] = [];
  for (const e of t.events) {
    if (e.kind === 'sched_sleep' && e.why === 'read_folio I/O') {
      const held = holders.heldBy(e.tid).filter((h) => ADDRESS_SPACE_LOCKS.includes(h.class));
      out.push({ e, task: t.taskName(e.tid), held: held.map((h) => `${h.class}:${h.mode}`) });
    }
    holders.event(e);
  }
  return out;
}

describe('io-fault: who holds what across a page read', () => {
  for (const seed of [1, 2]) {
    for (const [path, variant] of [['gup', []], ['fast', []], ['fast', ['vmaGup']]] as const) {
      const label = `${path}${variant.length ? `+${variant.join('+')}` : ''} seed ${seed}`;

      test(`a user fault sleeps for I/O holding no lock, then redoes the fault (${label})`, () => {
        const t = run(path, [...variant], seed, 0);
        const faulterSleeps = ioSleeps(t).filter((s) => s.task.startsWith('faulter/'));
        // The faulters read the first half of the file: one read per page.
        expect(faulterSleeps).toHaveLength(PAGES / 2);
        for (const s of faulterSleeps) expect(s.held).toEqual([]);
        for (const task of ['faulter/0', 'faulter/1']) {
          const hows = t.of('fault', task).map((e) => e.how);
          // Each page: the first attempt released the lock and asked for a retry; the second mapped it.
          expect(hows).toEqual(Array.from({ length: PAGES / 4 }, () => ['filemap_fault:retry', 'do_read_fault']).flat());
        }
        // The first attempt ran under the VMA lock (CONFIG_PER_VMA_LOCK), the retry under mmap_lock.
        expect(t.of('vmstat', undefined, (e) => e.counter === 'VMA_LOCK_RETRY')).toHaveLength(PAGES / 2);
      });

      test(`the monitor's reads of the file: the lock its fault holds across the I/O (${label})`, () => {
        const t = run(path, [...variant], seed, 1);
        const monitorSleeps = ioSleeps(t).filter((s) => s.task === 'monitor');
        expect(monitorSleeps).toHaveLength(3);
        const vmaOnly = variant.length > 0;
        // Remote faults cannot retry: GUP (and v1's fallback to it) sleeps holding mmap_lock for
        // read; the vmaGup variant holds the VMA read lock only.
        for (const s of monitorSleeps) expect(s.held).toEqual([vmaOnly ? `${VMA_LOCK_CLASS}:read` : 'mmap_lock:read']);
        // The bytes are the file's, from the second half, last page first.
        const reqs = t.requests('monitor');
        expect(reqs.map((r) => Array.from(r.data))).toEqual(
          [0, 1, 2].map((i) => Array.from({ length: 16 }, (_, o) => ioFileByte((PAGES - 1 - i) * PAGE_SIZE + o))),
        );
        expect(reqs.map((r) => r.addr)).toEqual([0, 1, 2].map((i) => IO_AREA + (PAGES - 1 - i) * PAGE_SIZE));
      });
    }
  }

  test('on gup, the churning writer waits out a remote read of the file; with vmaGup it does not', () => {
    const writerWaitsAcrossIo = (t: Trace) => {
      const monitorIo = ioSleeps(t).filter((s) => s.task === 'monitor').map((s) => [s.e.tick, s.e.until] as const);
      const waits = t.of('rwsem_contended', 'churn').map((c) => [c.tick, t.next('rwsem_acquire', c.seq, 'churn')!.tick] as const);
      return waits.filter(([from, to]) => monitorIo.some(([start, end]) => from <= end && to >= end && from < end && start < to)).length;
    };
    expect(writerWaitsAcrossIo(run('gup', [], 1, 1))).toBeGreaterThan(0);
    expect(writerWaitsAcrossIo(run('fast', ['vmaGup'], 1, 1))).toBe(0);
  });
});

describe('io-fault: projection equals the live kernel after every event', () => {
  for (const region of [0, 1]) {
    for (const [path, variant] of [['gup', []], ['fast', ['vmaGup']]] as const) {
      test(`region=${region} ${path}${variant.length ? '+vmaGup' : ''}`, () => {
        const r = checkEveryEvent(ioFault, { path, variant: [...variant], seed: 1, params: { pages: PAGES, io: IO, region } });
        expect(r.firstMismatch).toBeNull();
        expect(r.events).toBeGreaterThan(500);
      });
    }
  }
});
