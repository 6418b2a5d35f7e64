/**
 * The spinlocks replay reads (kernel/locking/spinlock.ts held_spinlocks): a lock is listed from the
 * spin_lock that takes it to the spin_unlock that leaves it free; handed to a queued waiter it stays
 * listed, since the waiter now owns it. Idle locks (most of them page-table locks) are not listed, so
 * the list does not grow with every table a run allocates.
 */
import { describe, expect, it } from 'vitest';
import { name, sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { held_spinlocks, SpinLock, spin_lock, spin_trylock, spin_unlock } from '../src/linux/kernel/locking/spinlock.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider } from './helpers/tasks.js';

const C_TEST = name('test lock');
const W_HOLD = name('test: holding the lock');

describe('held_spinlocks() lists a spinlock exactly while someone holds it', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: taken, handed to the queued waiter, released; a failed trylock adds nothing`, () => {
      const listed: Record<string, boolean> = {};
      const trace = runBoot(function* (): Gen {
        const lock = new SpinLock(C_TEST);
        const other = new SpinLock(C_TEST);
        const held = new Completion();
        listed['created'] = held_spinlocks().includes(lock);
        spawnOutsider('first', function* () {
          yield* spin_lock(lock);
          listed['taken'] = held_spinlocks().includes(lock);
          yield* complete_all(held);
          // long enough for `second` to queue behind us
          yield* sim().sleep(10_000, W_HOLD);
          yield* spin_unlock(lock);
          listed['handed over'] = held_spinlocks().includes(lock);
        });
        spawnOutsider('second', function* () {
          yield* wait_for_completion(held);
          listed['trylock failed, other lock'] = (yield* spin_trylock(lock)) || held_spinlocks().includes(other);
          yield* spin_lock(lock);
          yield* spin_unlock(lock);
          listed['released'] = held_spinlocks().includes(lock);
        });
      }, { seed });
      expect(trace.result.outcome).toBe('done');
      expect(trace.of('spin_contended', 'second').map((e) => e.queued)).toEqual([false, true]);
      expect(listed).toEqual({
        'created': false, 'taken': true, 'trylock failed, other lock': false, 'handed over': true, 'released': false,
      });
    });
  }

  it('lists every lock held, whatever order they are released in', () => {
    const seen: string[] = [];
    const ids = (locks: readonly SpinLock[], all: SpinLock[]): string => locks.map((l) => 'ABCD'[all.indexOf(l)]).sort().join('');
    const trace = runBoot(function* (): Gen {
      spawnOutsider('holder', function* () {
        const all = [0, 1, 2, 3].map(() => new SpinLock(C_TEST));
        for (const l of all) yield* spin_lock(l);
        seen.push(ids(held_spinlocks(), all));
        // the first released is replaced in the list by the last; then the middle, then the ends
        for (const i of [0, 2, 3, 1]) {
          yield* spin_unlock(all[i]!);
          seen.push(ids(held_spinlocks(), all));
        }
        yield* spin_lock(all[2]!);
        seen.push(ids(held_spinlocks(), all));
        yield* spin_unlock(all[2]!);
        seen.push(ids(held_spinlocks(), all));
      });
    }, { seed: 1 });
    expect(trace.result.outcome).toBe('done');
    expect(seen).toEqual(['ABCD', 'BCD', 'BD', 'B', '', 'C', '']);
  });

  it('a second spin_unlock of an idle lock leaves the other held locks listed', () => {
    const seen: number[] = [];
    const trace = runBoot(function* (): Gen {
      spawnOutsider('t', function* () {
        const a = new SpinLock(C_TEST);
        const b = new SpinLock(C_TEST);
        yield* spin_lock(a);
        yield* spin_lock(b);
        yield* spin_unlock(a);
        yield* spin_unlock(a); // a bug of the caller's: the lock is idle already
        seen.push(held_spinlocks().filter((l) => l === b).length, held_spinlocks().length);
        yield* spin_unlock(b);
        seen.push(held_spinlocks().length);
      });
    }, { seed: 1 });
    expect(trace.result.outcome).toBe('done');
    expect(seen).toEqual([1, 1, 0]);
  });

  it('a second spin_unlock with no lock held leaves the list empty', () => {
    const seen: number[] = [];
    const trace = runBoot(function* (): Gen {
      spawnOutsider('t', function* () {
        const a = new SpinLock(C_TEST);
        yield* spin_lock(a);
        yield* spin_unlock(a);
        yield* spin_unlock(a);
        seen.push(held_spinlocks().length);
      });
    }, { seed: 1 });
    expect(trace.result.outcome).toBe('done');
    expect(seen).toEqual([0]);
  });
});
