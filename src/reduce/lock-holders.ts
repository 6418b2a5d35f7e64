/**
 * Which locks each task holds, and whether it is in an RCU read-side section or has IRQs off: the
 * lock-holder table. It is the one place that works out holding from events; the checkers ask it
 * what a task holds, and the replay model, the browser's lock lanes and the timeline export hear
 * each hold begin and end (HoldListener) instead of folding lock events themselves.
 *
 * Locks are rwsems (mmap_lock, i_mmap_rwsem ...), spinlocks (page-table locks, lru_lock ...) and
 * per-VMA locks: a read lock from a successful vma_start_read (or vma_start_read_locked) until
 * vma_end_read, and a write lock from vma_start_write until the writer's mmap_write_unlock or
 * mmap_write_downgrade (the kernel drops every VMA write lock of an mm at once: vma_end_write_all).
 *
 * A hold begins when the lock is the task's, which is not always the task's own event:
 * - rwsem_mark_wake() grants the lock to the readers it wakes (the rwsem_wake event names them):
 *   they hold it from there, before each runs again and says so (rwsem_acquire, how=woken);
 * - spin_unlock() hands a queued spinlock to the head of its queue (linux/kernel/locking/spinlock.ts):
 *   the head holds it from the unlock, before it runs again (spin_lock, waited).
 * So the table keeps each spinlock's queue of spinners, the one piece of waiting state holding
 * depends on. Everything else about waiting (rwsem queues, HANDOFF, who spins on what) is the
 * business of the views that show it (the replay model, the lanes), not of who holds what.
 *
 * A downgrade (mmap_write_downgrade) ends the write hold and begins a read hold at that event: to a
 * listener two holds, but not an acquisition (lockdep's onAcquire hears none).
 *
 * The table may start part way through a run: seed() gives it the holders a state document or a
 * replay model knows of, and a release of a hold it never saw begin is told to listeners as such
 * (releasedUnseen), never taken from another task's holds.
 */
import type { EventOf, TraceEvent } from '../trace/vocab/index.js';
import type { CallStacks, Frame } from './call-stacks.js';
import type { Reducer } from './reducer.js';

/** The class a VMA lock is reported under. */
export const VMA_LOCK_CLASS = 'vma_lock';

export type HoldMode = 'read' | 'write' | 'spin';

/** What kind of object a lock is (ids of different kinds of object may coincide). */
export type LockObject = 'rwsem' | 'spin' | 'vma';

/** A lock's key: its object kind and id in one number (cheap to build and compare per event). */
export function lockKey(object: LockObject, id: number): number {
  // comparisons of interned strings, where a table keyed by `object` would be a keyed lookup per event
  return id * 4 + (object === 'rwsem' ? 0 : object === 'spin' ? 1 : 2);
}

/**
 * Some lock classes, as the table can test a task's holds against at once (classSet). `mask` has a
 * bit for each of `names` when `exact`; the table gives bits to the first 31 classes it meets, so a
 * set asked for before the events come (a checker's, at its construction) is exact unless the
 * checkers between them ask for more than 31 classes. A set belongs to the table that made it.
 */
export interface LockClassSet {
  readonly names: ReadonlySet<string>;
  readonly mask: number;
  readonly exact: boolean;
}

/**
 * Classes past this many have no bit: a set naming one is tested hold by hold. 31 keeps every mask
 * a positive small integer (JavaScript's bit operators work on 32-bit signed values).
 */
const CLASS_BITS = 31;

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
  /** The class's bit (LockClassSet), or 0 for a class past the first 31. */
  bit: number;
  /**
   * Seq of the event the hold began at (the grant, for a woken reader or a handed-over spinlock;
   * UNSEEN for one whose beginning the table did not see), and the holder's call stack then.
   */
  seq: number;
  frame: Frame | null;
}

/**
 * The seq of a hold whose beginning the table did not see: one it was seeded with, or one granted
 * to a waiter it did not know was waiting (a table started part way through a run sees the woken
 * reader's rwsem_acquire, or the spinner's spin_lock, but not the grant before it).
 */
export const UNSEEN = -1;

const NONE: readonly Hold[] = [];

/** Listener of acquisitions: the new hold, and what the task held just before. */
export type AcquireListener = (hold: Hold, heldBefore: readonly Hold[]) => void;

