/**
 * rwsem writer wake-up (kernel/locking/rwsem.c): rwsem_mark_wake() only wakes the writer at the head
 * of the queue; the writer takes the lock itself when it runs (rwsem_try_write_lock()). A reader
 * arriving in between finds the lock free and no HANDOFF, and steals it (rwsem_down_read_slowpath);
 * the writer sleeps again. Once it has waited RWSEM_WAIT_TIMEOUT it sets HANDOFF, and later readers
 * queue behind it instead of stealing.
 */
import { describe, expect, it } from 'vitest';
import { name, sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { by, type ObservedEvent } from '../src/sim/directed.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_lock_killable, mmap_write_unlock } from '../src/linux/mm/mmap_lock.js';
import type { MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace } from './helpers/harness.js';
import { spawnOutsider, waitUntil } from './helpers/tasks.js';

const W_HOLD = name('test: hold the lock');
/** RWSEM_WAIT_TIMEOUT, shortened so the writer's second try is past it. */
const TIMEOUT = 500;

/**
 * The holder: reads until a writer queues and 1000 ticks more, then at once reads again for 2000
 * (stealing the lock its unlock woke the writer for).
 */
function* holdTwice(mm: MmStruct): Gen {
  yield* mmap_read_lock(mm);
  yield* waitUntil(() => mm.mmap_lock.waiters.some((w) => w.write));
  yield* sim().sleep(1000, W_HOLD);
  yield* mmap_read_unlock(mm);
  yield* mmap_read_lock(mm);
  yield* sim().sleep(2000, W_HOLD);
  yield* mmap_read_unlock(mm);
}

/** The woken writer is held off the CPU until the holder has stolen the lock. */
const STOLEN = {
  task: 'writer',
  after: by('holder', 'rwsem_wake', (e) => e.mode === 'write'),
  until: by('holder', 'rwsem_acquire', (e) => e.how === 'steal'),
};

/**
 * 'holder' reads for 1000 ticks; 'writer' queues behind it. The writer is woken by the holder's
 * unlock but held off the CPU until the holder, reading again at once, has stolen the lock; it then
 * fails its try, past the timeout: HANDOFF. 'late' reads only after that. `wakeBeforeSleep`: the
 * writer is also held right after it sets HANDOFF, before it sleeps, until the holder's unlock has
 * woken it -- a wake that finds it still running.
 */
function stealThenHandoff(wakeBeforeSleep: boolean): Workload {
  let handoffSet = false;
  const handoff = by('writer', 'rwsem_handoff');
  const afterHandoff = (e: ObservedEvent) => {
    if (handoff(e)) handoffSet = true;
    return handoffSet;
  };
  const wokenWhileRunning = {
    task: 'writer',
    after: afterHandoff,
    until: (e: ObservedEvent) => handoffSet && by('holder', 'rwsem_wake', (w) => w.mode === 'write')(e),
  };
  return {
    name: 'rwsem-steal', description: 'test', params: {},
    schedule: () => (wakeBeforeSleep ? [STOLEN, wokenWhileRunning] : [STOLEN]),
    *boot(): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const mm: MmStruct = proc.mm;
      spawnOutsider('holder', () => holdTwice(mm));
      spawnOutsider('writer', function* () {
        yield* waitUntil(() => mm.mmap_lock.readers > 0);
        yield* mmap_write_lock(mm);
        yield* mmap_write_unlock(mm);
      });
      spawnOutsider('late', function* () {
        yield* waitUntil(() => mm.mmap_lock.handoff);
        yield* mmap_read_lock(mm);
        yield* mmap_read_unlock(mm);
      });
    },
  };
}

