/**
 * mmap_lock as a fair rw_semaphore (kernel-spec §1.2, wrappers §1.3).
 *
 * Ordering is forced with completions and polls on the lock's own queue, so the claims hold for any
 * schedule; each scenario is still run under several seeds of the random strategy.
 */
import { describe, expect, it } from 'vitest';
import { name, sim } from '../src/sim/sim.js';
import type { Gen, Task } from '../src/sim/task.js';
import { EINTR } from '../src/linux/include/errno.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import {
  mmap_read_lock, mmap_read_lock_killable, mmap_read_unlock, mmap_write_lock, mmap_write_unlock,
} from '../src/linux/mm/mmap_lock.js';
import type { MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnOutsider, waitUntil } from './helpers/tasks.js';

const W_HOLD = name('test: hold the lock');
const SEEDS = [1, 2, 3];

/** rwsem events of the mm's mmap_lock by one task. */
function rw<K extends 'rwsem_acquire' | 'rwsem_contended' | 'rwsem_release' | 'rwsem_fail'>(t: Trace, kind: K, task: string, sem: number) {
  return t.of(kind, task, (e) => e.sem === sem);
}

/** A task 'holder' that takes mmap_lock for read and keeps it 5000 ticks; `held` completes once it has it. */
function spawnReadHolder(mm: MmStruct): Completion {
  const held = new Completion();
  spawnOutsider('holder', function* () {
    yield* mmap_read_lock(mm);
    yield* complete_all(held);
    yield* sim().sleep(5000, W_HOLD);
    yield* mmap_read_unlock(mm);
  });
  return held;
}

/**
 * A reader holds mmap_lock for read (sleeping 5000 ticks), a writer queues, then a late reader
 * arrives once the writer is in the queue. `kill`: the late reader uses the killable variant and
 * a `killer` task SIGKILLs it while it is queued.
 */
function readerWriterReader(seed: number, opts: { kill: boolean }) {
  let mm!: MmStruct;
  let lateRet: number | undefined;
  let waitersAfterKill = -1;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    const held = spawnReadHolder(mm);
    spawnOutsider('writer', function* () {
      yield* wait_for_completion(held);
      yield* mmap_write_lock(mm);
      yield* mmap_write_unlock(mm);
    });
    const late: Task = spawnOutsider('late', function* () {
      yield* wait_for_completion(held);
      // Arrive only once the writer is queued behind the holder.
      yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.write));
      if (opts.kill) {
        lateRet = yield* mmap_read_lock_killable(mm);
        if (lateRet === 0) yield* mmap_read_unlock(mm);
      } else {
        yield* mmap_read_lock(mm);
        yield* mmap_read_unlock(mm);
      }
    });
    if (opts.kill) {
      spawnOutsider('killer', function* () {
        yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.task === late));
        yield* sim().sendFatalSignal(late);
        yield* waitUntil(() => !mm.mmap_lock.waiters.some((w) => w.task === late));
        waitersAfterKill = mm.mmap_lock.waiters.length;
      });
    }
  }, { seed });
  return { trace, sem: mm.mmap_lock.id, mmId: mm.id, lateRet, waitersAfterKill };
}

