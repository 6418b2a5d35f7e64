/**
 * rw_semaphore (kernel/locking/rwsem.c), modelled as the state its count word encodes: writer-locked,
 * reader count, WAITERS (a non-empty FIFO queue) and HANDOFF, plus the queue itself.
 *
 * Fairness rules reproduced (kernel-spec §1.2):
 *  - read fast path (rwsem_read_trylock) fails if a writer holds it, anyone is queued, or HANDOFF is
 *    set: a queued writer blocks every later reader;
 *  - read slow path steals the lock only if no writer holds it, HANDOFF is clear, and it is not
 *    already owned by other readers;
 *  - wake-up (rwsem_mark_wake): a reader at the head wakes every queued reader (up to 256), skipping
 *    writers, and grants them the lock -- unless a writer took it meanwhile, when a head reader that
 *    has waited RWSEM_WAIT_TIMEOUT sets HANDOFF; a writer at the head is woken alone, whoever holds
 *    the lock, and stays queued: it takes the lock itself when it runs (rwsem_try_write_lock), so a
 *    reader arriving in between steals it, and the writer sleeps again -- until it has waited
 *    RWSEM_WAIT_TIMEOUT and sets HANDOFF itself, which stops the stealing. A queued reader never
 *    sets HANDOFF on its own account or another's;
 *  - killable sleeps return -EINTR on a fatal signal and leave the queue.
 * Simplification: no optimistic spinning (a writer never spins on the owner, so it never takes the
 * lock ahead of the queue except through rwsem_try_write_lock when it finds the lock free).
 */
import { current, name, type Name, sim } from '../../../sim/sim.js';
import { emit } from '../../../trace/vocab/index.js';
import type { Gen, Task } from '../../../sim/task.js';
import { framed } from '../../../sim/frame.js';
import { EINTR } from '../../include/errno.js';
import { kernel, type Kernel, perKernel } from '../../kernel.js';

const MAX_READERS_WAKEUP = 256;

const W_READ = name('rwsem_down_read');
const W_WRITE = name('rwsem_down_write');

interface Waiter {
  readonly task: Task;
  readonly write: boolean;
  readonly since: number;
  /** A reader: rwsem_mark_wake() gave it the lock. */
  granted: boolean;
  /** A writer: rwsem_mark_wake() woke it to try for the lock itself (wake_q_add is idempotent). */
  woken: boolean;
  /**
   * HANDOFF was set for this waiter while it was first in the queue. Only then does HANDOFF turn
   * other writers away from a free lock: if it leaves, the new first waiter has not set it.
   */
  handoff_set: boolean;
}

export class RwSemaphore {
  readonly id: number;
  readers = 0;
  /** Tasks holding it for read (what lockdep knows; the count word only has `readers`). */
  readonly readerTasks: Task[] = [];
  writer: Task | null = null;
  readonly waiters: Waiter[] = [];
  handoff = false;

  constructor(readonly cls: Name) {
    this.id = kernel().newId();
    rwsems().push(this);
  }

  is_locked(): boolean {
    return this.writer !== null || this.readers > 0;
  }

  /** rwsem_is_contended(): somebody is queued. */
  is_contended(): boolean {
    return this.waiters.length > 0;
  }

  /** lockdep_is_held(): does `t` hold it, in either mode? */
  held_by(t: Task): boolean {
    return this.writer === t || this.readerTasks.includes(t);
  }
}

/** Every rw_semaphore of the kernel, in creation order (replay reads holders and waiters). */
export const rwsems: (k?: Kernel) => RwSemaphore[] = perKernel('rwsems', () => [] as RwSemaphore[]);

/** rwsem_read_trylock() / down_read_trylock(): no waiting, and no jumping the queue. */
function read_fast_path_allowed(sem: RwSemaphore): boolean {
  return sem.writer === null && sem.waiters.length === 0 && !sem.handoff;
}

/** rwsem_down_read_slowpath(): may a reader steal the lock instead of queueing? */
function reader_may_steal(sem: RwSemaphore): boolean {
  // "Don't attempt optimistic lock stealing if the lock is very likely owned by readers": the count
  // after our own increment would be > 1.
  const owned_by_other_readers = sem.readers > 0;
  return sem.writer === null && !sem.handoff && !owned_by_other_readers;
}

/** Has this waiter waited longer than RWSEM_WAIT_TIMEOUT? */
function timed_out(waiter: Waiter): boolean {
  return sim().tick - waiter.since > kernel().config.rwsemWaitTimeoutTicks;
}

/**
 * Set HANDOFF for the first waiter, which has timed out (or a writer behind it has): readers stop
 * stealing, and the lock goes to it next. True when this set the bit (its rwsem_handoff event is
 * the caller's to make).
 */
function set_handoff(sem: RwSemaphore): boolean {
  sem.waiters[0]!.handoff_set = true;
  if (sem.handoff) return false;
  sem.handoff = true;
  return true;
}

