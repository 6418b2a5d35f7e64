/**
 * fatal-signal (kernel-spec §12.14, §1.2, §8.1, §6.4): a writer holds mmap_lock for write through a
 * long MAP_FIXED remap; the monitor's cmdline read starts meanwhile, and a killer sends it SIGKILL.
 *  - gup: the read sleeps killably in mmap_read_lock_killable; SIGKILL wakes it, the wait fails
 *    with -EINTR (`rwsem_fail` err -4), __access_remote_vm returns 0: the read returns 0 bytes.
 *    The next read, with the signal pending, returns 0 too (the killable wait fails at once, or
 *    GUP's fatal_signal_pending check gives -EINTR if the writer is gone).
 *  - fast (v1, and with the review's fix set): the reads never touch mmap_lock -- the stack VMA is
 *    not write-locked by the remap and argv is resident -- so the first read completes with the
 *    full argv while the writer still holds the lock; the killer finds nothing waiting and its
 *    signal lands after that read; the next read, signal pending, still returns the full argv.
 */
import { describe, expect, it } from 'vitest';
import { EINTR } from '../src/linux/include/errno.js';
import { TARGET_ARGV } from '../src/workloads/cmdline-poll.js';
import { fatalSignal } from '../src/workloads/fatal-signal.js';
import { runTrace, type Trace, type Req } from './helpers/harness.js';
import { cmdlineBytes } from './helpers/tasks.js';

const READS = fatalSignal.params.reads!.default as number;
const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];


const requestsOf = (t: Trace, task: string): Req[] => t.requests(task);

function run(seed: number, path: 'gup' | 'fast', variant: string[] = []) {
  const t = runTrace(fatalSignal, { seed, path, variant });
  expect(t.result.outcome).toBe('done');
  const mmapLock = t.of('mm_create')[0]!.mmap_lock;
  const monitor = t.tid('monitor');
  const writer = t.tid('writer');
  // The remap's write hold: from the writer's down_write in its 2nd mmap to its release.
  const remap = t.of('syscall_begin', writer, (e) => e.nr === 'mmap')[1]!;
  const acquired = t.next('rwsem_acquire', remap.seq, writer, (e) => e.sem === mmapLock && e.mode === 'write')!;
  const released = t.next('mmap_lock_released', acquired.seq, writer, (e) => e.write)!;
  const signals = t.of('signal_send', 'killer');
  expect(signals.map((e) => [e.target, e.sig])).toEqual([[monitor, 'SIGKILL']]);
  const reqs = requestsOf(t, 'monitor');
  expect(reqs).toHaveLength(READS);
  // The monitor started reading only once the writer held the lock.
  expect(reqs[0]!.begin).toBeGreaterThan(acquired.seq);
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  return { t, mmapLock, monitor, acquired, released, signal: signals[0]!, reqs };
}

describe('fatal-signal: SIGKILL for a monitor waiting on mmap_lock (kernel-spec §12.14)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§12.14/§1.2 gup: the read sleeps killably on mmap_lock, SIGKILL makes the wait fail with -EINTR: 0 bytes (seed ${seed})`, () => {
      const { t, mmapLock, acquired, released, signal, reqs } = run(seed, 'gup');
      const first = reqs[0]!;
      // It slept in the rwsem's read slow path, killably, while the writer held the lock ...
      const block = t.of('sched_block', 'monitor', (e) => first.inside(e) && e.on === mmapLock);
      expect(block).toHaveLength(1);
      expect([block[0]!.wait, block[0]!.killable]).toEqual(['rwsem_down_read', true]);
      expect(block[0]!.seq).toBeGreaterThan(acquired.seq);
      // ... the killer's SIGKILL came while it slept, with the writer still holding the lock ...
      expect(signal.seq).toBeGreaterThan(block[0]!.seq);
      expect(signal.seq).toBeLessThan(released.seq);
      expect(first.inside(signal)).toBe(true);
      // ... and woke it: the killable wait left the queue with -EINTR (mmap_read_lock_killable fails).
      const fails = t.of('rwsem_fail', 'monitor', first.inside);
      expect(fails.length).toBeGreaterThanOrEqual(1);
      expect(fails[0]!.seq).toBeGreaterThan(signal.seq);
      for (const f of fails) expect([f.sem, f.mode, f.err]).toEqual([mmapLock, 'read', -EINTR]);
      expect(t.of('mmap_lock_acquire_returned', 'monitor', (e) => first.inside(e) && e.success)).toHaveLength(0);
      // __access_remote_vm returned 0 (R0a, §8.1): nothing read, the read returns 0 bytes.
      expect(first.result).toBe(0);
      expect(first.data).toHaveLength(0);
      expect(t.of('copy', 'monitor')).toHaveLength(0);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
      // Later reads (signal pending): 0 bytes, by a failed killable wait or GUP's -EINTR (§6.4 step 3).
      for (const r of reqs.slice(1)) {
        expect(r.begin).toBeGreaterThan(signal.seq);
        expect(r.result).toBe(0);
        const eintr = t.of('rwsem_fail', 'monitor', (e) => r.inside(e) && e.err === -EINTR).length
          + t.of('gup_error', 'monitor', (e) => r.inside(e) && e.errno === EINTR).length;
        expect(eintr).toBeGreaterThan(0);
        // A failed killable wait on a held lock never sleeps: the signal is already pending.
        expect(t.of('sched_block', 'monitor', (e) => r.inside(e) && e.on === mmapLock)).toHaveLength(0);
      }
    });

    for (const variant of [[], FIXES]) {
      const label = variant.length ? `fast+${variant.join(',')}` : 'fast (v1)';
      it(`§12.14/§8.3 ${label}: the reads never wait on mmap_lock; full argv during the write hold and with SIGKILL pending (seed ${seed})`, () => {
        const { t, mmapLock, released, signal, reqs } = run(seed, 'fast', variant);
        const want = cmdlineBytes(TARGET_ARGV);
        for (const r of reqs) {
          expect(r.result).toBe(want.length);
          expect(r.data).toEqual(want);
          // Entirely by the fast path: no fallback, no mmap_lock, no sleep, no killable wait.
          expect(t.of('fast_path_fallback', 'monitor', r.inside)).toHaveLength(0);
          expect(t.of('mmap_lock_start_locking', 'monitor', r.inside)).toHaveLength(0);
          expect(t.of('sched_block', 'monitor', r.inside)).toHaveLength(0);
        }
        expect(t.of('rwsem_fail', 'monitor')).toHaveLength(0);
        expect(t.of('rwsem_contended', 'monitor', (e) => e.sem === mmapLock)).toHaveLength(0);
        // The first read ran entirely inside the writer's hold: the writer did not stall it.
        expect(reqs[0]!.end).toBeLessThan(released.seq);
        // The killer found the monitor never waiting: its signal came after the first read, and the
        // later reads ran with it pending.
        expect(signal.seq).toBeGreaterThan(reqs[0]!.end);
        for (const r of reqs.slice(1)) expect(r.begin).toBeGreaterThan(signal.seq);
      });
    }
  }
});
