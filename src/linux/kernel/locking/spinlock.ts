/**
 * spinlock_t. Waiting CPUs queue in FIFO order and the lock is handed to the head on unlock, like
 * the MCS queue of qspinlock. A spinning CPU is modelled as a blocked task: it makes no progress and
 * its wait is counted.
 */
import { current, name, type Name, sim } from '../../../sim/sim.js';
import { emit } from '../../../trace/vocab/index.js';
import type { Gen, Task } from '../../../sim/task.js';
import { kernel, type Kernel } from '../../kernel.js';

const W_SPIN = name('spin_lock');

export class SpinLock {
  readonly id: number;
  owner: Task | null = null;
  readonly waiters: Task[] = [];

  constructor(readonly cls: Name) {
    this.id = kernel().newId();
    spinlocks().push(this);
  }

  is_locked(): boolean {
    return this.owner !== null;
  }
}

/** Every spinlock of the kernel, in creation order (replay reads owners and waiters). */
export function spinlocks(k: Kernel = kernel()): SpinLock[] {
  return k.subsystem('spinlocks', () => [] as SpinLock[]);
}

export function* spin_lock(lock: SpinLock): Gen {
  const me = current();
  if (lock.owner === null) {
    lock.owner = me;
    yield emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: false, trylock: false });
    return;
  }
  if (lock.owner === me) throw new Error(`recursive spin_lock on ${lock.cls.text} ${lock.id} (AA deadlock)`);
  lock.waiters.push(me);
  yield emit.spin_contended({ lock: lock.id, class: lock.cls.id, owner: lock.owner.tid, queued: true });
  while (lock.owner !== me) yield* sim().block(lock.id, W_SPIN);
  yield emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: true, trylock: false });
}

/** spin_trylock(): true when taken. */
export function* spin_trylock(lock: SpinLock): Gen<boolean> {
  if (lock.owner !== null) {
    yield emit.spin_contended({ lock: lock.id, class: lock.cls.id, owner: lock.owner.tid, queued: false });
    return false;
  }
  lock.owner = current();
  yield emit.spin_lock({ lock: lock.id, class: lock.cls.id, waited: false, trylock: true });
  return true;
}

export function* spin_unlock(lock: SpinLock): Gen {
  const next = lock.waiters.shift();
  lock.owner = next ?? null;
  yield emit.spin_unlock({ lock: lock.id, class: lock.cls.id });
  if (next !== undefined) yield* sim().wake(next);
}

export function spin_is_locked_by_me(lock: SpinLock): boolean {
  return lock.owner === current();
}