/** What rwsem_mark_wake() did: the tasks to wake, and whether it set HANDOFF. */
interface MarkWake {
  readonly woken: Task[];
  readonly handoff: boolean;
}

const NOBODY: MarkWake = Object.freeze({ woken: [], handoff: false });

/**
 * rwsem_mark_wake(): the waiters to wake now (the caller wakes them). RWSEM_WAKE_ANY when `any`,
 * RWSEM_WAKE_READ_OWNED (the caller holds it for read: a downgrade, a reader that stole it)
 * otherwise.
 *  - A writer at the head is woken for RWSEM_WAKE_ANY whoever holds the lock: it stays queued and
 *    tries for it itself when it runs (rwsem_try_write_lock), and fails if the lock was taken again.
 *  - Readers at the head (up to 256, skipping writers) are granted the lock here, unless a writer
 *    took it meanwhile: then nothing, but a head reader that has timed out sets HANDOFF.
 */
function rwsem_mark_wake(sem: RwSemaphore, any: boolean): MarkWake {
  const head = sem.waiters[0];
  if (head === undefined) return NOBODY;
  if (head.write) {
    // wake_q_add() of a writer already marked for wake-up is nothing new.
    if (!any || head.woken) return NOBODY;
    head.woken = true;
    return { woken: [head.task], handoff: false };
  }
  // The first reader's grant found a writer: backed out, with HANDOFF if it has waited too long.
  if (sem.writer !== null) return { woken: [], handoff: timed_out(head) && set_handoff(sem) };
  const woken: Task[] = [];
  for (let i = 0; i < sem.waiters.length && woken.length < MAX_READERS_WAKEUP; ) {
    const w = sem.waiters[i]!;
    if (w.write) {
      i++;
      continue;
    }
    sem.waiters.splice(i, 1);
    w.granted = true;
    grant_read(sem, w.task);
    woken.push(w.task);
  }
  sem.handoff = false;
  return { woken, handoff: false };
}

function grant_read(sem: RwSemaphore, t: Task): void {
  sem.readers++;
  sem.readerTasks.push(t);
}

function drop_read(sem: RwSemaphore, t: Task): void {
  sem.readers--;
  const i = sem.readerTasks.indexOf(t);
  if (i >= 0) sem.readerTasks.splice(i, 1);
}

/**
 * rwsem_wake(): grant the lock to the readers that may have it now, or wake the writer at the head,
 * in one step described by one rwsem_wake event (the kernel does it under one wait_lock hold); or
 * the head reader's HANDOFF, when a writer holds the lock.
 */
function* rwsem_wake(sem: RwSemaphore, any: boolean): Gen {
  const { woken, handoff } = rwsem_mark_wake(sem, any);
  if (handoff) yield emit.rwsem_handoff({ sem: sem.id, class: sem.cls.id });
  if (woken.length === 0) return;
  const s = sim();
  for (const t of woken) s.makeRunnable(t);
  const mode = sem.waiters[0]?.woken === true ? 'write' : 'read';
  yield emit.rwsem_wake({ sem: sem.id, class: sem.cls.id, mode, count: woken.length, woken: woken.map((t) => t.tid) });
}

/**
 * rwsem_try_write_lock(): a queued writer takes the lock if nobody holds it, unless HANDOFF was
 * set for the first waiter and this is another. When the lock is held, a writer that has waited
 * RWSEM_WAIT_TIMEOUT (first or not) sets HANDOFF, for the first waiter: readers stop stealing,
 * and the lock goes to it next.
 */
function* rwsem_try_write_lock(sem: RwSemaphore, waiter: Waiter): Gen<boolean> {
  const first = sem.waiters[0]!;
  if (sem.handoff && first.handoff_set && waiter !== first) return false;
  if (sem.writer !== null || sem.readers > 0) {
    if (!sem.handoff && timed_out(waiter) && set_handoff(sem)) yield emit.rwsem_handoff({ sem: sem.id, class: sem.cls.id });
    return false;
  }
  sem.waiters.splice(sem.waiters.indexOf(waiter), 1);
  sem.writer = waiter.task;
  sem.handoff = false;
  return true;
}

/**
 * rwsem_del_waiter(): leave the queue; the last waiter to leave clears HANDOFF (and WAITERS), or a
 * HANDOFF set by a waiter that gave up would outlive the queue and turn every later reader away
 * from a free lock, into a queue nobody wakes. True when waiters remain.
 */
function rwsem_del_waiter(sem: RwSemaphore, waiter: Waiter): boolean {
  sem.waiters.splice(sem.waiters.indexOf(waiter), 1);
  if (sem.waiters.length === 0) sem.handoff = false;
  return sem.waiters.length > 0;
}

