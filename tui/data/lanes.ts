/**
 * Lock lanes: one lane per task over the events around the cursor, one column per event, saying
 * what the task held, waited for or spun on after that event (Perfetto's thread-state tracks, in
 * characters):
 *
 *   M m   holds mmap_lock for write / for read          w   waits for mmap_lock
 *   v     holds a per-VMA read lock                     s   spins on a spinlock
 *   p     holds a page-table lock (ptl, pmd_lock,       z   blocked or asleep on anything else
 *         page_table_lock)                              -   runnable, holding nothing traced
 *   o     holds another lock (lru_lock, i_mmap_rwsem…)  ' ' not started, or exited
 *   r     in an RCU read-side section (or IRQs off)
 *
 * When several apply the first in `PRIORITY` shows. No model is folded for the window: the lanes
 * start from the state document at the cursor (lock holders and waiters, RCU nesting, task states)
 * and run the window's events forward from the cursor and backward to it, each event's effect on a
 * task's locks being reversible from the event alone.
 *
 * One thing the document does not say is which task holds a per-VMA read lock (vm_refcnt counts
 * readers, not who). A hold that ends after the cursor inside the window is found by the forward
 * pass and carried back; one that spans the whole window is not shown.
 */
import { waitsEndedBy } from '../../src/reduce/wait-clock.js';
import type { StateDoc } from '../../src/replay/state.js';
import type { TraceEvent } from '../../src/trace/vocab/index.js';

export const PRIORITY = 'wszMmpvor-' as const;

const PAGE_TABLE_LOCKS = new Set(['ptl', 'pmd_lock', 'page_table_lock']);
const MMAP_LOCK = 'mmap_lock';

interface Hold {
  cls: string;
  write: boolean;
}

/** What one task holds and waits for at one moment. */
class TaskLock {
  alive = false;
  blocked = false;
  /** A fatal signal ends the wait (sched_block's killable). */
  killable = false;
  waitsFor: string | null = null;
  spinsOn: string | null = null;
  rcu = 0;
  readonly rwsems = new Map<number, Hold>();
  readonly spins = new Map<number, string>();
  readonly vmas = new Set<number>();

  clone(): TaskLock {
    const c = new TaskLock();
    Object.assign(c, { alive: this.alive, blocked: this.blocked, killable: this.killable, waitsFor: this.waitsFor, spinsOn: this.spinsOn, rcu: this.rcu });
    for (const [k, v] of this.rwsems) c.rwsems.set(k, v);
    for (const [k, v] of this.spins) c.spins.set(k, v);
    for (const v of this.vmas) c.vmas.add(v);
    return c;
  }

  /** The lane character: the first that applies in PRIORITY order. */
  char(): string {
    if (!this.alive) return ' ';
    if (this.waitsFor !== null) return this.waitsFor === MMAP_LOCK ? 'w' : 'z';
    if (this.spinsOn !== null) return 's';
    if (this.blocked) return 'z';
    const holds = [...this.rwsems.values()];
    if (holds.some((h) => h.cls === MMAP_LOCK && h.write)) return 'M';
    if (holds.some((h) => h.cls === MMAP_LOCK)) return 'm';
    const spins = [...this.spins.values()];
    if (spins.some((c) => PAGE_TABLE_LOCKS.has(c))) return 'p';
    if (this.vmas.size > 0) return 'v';
    if (holds.length > 0 || spins.length > 0) return 'o';
    if (this.rcu > 0) return 'r';
    return '-';
  }
}

type Tasks = Map<number, TaskLock>;

function task(tasks: Tasks, tid: number): TaskLock {
  let t = tasks.get(tid);
  if (!t) tasks.set(tid, (t = new TaskLock()));
  return t;
}