/** Listener of the holding intervals: each hold as it begins and as it ends, at event `e`. */
export interface HoldListener {
  held?(hold: Hold, e: TraceEvent): void;
  released?(hold: Hold, e: TraceEvent): void;
  /** `tid` released a lock the table never saw it take (it began before the table's first event). */
  releasedUnseen?(tid: number, object: LockObject, id: number, cls: string, mode: HoldMode, e: TraceEvent): void;
}

/** What seed() starts from: the shape both a StateDoc's and a replay Model's records have. */
export interface HoldersSeed {
  rwsems: Iterable<{ sem: number; class: string; readers: readonly number[]; writer: number | null }>;
  spins: Iterable<{ lock: number; class: string; owner: number | null; waiters: readonly number[] }>;
  tasks: Iterable<{ tid: number; rcuNesting: number; irqsOff: number }>;
}

/**
 * The RCU nesting a task had just before an RCU or IRQ event, from the event alone (each says the
 * nesting after it): what a view that starts part way through a run shows before a task's first one.
 */
export function rcuNestingBefore(e: EventOf<'rcu_read_lock' | 'rcu_read_unlock' | 'local_irq_disable' | 'local_irq_enable'>): number {
  switch (e.kind) {
    case 'rcu_read_lock': return e.nesting - 1;
    case 'rcu_read_unlock': return e.nesting + 1;
    case 'local_irq_disable': return Math.max(0, e.rcu - 1);
    case 'local_irq_enable': return e.rcu + 1;
  }
}

interface TaskLocks {
  holds: Hold[];
  /** The bits of the classes of `holds`. */
  classes: number;
  rcu: number;
  irqsOff: number;
}

export class LockHolders implements Reducer {
  readonly kinds = [
    'rwsem_acquire', 'rwsem_release', 'rwsem_wake', 'spin_contended', 'spin_lock', 'spin_unlock', 'vma_start_read',
    'vma_start_read_locked', 'vma_end_read', 'vma_start_write', 'rcu_read_lock', 'rcu_read_unlock', 'local_irq_disable',
    'local_irq_enable', 'task_exit',
  ] as const;
  /** Per tid (small integers: an array): its holds, RCU nesting and IRQ-off depth. */
  private readonly tasks: (TaskLocks | undefined)[] = [];
  /** Per spinlock id, the tids queued on it (spin_contended, queued), head first. */
  private readonly spinQueues = new Map<number, number[]>();
  private readonly acquireListeners: AcquireListener[] = [];
  private readonly holdListeners: HoldListener[] = [];
  /** Each lock class met so far, by its number in meeting order (its bit when below CLASS_BITS). */
  private readonly classNumbers = new Map<string, number>();

  /** `stacks`, fed before this reducer, gives each hold its acquisition stack. */
  constructor(private readonly stacks?: CallStacks) {}

  onAcquire(fn: AcquireListener): void {
    this.acquireListeners.push(fn);
  }

  onHold(listener: HoldListener): void {
    this.holdListeners.push(listener);
  }