describe('mmap_lock rwsem fairness (kernel-spec §1.2)', () => {
  for (const seed of SEEDS) {
    it(`§1.2 a queued writer blocks a later reader: writer acquires before the late reader (seed ${seed})`, () => {
      const { trace: t, sem } = readerWriterReader(seed, { kill: false });
      expect(t.result.outcome).toBe('done');

      const holderAcq = rw(t, 'rwsem_acquire', 'holder', sem);
      const holderRel = rw(t, 'rwsem_release', 'holder', sem);
      const writerAcq = rw(t, 'rwsem_acquire', 'writer', sem);
      const writerRel = rw(t, 'rwsem_release', 'writer', sem);
      const lateAcq = rw(t, 'rwsem_acquire', 'late', sem);
      const lateContended = rw(t, 'rwsem_contended', 'late', sem);
      expect(holderAcq.map((e) => [e.mode, e.how])).toEqual([['read', 'fast']]);
      expect(writerAcq.map((e) => [e.mode, e.how])).toEqual([['write', 'woken']]);
      expect(lateAcq.map((e) => [e.mode, e.how])).toEqual([['read', 'woken']]);

      // The late reader did not take the fast path although only readers held the lock: it queued
      // (second in line, behind the writer) and slept in rwsem_down_read while the holder still held it.
      expect(lateContended).toHaveLength(1);
      expect(lateContended[0]!.mode).toBe('read');
      expect(lateContended[0]!.waiters).toBe(2); // waiters: the writer and itself
      expect(lateContended[0]!.seq).toBeLessThan(holderRel[0]!.seq);
      const lateBlock = t.of('sched_block', 'late', (e) => e.on === sem);
      expect(lateBlock.length).toBeGreaterThan(0);
      expect(lateBlock[0]!.wait).toBe('rwsem_down_read');

      // Order: holder releases -> writer gets it -> writer releases -> late reader gets it.
      expect(writerAcq[0]!.seq).toBeGreaterThan(holderRel[0]!.seq);
      expect(lateAcq[0]!.seq).toBeGreaterThan(writerAcq[0]!.seq);
      expect(lateAcq[0]!.seq).toBeGreaterThan(writerRel[0]!.seq);
      // And the late reader waited at least the rest of the holder's 5000-tick hold.
      expect(lateAcq[0]!.tick - lateContended[0]!.tick).toBeGreaterThan(0);
      expect(lateAcq[0]!.tick).toBeGreaterThan(holderAcq[0]!.tick + 5000);
    });
  }

  for (const seed of SEEDS) {
    it(`§1.2 with no writer queued, a second reader shares the lock at once (seed ${seed})`, () => {
      let mm!: MmStruct;
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        mm = proc.mm;
        const held = spawnReadHolder(mm);
        spawnOutsider('second', function* () {
          yield* wait_for_completion(held);
          yield* mmap_read_lock(mm);
          yield* mmap_read_unlock(mm);
        });
      }, { seed });
      expect(t.result.outcome).toBe('done');
      const sem = mm.mmap_lock.id;
      const holderRel = rw(t, 'rwsem_release', 'holder', sem);
      const secondAcq = rw(t, 'rwsem_acquire', 'second', sem);
      const secondRel = rw(t, 'rwsem_release', 'second', sem);
      expect(secondAcq.map((e) => [e.mode, e.how])).toEqual([['read', 'fast']]);
      expect(rw(t, 'rwsem_contended', 'second', sem)).toHaveLength(0);
      expect(t.of('sched_block', 'second', (e) => e.on === sem)).toHaveLength(0);
      // Both held it at once: the second reader took and dropped it inside the holder's hold.
      expect(secondAcq[0]!.seq).toBeLessThan(holderRel[0]!.seq);
      expect(secondRel[0]!.seq).toBeLessThan(holderRel[0]!.seq);
      // §1.3: the wrapper's tracepoints bracket it.
      const returned = t.of('mmap_lock_acquire_returned', 'second');
      expect(returned.map((e) => [e.mm, e.write, e.success])).toEqual([[mm.id, false, true]]);
    });
  }

  for (const seed of SEEDS) {
    it(`§1.2/§1.3 killable read lock: SIGKILL while queued returns -EINTR, success=0, leaves the queue (seed ${seed})`, () => {
      const { trace: t, sem, mmId, lateRet, waitersAfterKill } = readerWriterReader(seed, { kill: true });
      expect(t.result.outcome).toBe('done');
      expect(lateRet).toBe(-EINTR);

      const lateTid = t.tid('late');
      const signal = t.of('signal_send', 'killer');
      expect(signal.map((e) => [e.target, e.sig])).toEqual([[lateTid, 'SIGKILL']]);
      // rwsem_down_read_slowpath: the killed waiter leaves the queue with -EINTR.
      const fail = rw(t, 'rwsem_fail', 'late', sem);
      expect(fail).toHaveLength(1);
      expect(fail[0]!.mode).toBe('read');
      expect(fail[0]!.err).toBe(-EINTR);
      expect(fail[0]!.seq).toBeGreaterThan(signal[0]!.seq);
      expect(rw(t, 'rwsem_acquire', 'late', sem)).toHaveLength(0);
      // mmap_read_lock_killable: start_locking(read) then acquire_returned(read, success = 0).
      expect(t.of('mmap_lock_start_locking', 'late').map((e) => [e.mm, e.write])).toEqual([[mmId, false]]);
      expect(t.of('mmap_lock_acquire_returned', 'late').map((e) => [e.mm, e.write, e.success])).toEqual([[mmId, false, false]]);
      expect(t.of('mmap_lock_released', 'late')).toHaveLength(0);
      // It left the queue: only the writer remained, and the writer still got the lock after the holder.
      expect(waitersAfterKill).toBe(1);
      const holderRel = rw(t, 'rwsem_release', 'holder', sem);
      const writerAcq = rw(t, 'rwsem_acquire', 'writer', sem);
      expect(writerAcq.map((e) => [e.mode, e.how])).toEqual([['write', 'woken']]);
      expect(writerAcq[0]!.seq).toBeGreaterThan(holderRel[0]!.seq);
      expect(t.of('mmap_lock_released', 'writer').map((e) => e.write)).toEqual([true]);
    });
  }
});
