/**
 * When each task waits, and for how long: the one definition of a wait that every figure uses
 * (replay's per-task waitTicks, the aggregates' per-task and per-request waits, the diff).
 *
 * A wait is the time a task is blocked on something another task must release or signal: from its
 * sched_block (a lock, a completion, a grace period, the folio lock during I/O) until the event that
 * makes it runnable again. That event is a sched_wakeup naming it, the rwsem_wake that grants it
 * the lock it queued for (the grant and the wake are one step, with no wakeup event of its own), or
 * a fatal signal sent while it waits killably. A timed sleep (sched_sleep: think time, msleep) is
 * not a wait: nothing holds the task up but the clock, and counting it would hide lock waits under
 * workload pacing.
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

const NONE: readonly number[] = [];
/** The one task of a wakeup or a signal: refilled per call rather than a new list per event. */
const ONE: number[] = [0];

/**
 * The tasks whose wait `e` ends, given which tasks are in a killable wait now. The list is valid
 * until the next call: read it at once (every caller loops over it there and then).
 */
export function waitsEndedBy(e: TraceEvent, inKillableWait: (tid: number) => boolean): readonly number[] {
  switch (e.kind) {
    case 'sched_wakeup':
      return only(e.target);
    case 'rwsem_wake':
      return e.woken ?? NONE;
    case 'signal_send':
      return inKillableWait(e.target) ? only(e.target) : NONE;
    default:
      return NONE;
  }
}

function only(tid: number): readonly number[] {
  ONE[0] = tid;
  return ONE;
}

/** A wait that ended: who waited, on what (object id and wait class), from when until when. */
export interface Wait {
  tid: number;
  on: number;
  wait: string;
  since: number;
  until: number;
  ticks: number;
}

interface Blocked {
  since: number;
  on: number;
  wait: string;
  killable: boolean;
}

export class WaitClock implements Reducer {
  /** sched_block starts a wait; waitsEndedBy() ends one on these others. */
  readonly kinds = ['sched_block', 'sched_wakeup', 'rwsem_wake', 'signal_send'] as const;
  private readonly blocked = new Map<number, Blocked>();
  private readonly totals = new Map<number, number>();
  private readonly listeners: ((w: Wait) => void)[] = [];
  private readonly killable = (tid: number) => this.blocked.get(tid)?.killable === true;

  /** Call `fn` with every wait as it ends, in event order. */
  onWaitEnd(fn: (w: Wait) => void): void {
    this.listeners.push(fn);
  }

  event(e: TraceEvent): void {
    if (e.kind === 'sched_block') {
      this.blocked.set(e.tid, { since: e.tick, on: e.on, wait: e.wait, killable: e.killable });
      return;
    }
    for (const tid of waitsEndedBy(e, this.killable)) this.end(tid, e.tick);
  }

  /** Ticks `tid` has waited in waits that ended so far. */
  ticks(tid: number): number {
    return this.totals.get(tid) ?? 0;
  }

  /** Every task that has waited, with its total, in tid order. */
  byTask(): [number, number][] {
    return [...this.totals].sort((x, y) => x[0] - y[0]);
  }

  private end(tid: number, tick: number): void {
    const b = this.blocked.get(tid);
    if (!b) return;
    this.blocked.delete(tid);
    const w: Wait = { tid, on: b.on, wait: b.wait, since: b.since, until: tick, ticks: tick - b.since };
    this.totals.set(tid, (this.totals.get(tid) ?? 0) + w.ticks);
    for (const fn of this.listeners) fn(w);
  }
}