  /**
   * Start from the holders a state knows of (rwsem readers and writers, spinlock owners and queues,
   * RCU nesting and IRQ-off depth). Per-VMA locks are not in it: vm_refcnt counts readers, not who.
   */
  seed(state: HoldersSeed): void {
    for (const s of state.rwsems) {
      for (const r of s.readers) this.add(this.hold(r, UNSEEN, 'rwsem', s.sem, s.class, 'read', false));
      if (s.writer !== null) this.add(this.hold(s.writer, UNSEEN, 'rwsem', s.sem, s.class, 'write', false));
    }
    for (const s of state.spins) {
      if (s.owner !== null) this.add(this.hold(s.owner, UNSEEN, 'spin', s.lock, s.class, 'spin', false));
      if (s.waiters.length > 0) this.spinQueues.set(s.lock, [...s.waiters]);
    }
    for (const t of state.tasks) {
      if (t.rcuNesting === 0 && t.irqsOff === 0) continue;
      const locks = this.task(t.tid);
      locks.rcu = t.rcuNesting;
      locks.irqsOff = t.irqsOff;
    }
  }

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'rwsem_acquire':
        this.rwsemAcquire(e);
        break;
      case 'rwsem_release':
        this.release(e, 'rwsem', e.sem, e.class, e.mode);
        if (e.class === 'mmap_lock' && e.mode === 'write') this.releaseVmaWriteLocks(e);
        break;
      case 'rwsem_wake':
        // rwsem_mark_wake() grants the lock to the readers it wakes; a woken writer takes it itself.
        if (e.mode === 'read') for (const woken of e.woken ?? []) this.acquire(e, woken, 'rwsem', e.sem, e.class, 'read', false);
        break;
      case 'spin_contended':
        // A failed spin_trylock does not queue.
        if (e.queued) this.spinQueue(e.lock).push(e.tid);
        break;
      case 'spin_lock':
        // A spinner that waited was handed the lock by the unlock before (the grant).
        if (!e.waited) this.acquire(e, e.tid, 'spin', e.lock, e.class, 'spin', e.trylock);
        else if (!this.holds(e.tid, lockKey('spin', e.lock))) this.acquire(e, e.tid, 'spin', e.lock, e.class, 'spin', false, UNSEEN);
        this.leaveSpinQueue(e.lock, e.tid);
        break;
      case 'spin_unlock': {
        this.release(e, 'spin', e.lock, e.class, 'spin');
        const queue = this.spinQueues.size === 0 ? undefined : this.spinQueues.get(e.lock);
        const next = queue?.shift();
        if (queue?.length === 0) this.spinQueues.delete(e.lock);
        if (next !== undefined) this.acquire(e, next, 'spin', e.lock, e.class, 'spin', false);
        break;
      }
      case 'vma_start_read':
        if (e.result === 'ok') this.acquire(e, e.tid, 'vma', e.vma, VMA_LOCK_CLASS, 'read', false);
        break;
      case 'vma_start_read_locked':
        this.acquire(e, e.tid, 'vma', e.vma, VMA_LOCK_CLASS, 'read', false);
        break;
      case 'vma_end_read':
        this.release(e, 'vma', e.vma, VMA_LOCK_CLASS, 'read');
        break;
      case 'vma_start_write':
        // Taking it again while holding it is a no-op in the kernel (vma_start_write returns early).
        if (!this.holds(e.tid, lockKey('vma', e.vma))) this.acquire(e, e.tid, 'vma', e.vma, VMA_LOCK_CLASS, 'write', false);
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

  /** `names` as a set to test holds against (holdsAny): ask before the events, to have it exact. */
  classSet(names: Iterable<string>): LockClassSet {
    const set = new Set(names);
    let mask = 0;
    let exact = true;
    for (const name of set) {
      const bit = this.classBit(name);
      mask |= bit;
      if (bit === 0) exact = false;
    }
    return { names: set, mask, exact };
  }

  /** Does the task hold a lock of any class of `set`? */
  holdsAny(tid: number, set: LockClassSet): boolean {
    const t = this.tasks[tid];
    if (t === undefined) return false;
    if (set.exact) return (t.classes & set.mask) !== 0;
    const held = t.holds;
    for (let i = 0; i < held.length; i++) if (set.names.has(held[i]!.class)) return true;
    return false;
  }

  /** Is the task in an RCU read-side section (rcu_read_lock, or IRQs off)? */
  inRcu(tid: number): boolean {
    const t = this.tasks[tid];
    return t !== undefined && (t.rcu > 0 || t.irqsOff > 0);
  }

  /** The task's rcu_read_lock nesting (an IRQ-off region counts as one more). */
  rcuNesting(tid: number): number {
    return this.tasks[tid]?.rcu ?? 0;
  }

  /** The task's local_irq_disable depth. */
  irqsOff(tid: number): number {
    return this.tasks[tid]?.irqsOff ?? 0;
  }

  private rwsemAcquire(e: EventOf<'rwsem_acquire'>): void {
    const key = lockKey('rwsem', e.sem);
    if (e.how === 'downgrade') {
      // mmap_write_downgrade: the write hold becomes a read hold, and the VMA write locks go
      // (vma_end_write_all).
      this.release(e, 'rwsem', e.sem, e.class, 'write');
      this.begin(e, this.hold(e.tid, e.seq, 'rwsem', e.sem, e.class, 'read', false));
      if (e.class === 'mmap_lock') this.releaseVmaWriteLocks(e);
      return;
    }
    // A woken reader was granted the lock by the rwsem_wake before.
    const granted = e.how === 'woken' && e.mode === 'read';
    if (granted && this.holds(e.tid, key)) return;
    this.acquire(e, e.tid, 'rwsem', e.sem, e.class, e.mode, e.how === 'trylock', granted ? UNSEEN : e.seq);
  }