/** The lock state at the cursor, from its document. */
function seed(doc: StateDoc): Tasks {
  const tasks: Tasks = new Map();
  for (const t of doc.tasks) {
    const l = task(tasks, t.tid);
    l.alive = t.state !== 'done';
    l.blocked = t.state === 'blocked' || t.state === 'sleeping';
    l.killable = t.blockedOn?.killable ?? false;
    l.rcu = t.rcuNesting;
  }
  for (const s of doc.locks.rwsems) {
    for (const r of s.readers) task(tasks, r).rwsems.set(s.sem, { cls: s.class, write: false });
    if (s.writer !== null) task(tasks, s.writer).rwsems.set(s.sem, { cls: s.class, write: true });
    for (const w of s.waiters) task(tasks, w.tid).waitsFor = s.class;
  }
  for (const s of doc.locks.spinlocks) {
    if (s.owner !== null) task(tasks, s.owner).spins.set(s.lock, s.class);
    for (const w of s.waiters) task(tasks, w).spinsOn = s.class;
  }
  return tasks;
}

/** The state after `e`, from the state before it. */
function forward(tasks: Tasks, e: TraceEvent): void {
  const t = task(tasks, e.tid);
  // the same rule as the wait clock's: a wake-up, an rwsem grant, a fatal signal in a killable wait
  for (const woken of waitsEndedBy(e, (tid) => task(tasks, tid).blocked && task(tasks, tid).killable)) task(tasks, woken).blocked = false;
  switch (e.kind) {
    case 'task_start': t.alive = true; break;
    case 'task_exit': t.alive = false; break;
    case 'sched_block': t.blocked = true; t.killable = e.killable; break;
    case 'sched_sleep': t.blocked = true; t.killable = false; break;
    case 'rwsem_contended': t.waitsFor = e.class; break;
    case 'rwsem_acquire': t.rwsems.set(e.sem, { cls: e.class, write: e.mode === 'write' && e.how !== 'downgrade' }); t.waitsFor = null; break;
    case 'rwsem_wake':
      // readers are granted the lock by the wake; a woken writer stays queued and takes it itself
      if (e.mode === 'read') {
        for (const w of e.woken ?? []) {
          task(tasks, w).rwsems.set(e.sem, { cls: e.class, write: false });
          task(tasks, w).waitsFor = null;
        }
      }
      break;
    case 'rwsem_release': t.rwsems.delete(e.sem); break;
    case 'rwsem_fail': if (e.err !== 0) t.waitsFor = null; break;
    case 'spin_contended': if (e.queued) t.spinsOn = e.class; break;
    case 'spin_lock': t.spins.set(e.lock, e.class); t.spinsOn = null; break;
    case 'spin_unlock': t.spins.delete(e.lock); break;
    case 'rcu_read_lock': case 'rcu_read_unlock': t.rcu = e.nesting; break;
    case 'local_irq_disable': case 'local_irq_enable': t.rcu = e.rcu; break;
    case 'vma_start_read': if (e.result === 'ok') t.vmas.add(e.vma); break;
    case 'vma_start_read_locked': t.vmas.add(e.vma); break;
    case 'vma_end_read': t.vmas.delete(e.vma); break;
  }
}

