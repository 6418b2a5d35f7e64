/**
 * Directed schedules: force the interleaving a reviewer describes, deterministically, on top of any
 * strategy. A gate holds a task back -- from an optional `after` event until an `until` event --
 * where events are matched by predicates over their kind, task and fields, decoded by the event
 * vocabulary (fields by name, names as text, coded values by their names):
 *
 *   "run W only once R has copied from VMA A; then hold R until W has exited"
 *   [{ task: 'W', until: (e) => e.task === 'R' && e.kind === 'copy' && inA(e.addr) },
 *    { task: 'R', after: (same), until: (e) => e.task === 'W' && e.kind === 'task_exit' }]
 *
 * Held tasks are not picked while another runnable task is free. If every runnable task is held
 * and some task sleeps, the idle task runs: the clock moves on to the next wake-up (the awaited
 * event may come from the sleeper). If none sleeps (the schedule asked for something the kernel
 * does not allow, e.g. W waits for a lock R holds), the base strategy picks among the held tasks,
 * so a schedule can never deadlock the run by itself.
 * The decisions are recorded as usual: a replay needs neither the base strategy nor the gates.
 */
import { decode, type KindName, type RawRow, type TraceEvent } from '../trace/vocab/index.js';
import type { Strategy } from './strategy.js';
import type { Task } from './task.js';

/** What a gate sees: the decoded event and the name of the task that made it ('' for the simulator's own). */
export type ObservedEvent = TraceEvent & { readonly task: string };

/** An observed event of one kind. */
export type ObservedOf<N extends KindName> = Extract<ObservedEvent, { readonly kind: N }>;

export type EventPredicate = (e: ObservedEvent) => boolean;

/** A gate predicate: an event of `kind` by `task` (and, if given, meeting `extra`). */
export function by<N extends KindName>(
  task: string, kind: N, extra: (e: ObservedOf<N>) => boolean = () => true,
): EventPredicate {
  return (e) => e.task === task && isKind(e, kind) && extra(e);
}

function isKind<N extends KindName>(e: ObservedEvent, kind: N): e is ObservedOf<N> {
  return e.kind === kind;
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
  private readonly taskNames = new Map<number, string>();

  constructor(private readonly base: Strategy, private readonly gates: readonly Gate[]) {
    this.description = `${base.description}+directed`;
    this.states = gates.map((g) => (g.after ? GateState.Waiting : GateState.Holding));
  }

  spawned(task: Task): void {
    this.taskNames.set(task.tid, task.name);
    this.base.spawned(task);
  }

  observe(row: RawRow, names: readonly string[]): void {
    let e: ObservedEvent | undefined;
    for (let i = 0; i < this.gates.length; i++) {
      const st = this.states[i]!;
      if (st === GateState.Open) continue;
      e ??= Object.assign(decode(row, names), { task: this.taskNames.get(row[2]) ?? '' });
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
