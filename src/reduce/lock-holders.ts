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
import type { CallStacks } from './call-stacks.js';
import type { Reducer } from './reducer.js';

/** The class a VMA lock is reported under. */
export const VMA_LOCK_CLASS = 'vma_lock';

export type HoldMode = 'read' | 'write' | 'spin';

export interface Hold {
  /** What is held: `rwsem:ID`, `spin:ID` or `vma:ID` (ids of different kinds of object may coincide). */
  key: string;
  /** The lock class: mmap_lock, ptl, vma_lock ... */
  class: string;
  mode: HoldMode;
  /** Taken by a trylock, which never waits (lockdep takes no ordering from it). */
  trylock: boolean;
  tid: number;
  /** Seq of the acquisition, and the holder's call stack then. */
  seq: number;
  stack: string[];
}

/** Listener of acquisitions: the new hold, and what the task held just before. */
export type AcquireListener = (hold: Hold, heldBefore: readonly Hold[]) => void;

export class LockHolders implements Reducer {
  readonly kinds = [
    'rwsem_acquire', 'rwsem_release', 'spin_lock', 'spin_unlock', 'vma_start_read', 'vma_start_read_locked', 'vma_end_read',
    'vma_start_write', 'rcu_read_lock', 'rcu_read_unlock', 'local_irq_disable', 'local_irq_enable', 'task_exit',
  ] as const;
  private readonly holds = new Map<number, Hold[]>();
  private readonly rcu = new Map<number, number>();
  private readonly irqsOff = new Map<number, number>();
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
          this.downgrade(e.tid, `rwsem:${e.sem}`);
          if (e.class === 'mmap_lock') this.releaseVmaWriteLocks(e.tid);
        } else this.acquire(e.tid, e.seq, `rwsem:${e.sem}`, e.class, e.mode, e.how === 'trylock');
        break;
      case 'rwsem_release':
        this.release(e.tid, `rwsem:${e.sem}`);
        if (e.class === 'mmap_lock' && e.mode === 'write') this.releaseVmaWriteLocks(e.tid);
        break;
      case 'spin_lock':
        this.acquire(e.tid, e.seq, `spin:${e.lock}`, e.class, 'spin', e.trylock);
        break;
      case 'spin_unlock':
        this.release(e.tid, `spin:${e.lock}`);
        break;
      case 'vma_start_read':
        if (e.result === 'ok') this.acquire(e.tid, e.seq, `vma:${e.vma}`, VMA_LOCK_CLASS, 'read');
        break;
      case 'vma_start_read_locked':
        this.acquire(e.tid, e.seq, `vma:${e.vma}`, VMA_LOCK_CLASS, 'read');
        break;
      case 'vma_end_read':
        this.release(e.tid, `vma:${e.vma}`);
        break;
      case 'vma_start_write':
        // Taking it again while holding it is a no-op in the kernel (vma_start_write returns early).
        if (!this.heldBy(e.tid).some((h) => h.key === `vma:${e.vma}`)) this.acquire(e.tid, e.seq, `vma:${e.vma}`, VMA_LOCK_CLASS, 'write');
        break;
      case 'rcu_read_lock':
      case 'rcu_read_unlock':
        this.rcu.set(e.tid, e.nesting);
        break;
      case 'local_irq_disable':
      case 'local_irq_enable':
        this.irqsOff.set(e.tid, e.depth);
        this.rcu.set(e.tid, e.rcu);
        break;
      case 'task_exit':
        this.holds.delete(e.tid);
        break;
    }
  }

  /** What the task holds now, oldest first (live: copy what you keep). */
  heldBy(tid: number): readonly Hold[] {
    return this.holds.get(tid) ?? [];
  }

  /** Does the task hold a lock of this class now? */
  holdsClass(tid: number, cls: string): boolean {
    return this.heldBy(tid).some((h) => h.class === cls);
  }

  /** Is the task in an RCU read-side section (rcu_read_lock, or IRQs off)? */
  inRcu(tid: number): boolean {
    return (this.rcu.get(tid) ?? 0) > 0 || (this.irqsOff.get(tid) ?? 0) > 0;
  }

  private acquire(tid: number, seq: number, key: string, cls: string, mode: HoldMode, trylock = false): void {
    const held = this.holds.get(tid) ?? [];
    const hold: Hold = { key, class: cls, mode, trylock, tid, seq, stack: this.stacks?.of(tid) ?? [] };
    for (const fn of this.listeners) fn(hold, held);
    held.push(hold);
    this.holds.set(tid, held);
  }

  private release(tid: number, key: string): void {
    // Normally the releasing task holds it; an rwsem a reader's owner did not release (or a lock
    // handed over) is looked for among every task's holds.
    if (this.drop(tid, key)) return;
    for (const other of this.holds.keys()) if (this.drop(other, key)) return;
  }

  private drop(tid: number, key: string): boolean {
    const held = this.holds.get(tid);
    const at = held ? held.findLastIndex((h) => h.key === key) : -1;
    if (at < 0) return false;
    held!.splice(at, 1);
    return true;
  }

  private downgrade(tid: number, key: string): void {
    const hold = this.heldBy(tid).find((h) => h.key === key);
    if (hold) hold.mode = 'read';
  }

  private releaseVmaWriteLocks(tid: number): void {
    const held = this.holds.get(tid);
    if (held) this.holds.set(tid, held.filter((h) => !(h.class === VMA_LOCK_CLASS && h.mode === 'write')));
  }
}
