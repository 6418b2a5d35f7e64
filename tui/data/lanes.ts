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
 * When several apply the first in `PRIORITY` shows. No model is folded for the window.
 *
 * What a task holds is the lock-holder table's (src/reduce/lock-holders.ts): the window's events
 * are fed to a table of their own, whose holds, each from the event it began at to the one it ended
 * at, are the lanes' hold intervals. A hold the window's events do not show beginning is taken from
 * the state document at the cursor (its lock holders and RCU nesting) or, failing that, from the
 * release that ends it in the window. One thing the document does not say is which task holds a
 * per-VMA read lock (vm_refcnt counts readers, not who): a VMA read hold that spans the whole window
 * is not shown.
 *
 * Waiting (task states, what a task waits or spins on) is the lanes' own: from the document at the
 * cursor, the window's events run forward from it and backward to it, each event's effect on a
 * task's waiting being reversible from the event alone.
 */
import { LockHolders, rcuNestingBefore, UNSEEN, type HoldMode, type LockObject } from '../../src/reduce/lock-holders.js';
import { waitsEndedBy } from '../../src/reduce/wait-clock.js';
import type { StateDoc } from '../../src/replay/state.js';
import type { TraceEvent } from '../../src/trace/vocab/index.js';

export const PRIORITY = 'wszMmpvor-' as const;

const PAGE_TABLE_LOCKS = new Set(['ptl', 'pmd_lock', 'page_table_lock']);
const MMAP_LOCK = 'mmap_lock';

/** A hold as the lanes draw it: held after event `from` (-Infinity: before the window) up to event `to`. */
export interface HoldSpan {
  tid: number;
  object: LockObject;
  id: number;
  class: string;
  mode: HoldMode;
  from: number;
  to: number;
}

/** Does the span cover the column of event `seq` (the state after that event)? */
function covers(span: HoldSpan, seq: number): boolean {
  return span.from <= seq && seq < span.to;
}

/** What one task waits for at one moment (its holds are the spans'). */
class TaskWait {
  alive = false;
  blocked = false;
  /** A fatal signal ends the wait (sched_block's killable). */
  killable = false;
  waitsFor: string | null = null;
  spinsOn: string | null = null;

  clone(): TaskWait {
    const c = new TaskWait();
    Object.assign(c, { alive: this.alive, blocked: this.blocked, killable: this.killable, waitsFor: this.waitsFor, spinsOn: this.spinsOn });
    return c;
  }
}

/** The lane character after event `seq`: the first that applies in PRIORITY order. */
function laneChar(t: TaskWait | undefined, spans: readonly HoldSpan[], seq: number, rcu: number): string {
  if (t === undefined || !t.alive) return ' ';
  if (t.waitsFor !== null) return t.waitsFor === MMAP_LOCK ? 'w' : 'z';
  if (t.spinsOn !== null) return 's';
  if (t.blocked) return 'z';
  let best = '-';
  for (const h of spans) {
    if (!covers(h, seq)) continue;
    const c = h.class === MMAP_LOCK ? (h.mode === 'write' ? 'M' : 'm')
      : h.object === 'spin' && PAGE_TABLE_LOCKS.has(h.class) ? 'p' : h.object === 'vma' ? 'v' : 'o';
    if (PRIORITY.indexOf(c) < PRIORITY.indexOf(best)) best = c;
  }
  return best === '-' && rcu > 0 ? 'r' : best;
}

type Tasks = Map<number, TaskWait>;

function task(tasks: Tasks, tid: number): TaskWait {
  let t = tasks.get(tid);
  if (!t) tasks.set(tid, (t = new TaskWait()));
  return t;
}

/** What each task waits for at the cursor, from its document. */
function seed(doc: StateDoc): Tasks {
  const tasks: Tasks = new Map();
  for (const t of doc.tasks) {
    const l = task(tasks, t.tid);
    l.alive = t.state !== 'done';
    l.blocked = t.state === 'blocked' || t.state === 'sleeping';
    l.killable = t.blockedOn?.killable ?? false;
  }
  for (const s of doc.locks.rwsems) for (const w of s.waiters) task(tasks, w.tid).waitsFor = s.class;
  for (const s of doc.locks.spinlocks) for (const w of s.waiters) task(tasks, w).spinsOn = s.class;
  return tasks;
}