/**
 * Sleep in the queue until the lock is ours: a reader is granted it by rwsem_mark_wake(), a writer
 * takes it in rwsem_try_write_lock(), before it first sleeps and each time it is woken. On a fatal
 * signal (killable) leave the queue: -EINTR.
 */
const rwsem_wait = framed(function* rwsem_wait(sem: RwSemaphore, write: boolean, killable: boolean): Gen<number> {
  const task = current();
  const waiter: Waiter = { task, write, since: sim().tick, granted: false, woken: false, handoff_set: false };
  sem.waiters.push(waiter);
  const mode = write ? 'write' : 'read';
  yield emit.rwsem_contended({ sem: sem.id, class: sem.cls.id, mode, waiters: sem.waiters.length });
  for (;;) {
    waiter.woken = false;
    if (waiter.granted || (write && (yield* rwsem_try_write_lock(sem, waiter)))) {
      yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode, how: 'woken' });
      return 0;
    }
    if (killable && task.fatalSignal) {
      const first = sem.waiters[0] === waiter;
      const remain = rwsem_del_waiter(sem, waiter);
      yield emit.rwsem_fail({ sem: sem.id, class: sem.cls.id, mode, err: -EINTR });
      // rwsem_del_wake_waiter(): the head leaving may let the new head in.
      if (first && remain) yield* rwsem_wake(sem, true);
      return -EINTR;
    }
    // set_current_state() before the last look: a wake that came while we were deciding to sleep
    // (it found us running, so it could not make us runnable) must not be lost.
    if (waiter.granted || waiter.woken) continue;
    yield* sim().block(sem.id, write ? W_WRITE : W_READ, killable);
  }
});

function* down_read_common(sem: RwSemaphore, killable: boolean): Gen<number> {
  if (read_fast_path_allowed(sem)) {
    grant_read(sem, current());
    yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'read', how: 'fast' });
    return 0;
  }
  if (reader_may_steal(sem)) {
    grant_read(sem, current());
    yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'read', how: 'steal' });
    // The first reader in wakes the readers queued at the head (rwsem_down_read_slowpath).
    yield* rwsem_wake(sem, false);
    return 0;
  }
  return yield* rwsem_wait(sem, false, killable);
}

export function* down_read(sem: RwSemaphore): Gen {
  yield* down_read_common(sem, false);
}

/** Returns 0 or -EINTR. (A plain function handing over its callee's steps: one generator fewer.) */
export function down_read_killable(sem: RwSemaphore): Gen<number> {
  return down_read_common(sem, true);
}

/** Returns true when acquired. */
export function* down_read_trylock(sem: RwSemaphore): Gen<boolean> {
  if (!read_fast_path_allowed(sem)) {
    yield emit.rwsem_fail({ sem: sem.id, class: sem.cls.id, mode: 'read', err: 0 });
    return false;
  }
  grant_read(sem, current());
  // A trylock never waits, so lockdep takes no ordering from it: the event says it was one.
  yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'read', how: 'trylock' });
  return true;
}

function* down_write_common(sem: RwSemaphore, killable: boolean): Gen<number> {
  if (sem.writer === null && sem.readers === 0 && sem.waiters.length === 0) {
    sem.writer = current();
    yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'write', how: 'fast' });
    return 0;
  }
  return yield* rwsem_wait(sem, true, killable);
}

export function* down_write(sem: RwSemaphore): Gen {
  yield* down_write_common(sem, false);
}

/** Returns 0 or -EINTR. */
export function down_write_killable(sem: RwSemaphore): Gen<number> {
  return down_write_common(sem, true);
}

export function* down_write_trylock(sem: RwSemaphore): Gen<boolean> {
  // rwsem_write_trylock(): succeeds only from a count of 0, so any queued waiter makes it fail.
  if (sem.writer !== null || sem.readers > 0 || sem.waiters.length > 0 || sem.handoff) {
    yield emit.rwsem_fail({ sem: sem.id, class: sem.cls.id, mode: 'write', err: 0 });
    return false;
  }
  sem.writer = current();
  yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'write', how: 'trylock' });
  return true;
}

export function* up_read(sem: RwSemaphore): Gen {
  drop_read(sem, current());
  yield emit.rwsem_release({ sem: sem.id, class: sem.cls.id, mode: 'read' });
  if (sem.readers === 0) yield* rwsem_wake(sem, true);
}

export function* up_write(sem: RwSemaphore): Gen {
  sem.writer = null;
  yield emit.rwsem_release({ sem: sem.id, class: sem.cls.id, mode: 'write' });
  yield* rwsem_wake(sem, true);
}

/** downgrade_write(): the writer becomes a reader; queued readers at the head come in with it. */
export function* downgrade_write(sem: RwSemaphore): Gen {
  sem.writer = null;
  grant_read(sem, current());
  yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'read', how: 'downgrade' });
  yield* rwsem_wake(sem, false);
}
