/**
 * Which locks each task holds, and whether it is in an RCU read-side section or has IRQs off: the
 * lock-holder table that lockdep-style checkers and the browser's lock lanes read.
 *
 * Locks are rwsems (mmap_lock, i_mmap_rwsem ...), spinlocks (page-table locks, lru_lock ...) and
 * per-VMA locks: a read lock from a successful vma_start_read (or vma_start_read_locked) until
 * vma_end_read, and a write lock from vma_start_write until the writer's mmap_write_unlock or
 * mmap_write_downgrade (the kernel drops every VMA write lock of an mm at once: vma_end_write_all).
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { CallStacks, Frame } from './call-stacks.js';
import type { Reducer } from './reducer.js';

/** The class a VMA lock is reported under. */
export const VMA_LOCK_CLASS = 'vma_lock';

export type HoldMode = 'read' | 'write' | 'spin';

/** What kind of object a lock is (ids of different kinds of object may coincide). */
export type LockObject = 'rwsem' | 'spin' | 'vma';
const OBJECT_TAG: Readonly<Record<LockObject, number>> = { rwsem: 0, spin: 1, vma: 2 };

/** A lock's key: its object kind and id in one number (cheap to build and compare per event). */
function lockKey(object: LockObject, id: number): number {
  return id * 4 + OBJECT_TAG[object];
}

export interface Hold {
  object: LockObject;
  id: number;
  key: number;
  /** The lock class: mmap_lock, ptl, vma_lock ... */
  class: string;
  mode: HoldMode;
  /** Taken by a trylock, which never waits (lockdep takes no ordering from it). */
  trylock: boolean;
  tid: number;
  /** Seq of the acquisition, and the holder's call stack then (stackOf() spells it out). */
  seq: number;
  frame: Frame | null;
}

const NONE: readonly Hold[] = [];

/** Listener of acquisitions: the new hold, and what the task held just before. */
export type AcquireListener = (hold: Hold, heldBefore: readonly Hold[]) => void;

export class LockHolders implements Reducer {
  readonly kinds = [
    'rwsem_acquire', 'rwsem_release', 'spin_lock', 'spin_unlock', 'vma_start_read', 'vma_start_read_locked', 'vma_end_read',
    'vma_start_write', 'rcu_read_lock', 'rcu_read_unlock', 'local_irq_disable', 'local_irq_enable', 'task_exit',
  ] as const;
  /** Per tid (small integers: an array): its holds, RCU nesting and IRQ-off depth. */
  private readonly tasks: ({ holds: Hold[]; rcu: number; irqsOff: number } | undefined)[] = [];
  private readonly listeners: AcquireListener[] = [];

  /** `stacks`, fed before this reducer, gives each hold its acquisition stack. */
  constructor(private readonly stacks?: CallStacks) {}

  onAcquire(fn: AcquireListener): void {
    this.listeners.push(fn);
  }

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'rwsem_acquire':
        // A downgrade turns the task's write hold into a read hold, no new acquisition; for the
        // mmap_lock it ends the VMA write locks too (mmap_write_downgrade: vma_end_write_all).
        if (e.how === 'downgrade') {
          this.downgrade(e.tid, 'rwsem', e.sem);
          if (e.class === 'mmap_lock') this.releaseVmaWriteLocks(e.tid);
        } else this.acquire(e.tid, e.seq, 'rwsem', e.sem, e.class, e.mode, e.how === 'trylock');
        break;
      case 'rwsem_release':
        this.release(e.tid, 'rwsem', e.sem);
        if (e.class === 'mmap_lock' && e.mode === 'write') this.releaseVmaWriteLocks(e.tid);
        break;
      case 'spin_lock':
        this.acquire(e.tid, e.seq, 'spin', e.lock, e.class, 'spin', e.trylock);
        break;
      case 'spin_unlock':
        this.release(e.tid, 'spin', e.lock);
        break;
      case 'vma_start_read':
        if (e.result === 'ok') this.acquire(e.tid, e.seq, 'vma', e.vma, VMA_LOCK_CLASS, 'read');
        break;
      case 'vma_start_read_locked':
        this.acquire(e.tid, e.seq, 'vma', e.vma, VMA_LOCK_CLASS, 'read');
        break;
      case 'vma_end_read':
        this.release(e.tid, 'vma', e.vma);
        break;
      case 'vma_start_write':
        // Taking it again while holding it is a no-op in the kernel (vma_start_write returns early).
        if (!this.heldBy(e.tid).some((h) => h.key === lockKey('vma', e.vma))) this.acquire(e.tid, e.seq, 'vma', e.vma, VMA_LOCK_CLASS, 'write');
        break;
      case 'rcu_read_lock':
      case 'rcu_read_unlock':
        this.task(e.tid).rcu = e.nesting;
        break;
      case 'local_irq_disable':
      case 'local_irq_enable': {
        const t = this.task(e.tid);
        t.irqsOff = e.depth;
        t.rcu = e.rcu;
        break;
      }
      case 'task_exit':
        this.tasks[e.tid] = undefined;
        break;
    }
  }

  /** What the task holds now, oldest first (live: copy what you keep). */
  heldBy(tid: number): readonly Hold[] {
    return this.tasks[tid]?.holds ?? NONE;
  }

  /** Is the task in an RCU read-side section (rcu_read_lock, or IRQs off)? */
  inRcu(tid: number): boolean {
    const t = this.tasks[tid];
    return t !== undefined && (t.rcu > 0 || t.irqsOff > 0);
  }

  private task(tid: number): { holds: Hold[]; rcu: number; irqsOff: number } {
    let t = this.tasks[tid];
    if (t === undefined) this.tasks[tid] = t = { holds: [], rcu: 0, irqsOff: 0 };
    return t;
  }

  private acquire(tid: number, seq: number, object: LockObject, id: number, cls: string, mode: HoldMode, trylock = false): void {
    const held = this.task(tid).holds;
    const hold: Hold = { object, id, key: lockKey(object, id), class: cls, mode, trylock, tid, seq, frame: this.stacks?.frame(tid) ?? null };
    for (const fn of this.listeners) fn(hold, held);
    held.push(hold);
  }

  private release(tid: number, object: LockObject, id: number): void {
    const key = lockKey(object, id);
    // Normally the releasing task holds it; an rwsem a reader's owner did not release (or a lock
    // handed over) is looked for among every task's holds.
    if (this.drop(tid, key)) return;
    for (let other = 0; other < this.tasks.length; other++) if (other !== tid && this.drop(other, key)) return;
  }

  private drop(tid: number, key: number): boolean {
    const held = this.tasks[tid]?.holds;
    if (held === undefined) return false;
    for (let at = held.length - 1; at >= 0; at--) {
      if (held[at]!.key !== key) continue;
      // Locks are mostly released in the reverse order of taking them: the last one goes.
      if (at === held.length - 1) held.pop();
      else held.splice(at, 1);
      return true;
    }
    return false;
  }

  private downgrade(tid: number, object: LockObject, id: number): void {
    const key = lockKey(object, id);
    const hold = this.heldBy(tid).find((h) => h.key === key);
    if (hold) hold.mode = 'read';
  }

  private releaseVmaWriteLocks(tid: number): void {
    const t = this.tasks[tid];
    if (t) t.holds = t.holds.filter((h) => !(h.class === VMA_LOCK_CLASS && h.mode === 'write'));
  }
}