/** The waiting after `e`, from the waiting before it. */
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
    case 'rwsem_acquire': t.waitsFor = null; break;
    // readers are granted the lock by the wake; a woken writer stays queued and takes it itself
    case 'rwsem_wake': if (e.mode === 'read') for (const w of e.woken ?? []) task(tasks, w).waitsFor = null; break;
    case 'rwsem_fail': if (e.err !== 0) t.waitsFor = null; break;
    case 'spin_contended': if (e.queued) t.spinsOn = e.class; break;
    case 'spin_lock': t.spinsOn = null; break;
  }
}

/** The waiting before `e`, from the waiting after it. */
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
    // a woken writer was still queued
    case 'rwsem_acquire': if (e.how === 'woken' && e.mode === 'write') t.waitsFor = e.class; break;
    case 'rwsem_wake':
      for (const w of e.woken ?? []) {
        task(tasks, w).blocked = true;
        if (e.mode === 'read') task(tasks, w).waitsFor = e.class;
      }
      break;
    case 'rwsem_fail': if (e.err !== 0) t.waitsFor = e.class; break;
    case 'spin_contended': if (e.queued) t.spinsOn = null; break;
    case 'spin_lock': if (e.waited) t.spinsOn = e.class; break;
  }
}

/**
 * The hold intervals over the window: the holds a lock-holder table fed the window's events sees,
 * and the ones the document at the cursor says were held there without the window showing them begin.
 */
export function holdSpans(doc: StateDoc, window: readonly TraceEvent[], cursorSeq: number): HoldSpan[] {
  const spans: HoldSpan[] = [];
  const open = new Map<object, HoldSpan>();
  const table = new LockHolders();
  table.onHold({
    held(h, e) {
      // A VMA write lock is taken under the mmap_lock held for write (which the lane shows), and
      // taken again while held is a no-op, so a table fed only the window can not tell when it began.
      if (h.object === 'vma' && h.mode === 'write') return;
      const span = { tid: h.tid, object: h.object, id: h.id, class: h.class, mode: h.mode, from: h.seq === UNSEEN ? unseenFrom(h) : e.seq, to: Infinity };
      spans.push(span);
      open.set(h, span);
    },
    released(h, e) {
      const span = open.get(h);
      if (span === undefined) return;
      span.to = e.seq;
      open.delete(h);
    },
    releasedUnseen(tid, object, id, cls, mode, e) {
      spans.push({ tid, object, id, class: cls, mode, from: -Infinity, to: e.seq });
    },
  });
  // A spinner handed the lock by an unlock in the window, whose queueing came before it: the table
  // sees only its spin_lock (waited), but the hold began at that lock's last unlock, the grant.
  const lastUnlock = new Map<number, number>();
  const unseenFrom = (h: { object: LockObject; id: number }) => (h.object === 'spin' ? lastUnlock.get(h.id) ?? -Infinity : -Infinity);
  for (const e of window) {
    table.event(e);
    if (e.kind === 'spin_unlock') lastUnlock.set(e.lock, e.seq);
  }
  const heldAtCursor = (tid: number, object: LockObject, id: number, cls: string, mode: HoldMode) => {
    const same = spans.filter((s) => s.tid === tid && s.object === object && s.id === id);
    if (same.some((s) => covers(s, cursorSeq))) return;
    // held from the last release of it before the cursor (or before the window) to its next taking
    const from = Math.max(-Infinity, ...same.filter((s) => s.to <= cursorSeq).map((s) => s.to));
    const to = Math.min(Infinity, ...same.filter((s) => s.from > cursorSeq).map((s) => s.from));
    spans.push({ tid, object, id, class: cls, mode, from, to });
  };
  for (const s of doc.locks.rwsems) {
    for (const r of s.readers) heldAtCursor(r, 'rwsem', s.sem, s.class, 'read');
    if (s.writer !== null) heldAtCursor(s.writer, 'rwsem', s.sem, s.class, 'write');
  }
  for (const s of doc.locks.spinlocks) if (s.owner !== null) heldAtCursor(s.owner, 'spin', s.lock, s.class, 'spin');
  return spans;
}