describe('rwsem: a woken writer takes the lock itself; readers steal it until HANDOFF (kernel/locking/rwsem.c)', () => {
  for (const seed of [1, 2, 3]) {
    it(`rwsem_mark_wake wakes the writer, a reader steals, rwsem_try_write_lock sets HANDOFF, the late reader queues (seed ${seed})`, () => {
      const t = runTrace(stealThenHandoff(false), { seed, config: { rwsemWaitTimeoutTicks: TIMEOUT } });
      expect(t.result.outcome).toBe('done');
      const sem = t.of('rwsem_contended', 'writer')[0]!.sem;
      const ofSem = <E extends { sem: number }>(es: E[]) => es.filter((e) => e.sem === sem);

      // The holder's unlock woke the writer without giving it the lock.
      const wake = ofSem(t.of('rwsem_wake', 'holder')).find((e) => e.mode === 'write')!;
      expect(wake.woken).toEqual([t.tid('writer')]);
      // The holder read again at once and stole the free lock from the woken writer.
      const holderGets = ofSem(t.of('rwsem_acquire', 'holder'));
      expect(holderGets.map((e) => e.how)).toEqual(['fast', 'steal']);
      expect(holderGets[1]!.seq).toBeGreaterThan(wake.seq);
      // The writer's try failed past the timeout: HANDOFF, set by the writer.
      const handoff = ofSem(t.of('rwsem_handoff'))[0]!;
      expect(handoff.tid).toBe(t.tid('writer'));
      expect(handoff.seq).toBeGreaterThan(holderGets[1]!.seq);
      // The late reader could not steal under HANDOFF: it queued, and got the lock after the writer.
      const late = ofSem(t.of('rwsem_acquire', 'late'))[0]!;
      expect(ofSem(t.of('rwsem_contended', 'late'))).toHaveLength(1);
      expect(late.how).toBe('woken');
      const writerGot = ofSem(t.of('rwsem_acquire', 'writer'))[0]!;
      expect(writerGot.how).toBe('woken');
      expect(writerGot.seq).toBeGreaterThan(ofSem(t.of('rwsem_release', 'holder'))[1]!.seq);
      expect(late.seq).toBeGreaterThan(ofSem(t.of('rwsem_release', 'writer'))[0]!.seq);
    });
  }

  it('a wake that comes while the writer is still deciding to sleep is not lost (set_current_state before the last try)', () => {
    const t = runTrace(stealThenHandoff(true), { seed: 1, config: { rwsemWaitTimeoutTicks: TIMEOUT } });
    expect(t.result.outcome).toBe('done');
    const sem = t.of('rwsem_contended', 'writer')[0]!.sem;
    const handoff = t.of('rwsem_handoff', 'writer', (e) => e.sem === sem)[0]!;
    // The second wake found the writer running (between its HANDOFF and its sleep) ...
    const wake = t.of('rwsem_wake', 'holder', (e) => e.sem === sem && e.mode === 'write').at(-1)!;
    expect(wake.seq).toBeGreaterThan(handoff.seq);
    expect(t.of('sched_block', 'writer', (e) => e.seq > handoff.seq && e.seq < wake.seq)).toHaveLength(0);
    // ... and the writer went on to take the lock instead of sleeping through it.
    const got = t.of('rwsem_acquire', 'writer', (e) => e.sem === sem)[0]!;
    expect(got.how).toBe('woken');
    expect(got.seq).toBeGreaterThan(wake.seq);
  });

  it('a waiter that set HANDOFF and leaves on a fatal signal takes HANDOFF with it when the queue empties (rwsem_del_waiter)', () => {
    // The writer waits killably, sets HANDOFF past the timeout, and is killed with nobody queued
    // behind it. A reader coming after the holder's unlock must find the lock free to take:
    // with HANDOFF left set it could neither take it nor steal it, and would queue for ever.
    const w: Workload = {
      name: 'rwsem-handoff-leaver', description: 'test', params: {},
      schedule: () => [STOLEN],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm: MmStruct = proc.mm;
        spawnOutsider('holder', () => holdTwice(mm));
        const writer = spawnOutsider('writer', function* () {
          yield* waitUntil(() => mm.mmap_lock.readers > 0);
          if ((yield* mmap_write_lock_killable(mm)) === 0) yield* mmap_write_unlock(mm);
        });
        spawnOutsider('killer', function* () {
          yield* waitUntil(() => mm.mmap_lock.handoff && mm.mmap_lock.waiters.length === 1);
          yield* sim().sendFatalSignal(writer);
        });
        spawnOutsider('late', function* () {
          yield* waitUntil(() => writer.fatalSignal && !mm.mmap_lock.is_locked());
          yield* mmap_read_lock(mm);
          yield* mmap_read_unlock(mm);
        });
      },
    };
    const t = runTrace(w, { seed: 1, config: { rwsemWaitTimeoutTicks: TIMEOUT } });
    expect(t.result.outcome).toBe('done');
    const sem = t.of('rwsem_contended', 'writer')[0]!.sem;
    expect(t.of('rwsem_handoff', 'writer', (e) => e.sem === sem)).toHaveLength(1);
    const left = t.of('rwsem_fail', 'writer', (e) => e.sem === sem)[0]!;
    expect(left.err).toBe(-4);
    // The late reader took the free lock by the fast path, without queueing.
    const late = t.of('rwsem_acquire', 'late', (e) => e.sem === sem)[0]!;
    expect(late.how).toBe('fast');
    expect(late.seq).toBeGreaterThan(left.seq);
    expect(t.of('rwsem_contended', 'late')).toHaveLength(0);
  });
});
