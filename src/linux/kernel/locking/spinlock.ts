/**
 * spinlock_t. Waiting CPUs queue in FIFO order and the lock is handed to the head on unlock, like
 * the MCS queue of qspinlock. A spinning CPU is modelled as a blocked task: it makes no progress and
 * its wait is counted.
 */
import { current, name, type Name, one_event, sim } from '../../../sim/sim.js';
import { emit } from '../../../trace/vocab/index.js';
import type { Gen, Task } from '../../../sim/task.js';
import { kernel, type Kernel, perKernel } from '../../kernel.js';

const W_SPIN = name('spin_lock');

export class SpinLock {
  readonly id: number;
  owner: Task | null = null;
  readonly waiters: Task[] = [];
  /** Its kernel's held_spinlocks(), found once rather than at every lock and unlock. */
  readonly heldList: SpinLock[];
  /** Where it is in heldList while held (-1: idle). */
  heldAt = -1;

  constructor(readonly cls: Name) {
    const k = kernel();
    this.id = k.newId();
    this.heldList = held_spinlocks(k);
  }

  is_locked(): boolean {
    return this.owner !== null;
  }
}

/**
 * The spinlocks held now (waited-for ones are held too), in no order, which replay reads owners and
 * waiters of. An idle lock has neither, so it is left out: most spinlocks are page-table locks, and
 * listing every one made the list grow with every table a run ever allocated. An array with each
 * lock's place in it rather than a Set: a lock is taken and released a few times every hundred
 * events, and a Set that an entry joins and leaves that often rehashes itself (a Set add and delete
 * measured 65-110 ns, this a few).
 */
export const held_spinlocks: (k?: Kernel) => SpinLock[] = perKernel('spinlocks', () => [] as SpinLock[]);

/** The lock was free and `owner` takes it. */
function take(lock: SpinLock, owner: Task): void {
  lock.owner = owner;
  lock.heldAt = lock.heldList.length;
  lock.heldList.push(lock);
}

/**
 * The lock is idle now: off the held list, the last one moved into its place. A lock not on it (a
 * second spin_unlock, a path module's bug) leaves the list as it is, as deleting from a Set did.
 */
function idle(lock: SpinLock): void {
  if (lock.heldAt < 0) return;
  const list = lock.heldList;
  const last = list.pop()!;
  if (last !== lock) {
    list[lock.heldAt] = last;
    last.heldAt = lock.heldAt;
  }
  lock.heldAt = -1;
}

export function spin_lock(lock: SpinLock): Gen {
  const me = current();
  if (lock.owner !== null) return spin_lock_contended(lock, me);
  take(lock, me);
  emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: false, trylock: false });
  return one_event(undefined);
}

/** The lock is held: queue, spin (blocked) until it is handed over, then own it. */
function* spin_lock_contended(lock: SpinLock, me: Task): Gen {
  if (lock.owner === me) throw new Error(`recursive spin_lock on ${lock.cls.text} ${lock.id} (AA deadlock)`);
  lock.waiters.push(me);
  yield emit.spin_contended({ lock: lock.id, class: lock.cls.id, owner: lock.owner!.tid, queued: true });
  while (lock.owner !== me) yield* sim().block(lock.id, W_SPIN);
  yield emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: true, trylock: false });
}

/** spin_trylock(): true when taken. */
export function* spin_trylock(lock: SpinLock): Gen<boolean> {
  if (lock.owner !== null) {
    yield emit.spin_contended({ lock: lock.id, class: lock.cls.id, owner: lock.owner.tid, queued: false });
    return false;
  }
  take(lock, current());
  yield emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: false, trylock: true });
  return true;
}

export function spin_unlock(lock: SpinLock): Gen {
  const next = lock.waiters.shift();
  lock.owner = next ?? null;
  if (next === undefined) idle(lock);
  emit.spin_unlock({ lock: lock.id, class: lock.cls.id });
  // handed to the head waiter, which is woken
  return next !== undefined ? sim().stagedThenWake(next) : one_event(undefined);
}

export function spin_is_locked_by_me(lock: SpinLock): boolean {
  return lock.owner === current();
}
