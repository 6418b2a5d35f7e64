/**
 * Directed schedules: force the interleaving a reviewer describes, deterministically, on top of any
 * strategy. A gate holds a task back -- from an optional `after` event until an `until` event --
 * where events are matched by predicates over their kind, task and fields:
 *
 *   "run W only once R has copied from VMA A; then hold R until W has exited"
 *   [{ task: 'W', until: (e) => e.task === 'R' && e.kind === 'copy' && inA(e.a) },
 *    { task: 'R', after: (same), until: (e) => e.task === 'W' && e.kind === 'task_exit' }]
 *
 * Held tasks are not picked while another runnable task is free. If every runnable task is held
 * and some task sleeps, the idle task runs: the clock moves on to the next wake-up (the awaited
 * event may come from the sleeper). If none sleeps (the schedule asked for something the kernel
 * does not allow, e.g. W waits for a lock R holds), the base strategy picks among the held tasks,
 * so a schedule can never deadlock the run by itself.
 * The decisions are recorded as usual: a replay needs neither the base strategy nor the gates.
 */
import { kindDef } from '../trace/events.js';
import type { Strategy } from './strategy.js';
import type { Task } from './task.js';

export interface ObservedEvent {
  seq: number;
  tid: number;
  /** The task's name ('' for the simulator's own events). */
  task: string;
  kind: string;
  a: number;
  b: number;
  c: number;
  d: number;
}

export type EventPredicate = (e: ObservedEvent) => boolean;

/** A gate predicate: an event of `kind` by `task` (and, if given, meeting `extra`). */
export function by(task: string, kind: string, extra: EventPredicate = () => true): EventPredicate {
  return (e) => e.task === task && e.kind === kind && extra(e);
}

export interface Gate {
  /** The task held back (by name). */
  task: string;
  /** The gate starts holding once this has happened (default: from the start). */
  after?: EventPredicate;
  /** ... and holds until this has happened. */
  until: EventPredicate;
}

const enum GateState {
  Waiting,
  Holding,
  Open,
}

export class DirectedStrategy implements Strategy {
  readonly description: string;
  private readonly states: GateState[];
  private readonly names = new Map<number, string>();

  constructor(private readonly base: Strategy, private readonly gates: readonly Gate[]) {
    this.description = `${base.description}+directed`;
    this.states = gates.map((g) => (g.after ? GateState.Waiting : GateState.Holding));
  }

  spawned(task: Task): void {
    this.names.set(task.tid, task.name);
    this.base.spawned(task);
  }

  observe(seq: number, tid: number, kind: number, a: number, b: number, c: number, d: number): void {
    let e: ObservedEvent | undefined;
    for (let i = 0; i < this.gates.length; i++) {
      const st = this.states[i]!;
      if (st === GateState.Open) continue;
      e ??= { seq, tid, task: this.names.get(tid) ?? '', kind: kindDef(kind).name, a, b, c, d };
      const g = this.gates[i]!;
      if (st === GateState.Waiting && g.after!(e)) this.states[i] = GateState.Holding;
      if (g.until(e)) this.states[i] = GateState.Open;
    }
  }

  private held(t: Task): boolean {
    for (let i = 0; i < this.gates.length; i++) {
      if (this.states[i] === GateState.Holding && this.gates[i]!.task === t.name) return true;
    }
    return false;
  }

  pick(runnable: readonly Task[], step: number, canIdle: boolean): Task | undefined {
    const free = runnable.filter((t) => !this.held(t));
    if (free.length > 0) return this.base.pick(free, step, false);
    // Every runnable task is held: wait for a sleeper if there is one, else let a held one go.
    return canIdle ? undefined : this.base.pick(runnable, step, false);
  }
}