/**
 * Each task's RCU nesting after every event of the window: the table's after the task's first RCU
 * event in the window; before it, what that event says it was, or the document's when it comes
 * after the cursor.
 */
function rcuColumns(doc: StateDoc, window: readonly TraceEvent[], at: number, tids: readonly number[]): Map<number, number[]> {
  const out = new Map(tids.map((tid) => [tid, new Array<number>(window.length)]));
  const atCursor = new Map(doc.tasks.map((t) => [t.tid, t.rcuNesting]));
  const table = new LockHolders();
  const first = new Map<number, number>();
  window.forEach((e, i) => {
    table.event(e);
    if (e.kind !== 'rcu_read_lock' && e.kind !== 'rcu_read_unlock' && e.kind !== 'local_irq_disable' && e.kind !== 'local_irq_enable') return;
    if (!first.has(e.tid)) first.set(e.tid, i <= at ? rcuNestingBefore(e) : atCursor.get(e.tid) ?? 0);
    out.get(e.tid)![i] = table.rcuNesting(e.tid);
  });
  for (const tid of tids) {
    const col = out.get(tid)!;
    let now = first.get(tid) ?? atCursor.get(tid) ?? 0;
    for (let i = 0; i < window.length; i++) {
      if (col[i] === undefined) col[i] = now;
      else now = col[i]!;
    }
  }
  return out;
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
  const waits = seed(doc);
  const spans = holdSpans(doc, [], 0);
  const rcu = new Map(doc.tasks.map((t) => [t.tid, t.rcuNesting]));
  const tids = new Set([...waits.keys(), ...spans.map((s) => s.tid)]);
  return new Map([...tids].map((tid) => [tid, laneChar(task(waits, tid), spans.filter((s) => s.tid === tid), 0, rcu.get(tid) ?? 0)]));
}

/**
 * The lanes of the events `window` (consecutive, in seq order) around the cursor's event, whose
 * state document is `doc`. Tasks are the document's (the run's tasks at the cursor) plus any the
 * window starts.
 */
export function computeLanes(doc: StateDoc, window: readonly TraceEvent[], cursorSeq: number): Lanes {
  const at = window.findIndex((e) => e.seq === cursorSeq);
  if (at < 0) throw new Error(`computeLanes: the window does not hold the cursor's event ${cursorSeq}`);
  const atCursor = seed(doc);
  const spans = holdSpans(doc, window, cursorSeq);
  const tids = [...new Set([...atCursor.keys(), ...spans.map((s) => s.tid), ...window.map((e) => e.tid)])].filter((t) => t !== 0).sort((x, y) => x - y);
  const rcu = rcuColumns(doc, window, at, tids);
  const spansOf = new Map(tids.map((tid) => [tid, spans.filter((s) => s.tid === tid)]));
  const column = (waits: Tasks, i: number) => tids.map((tid) => laneChar(waits.get(tid), spansOf.get(tid)!, window[i]!.seq, rcu.get(tid)![i]!));
  const columns: string[][] = new Array(window.length);
  const ahead = new Map([...atCursor].map(([k, v]) => [k, v.clone()]));
  columns[at] = column(ahead, at);
  for (let i = at + 1; i < window.length; i++) {
    forward(ahead, window[i]!);
    columns[i] = column(ahead, i);
  }
  const behind = atCursor;
  for (let i = at - 1; i >= 0; i--) {
    backward(behind, window[i + 1]!);
    columns[i] = column(behind, i);
  }
  const lanes = tids.map((tid, row) => ({ tid, cells: columns.map((c) => c[row]).join('') }));
  return { seqs: window.map((e) => e.seq), cursor: at, lanes };
}
