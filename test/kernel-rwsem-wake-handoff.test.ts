/**
 * rwsem_mark_wake() and HANDOFF (kernel/locking/rwsem.c), on mmap_lock:
 *  - a writer at the head of the queue is woken at a release whoever holds the lock by then (a
 *    reader that stole it in the window between the release and the wake-up): it tries, fails, and
 *    sleeps again;
 *  - HANDOFF is set by the waiter it is for: the head writer in rwsem_try_write_lock(), or a head
 *    reader in rwsem_mark_wake() -- never by a reader that merely queues behind a timed-out writer;
 *  - HANDOFF turns other writers away only while the waiter it was set for is first: once that one
 *    has left (killed), a writer arriving at a free lock takes it ahead of the new first waiter.
 */
import { describe, expect, it } from 'vitest';
import { by } from '../src/sim/directed.js';
import { name, sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_lock_killable, mmap_write_unlock } from '../src/linux/mm/mmap_lock.js';
import type { MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace } from './helpers/harness.js';
import { spawnOutsider, waitUntil } from './helpers/tasks.js';

const HOLD = name('test: hold');

describe('rwsem: who is woken, and who sets HANDOFF', () => {
  it('the head writer is woken at a release even though a reader stole the lock in between; it sleeps again', () => {
    const workload: Workload = {
      name: 'writer-wake', description: 'test', params: {},
      // The stealer runs right after the first writer's release, before its wake-up.
      schedule: () => [
        { task: 'w1', after: by('w1', 'rwsem_release', (e) => e.mode === 'write'), until: by('stealer', 'rwsem_acquire') },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm: MmStruct = proc.mm;
        spawnOutsider('w1', function* () {
          yield* mmap_write_lock(mm);
          yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.write));
          yield* sim().sleep(50, HOLD);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('w2', function* () {
          yield* waitUntil(() => mm.mmap_lock.writer !== null);
          yield* mmap_write_lock(mm);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('stealer', function* () {
          yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.write));
          yield* waitUntil(() => mm.mmap_lock.writer === null);
          yield* mmap_read_lock(mm);
          yield* sim().sleep(50, HOLD);
          yield* mmap_read_unlock(mm);
        });
      },
    };
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    expect(t.of('rwsem_acquire', 'stealer').map((e) => e.how)).toEqual(['steal']);
    const stolen = t.of('rwsem_acquire', 'stealer')[0]!;
    const w2 = t.tid('w2');
    // w1's wake-up after the steal still names w2, which then finds the lock held and sleeps again.
    const wakes = t.of('rwsem_wake', 'w1').filter((e) => e.seq > stolen.seq);
    expect(wakes.map((e) => [e.mode, e.woken])).toEqual([['write', [w2]]]);
    const slept = t.of('sched_block', 'w2', (e) => e.wait === 'rwsem_down_write');
    expect(slept.length).toBe(2);
    expect(slept[1]!.seq).toBeGreaterThan(wakes[0]!.seq);
    expect(t.of('rwsem_acquire', 'w2')[0]!.seq).toBeGreaterThan(t.of('rwsem_release', 'stealer')[0]!.seq);
  });

  it('a reader queueing behind a head writer that has timed out does not set HANDOFF for it; the writer does, when it next tries', () => {
    const workload: Workload = {
      name: 'reader-no-handoff', description: 'test', params: {},
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm: MmStruct = proc.mm;
        spawnOutsider('holder', function* () {
          yield* mmap_read_lock(mm);
          yield* waitUntil(() => mm.mmap_lock.waiters.length === 2);
          yield* sim().sleep(100, HOLD);
          yield* mmap_read_unlock(mm);
        });
        spawnOutsider('writer', function* () {
          yield* waitUntil(() => mm.mmap_lock.readers > 0);
          yield* mmap_write_lock(mm);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('reader', function* () {
          yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.write));
          // Long enough for the writer at the head to time out.
          yield* sim().sleep(2000, HOLD);
          yield* mmap_read_lock(mm);
          yield* mmap_read_unlock(mm);
        });
      },
    };
    const t = runTrace(workload, { seed: 1, config: { rwsemWaitTimeoutTicks: 500 } });
    expect(t.result.outcome).toBe('done');
    expect(t.of('rwsem_contended', 'reader')).toHaveLength(1);
    expect(t.of('rwsem_handoff', 'reader')).toHaveLength(0);
    expect(t.of('rwsem_handoff', 'holder')).toHaveLength(0);
    // The writer sets it itself when woken by the holder's release finds the lock free or not.
    expect(t.of('rwsem_acquire', 'writer')[0]!.seq).toBeLessThan(t.of('rwsem_acquire', 'reader')[0]!.seq);
  });
  it('HANDOFF has an owner: after the writer it was set for is killed, a writer arriving at the freed lock takes it ahead of the new first waiter', () => {
    let killed = false;
    const workload: Workload = {
      name: 'handoff-owner', description: 'test', params: {},
      // w2, woken by the holder's release, runs only once w3 has had its try at the free lock.
      schedule: () => [{ task: 'w2', after: by('holder', 'rwsem_release'), until: by('w3', 'rwsem_acquire') }],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm: MmStruct = proc.mm;
        spawnOutsider('holder', function* () {
          yield* mmap_read_lock(mm);
          yield* waitUntil(() => killed && mm.mmap_lock.waiters.length === 1);
          yield* mmap_read_unlock(mm);
        });
        const w1 = spawnOutsider('w1', function* () {
          yield* waitUntil(() => mm.mmap_lock.readers > 0);
          // Woken by the signal after its timeout: it tries once more (setting HANDOFF), then leaves.
          if ((yield* mmap_write_lock_killable(mm)) === 0) throw new Error('w1 got the lock');
          killed = true;
        });
        spawnOutsider('w2', function* () {
          yield* waitUntil(() => mm.mmap_lock.waiters.length === 1);
          yield* mmap_write_lock(mm);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('killer', function* () {
          yield* waitUntil(() => mm.mmap_lock.waiters.length === 2);
          yield* sim().sleep(1000, HOLD);
          yield* sim().sendFatalSignal(w1);
        });
        spawnOutsider('w3', function* () {
          yield* waitUntil(() => killed);
          yield* waitUntil(() => mm.mmap_lock.readers === 0);
          yield* mmap_write_lock(mm);
          yield* mmap_write_unlock(mm);
        });
      },
    };
    const t = runTrace(workload, { seed: 1, config: { rwsemWaitTimeoutTicks: 500 } });
    expect(t.result.outcome).toBe('done');
    expect(t.of('rwsem_handoff', 'w1')).toHaveLength(1);
    expect(t.of('rwsem_fail', 'w1')).toHaveLength(1);
    // w3 queued behind w2 (the bit still set, WAITERS too), and took the free lock first.
    expect(t.of('rwsem_contended', 'w3')).toHaveLength(1);
    expect(t.of('rwsem_acquire', 'w3')[0]!.seq).toBeLessThan(t.of('rwsem_acquire', 'w2')[0]!.seq);
  });
});