  private task(tid: number): TaskLocks {
    let t = this.tasks[tid];
    if (t === undefined) this.tasks[tid] = t = { holds: [], classes: 0, rcu: 0, irqsOff: 0 };
    return t;
  }

  private spinQueue(lock: number): number[] {
    let q = this.spinQueues.get(lock);
    if (q === undefined) this.spinQueues.set(lock, (q = []));
    return q;
  }

  private leaveSpinQueue(lock: number, tid: number): void {
    if (this.spinQueues.size === 0) return;
    const q = this.spinQueues.get(lock);
    if (q === undefined) return;
    const at = q.indexOf(tid);
    if (at >= 0) q.splice(at, 1);
    if (q.length === 0) this.spinQueues.delete(lock);
  }

  private holds(tid: number, key: number): boolean {
    const held = this.heldBy(tid);
    for (let i = 0; i < held.length; i++) if (held[i]!.key === key) return true;
    return false;
  }

  private hold(tid: number, seq: number, object: LockObject, id: number, cls: string, mode: HoldMode, trylock: boolean): Hold {
    return { object, id, key: lockKey(object, id), class: cls, bit: this.classBit(cls), mode, trylock, tid, seq, frame: this.stacks?.frame(tid) ?? null };
  }

  /** The class's bit: numbered the first time it is met. */
  private classBit(cls: string): number {
    let n = this.classNumbers.get(cls);
    if (n === undefined) this.classNumbers.set(cls, (n = this.classNumbers.size));
    return n < CLASS_BITS ? 1 << n : 0;
  }

  /** The hold is its task's. */
  private add(hold: Hold): void {
    const t = this.task(hold.tid);
    t.holds.push(hold);
    t.classes |= hold.bit;
  }

  /** The hold at `at` of the task's is not. */
  private remove(t: TaskLocks, at: number): void {
    const held = t.holds;
    if (at === held.length - 1) held.pop();
    else held.splice(at, 1);
    t.classes = classesOf(held);
  }

  /** `tid` takes the lock (or is granted it) at event `e`: an acquisition. */
  private acquire(e: TraceEvent, tid: number, object: LockObject, id: number, cls: string, mode: HoldMode, trylock: boolean, since = e.seq): void {
    const hold = this.hold(tid, since, object, id, cls, mode, trylock);
    const held = this.task(tid).holds;
    const listeners = this.acquireListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(hold, held);
    this.begin(e, hold);
  }

  private begin(e: TraceEvent, hold: Hold): void {
    this.add(hold);
    const listeners = this.holdListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!.held?.(hold, e);
  }

  private release(e: TraceEvent, object: LockObject, id: number, cls: string, mode: HoldMode): void {
    const t = this.tasks[e.tid];
    const key = lockKey(object, id);
    // Locks are mostly released in the reverse order of taking them: look from the last.
    for (let at = (t?.holds.length ?? 0) - 1; at >= 0; at--) {
      const hold = t!.holds[at]!;
      if (hold.key !== key) continue;
      this.remove(t!, at);
      const listeners = this.holdListeners;
      for (let i = 0; i < listeners.length; i++) listeners[i]!.released?.(hold, e);
      return;
    }
    const listeners = this.holdListeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!.releasedUnseen?.(e.tid, object, id, cls, mode, e);
  }

  private releaseVmaWriteLocks(e: TraceEvent): void {
    const t = this.tasks[e.tid];
    if (t === undefined || !t.holds.some((h) => h.object === 'vma' && h.mode === 'write')) return;
    const kept: Hold[] = [];
    for (const hold of t.holds) {
      if (hold.object === 'vma' && hold.mode === 'write') {
        for (const l of this.holdListeners) l.released?.(hold, e);
      } else kept.push(hold);
    }
    t.holds = kept;
    t.classes = classesOf(kept);
  }
}

/** The class bits of some holds. */
function classesOf(holds: readonly Hold[]): number {
  let bits = 0;
  for (let i = 0; i < holds.length; i++) bits |= holds[i]!.bit;
  return bits;
}