/** The state before `e`, from the state after it. */
function backward(tasks: Tasks, e: TraceEvent): void {
  const t = task(tasks, e.tid);
  switch (e.kind) {
    case 'task_start': t.alive = false; break;
    case 'task_exit': t.alive = true; break;
    case 'sched_block': case 'sched_sleep': t.blocked = false; break;
    // a fatal signal that ended a killable wait is not undone here: whether the target was waiting
    // is not in the event (the lane shows it runnable until the event before the signal)
    case 'sched_wakeup': task(tasks, e.target).blocked = true; break;
    case 'rwsem_contended': t.waitsFor = null; break;
    case 'rwsem_acquire':
      // a woken reader already held it (rwsem_wake granted it); a woken writer was still queued;
      // a downgrade held it for write
      if (e.how === 'downgrade') t.rwsems.set(e.sem, { cls: e.class, write: true });
      else if (e.how === 'woken' && e.mode === 'write') {
        t.rwsems.delete(e.sem);
        t.waitsFor = e.class;
      } else if (e.how !== 'woken') t.rwsems.delete(e.sem);
      break;
    case 'rwsem_wake':
      for (const w of e.woken ?? []) {
        task(tasks, w).blocked = true;
        if (e.mode === 'read') {
          task(tasks, w).rwsems.delete(e.sem);
          task(tasks, w).waitsFor = e.class;
        }
      }
      break;
    case 'rwsem_release': t.rwsems.set(e.sem, { cls: e.class, write: e.mode === 'write' }); break;
    case 'rwsem_fail': if (e.err !== 0) t.waitsFor = e.class; break;
    case 'spin_contended': if (e.queued) t.spinsOn = null; break;
    case 'spin_lock': t.spins.delete(e.lock); if (e.waited) t.spinsOn = e.class; break;
    case 'spin_unlock': t.spins.set(e.lock, e.class); break;
    case 'rcu_read_lock': t.rcu = e.nesting - 1; break;
    case 'rcu_read_unlock': t.rcu = e.nesting + 1; break;
    case 'local_irq_disable': t.rcu = Math.max(0, e.rcu - 1); break;
    case 'local_irq_enable': t.rcu = e.rcu + 1; break;
    case 'vma_start_read': if (e.result === 'ok') t.vmas.delete(e.vma); break;
    case 'vma_start_read_locked': t.vmas.delete(e.vma); break;
    case 'vma_end_read': t.vmas.add(e.vma); break;
  }
}

export interface Lane {
  tid: number;
  /** One character per column. */
  cells: string;
}

export interface Lanes {
  /** The seq of each column. */
  seqs: number[];
  /** The cursor's column. */
  cursor: number;
  lanes: Lane[];
}

/** Each task's lane character from a state document alone (what the lanes start from). */
export function seedChars(doc: StateDoc): Map<number, string> {
  return new Map([...seed(doc)].map(([tid, t]) => [tid, t.char()]));
}

function snapshotChars(tasks: Tasks, tids: number[]): string[] {
  return tids.map((tid) => tasks.get(tid)?.char() ?? ' ');
}

/**
 * The lanes of the events `window` (consecutive, in seq order) around the cursor's event, whose
 * state document is `doc`. Tasks are the document's (the run's tasks at the cursor) plus any the
 * window starts.
 */
export function computeLanes(doc: StateDoc, window: readonly TraceEvent[], cursorSeq: number): Lanes {
  const at = window.findIndex((e) => e.seq === cursorSeq);
  if (at < 0) throw new Error(`computeLanes: the window does not hold the cursor's event ${cursorSeq}`);
  // Per-VMA read holds ending after the cursor were held at the cursor: find them first.
  const atCursor = seed(doc);
  const probe = new Map<number, TaskLock>([...atCursor].map(([k, v]) => [k, v.clone()]));
  for (const e of window.slice(at + 1)) {
    if (e.kind === 'vma_end_read' && !task(probe, e.tid).vmas.has(e.vma)) task(atCursor, e.tid).vmas.add(e.vma);
    forward(probe, e);
  }
  const tids = [...new Set([...atCursor.keys(), ...window.map((e) => e.tid)])].filter((t) => t !== 0).sort((x, y) => x - y);
  const columns: string[][] = new Array(window.length);
  const ahead = new Map([...atCursor].map(([k, v]) => [k, v.clone()]));
  columns[at] = snapshotChars(ahead, tids);
  for (let i = at + 1; i < window.length; i++) {
    forward(ahead, window[i]!);
    columns[i] = snapshotChars(ahead, tids);
  }
  const behind = atCursor;
  for (let i = at - 1; i >= 0; i--) {
    backward(behind, window[i + 1]!);
    columns[i] = snapshotChars(behind, tids);
  }
  const lanes = tids.map((tid, row) => ({ tid, cells: columns.map((c) => c[row]).join('') }));
  return { seqs: window.map((e) => e.seq), cursor: at, lanes };
}
