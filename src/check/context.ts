/**
 * What every checker shares: the reducers they read (call stacks, VMAs, lock holders, requests,
 * their target mms, waits), fed before them in one readRun() loop or online from the simulator, and
 * the list of violations. A checker adds its own state and reports through `report()`.
 */
import { CallStacks } from '../reduce/call-stacks.js';
import { LockHolders } from '../reduce/lock-holders.js';
import { taskName, type RunNames } from '../reduce/read-run.js';
import type { Reducer } from '../reduce/reducer.js';
import { RequestTargets } from '../reduce/request-targets.js';
import { Requests } from '../reduce/requests.js';
import { VmaMap } from '../reduce/vma-map.js';
import { WaitClock } from '../reduce/wait-clock.js';
import type { CheckerName, Violation, Witness } from './violation.js';

export interface CheckOptions {
  /** A wait longer than this many ticks is starvation (the deadlock checker). */
  starvationTicks: number;
  /** The checkers to run (default: all). */
  checkers?: readonly CheckerName[];
}

/**
 * The default bound on one wait: well above the longest wait of any built-in workload on the
 * mainline path (the monitor behind stuck-writer's writer waits about 31,000 ticks).
 */
export const DEFAULT_STARVATION_TICKS = 1_000_000;

export class CheckContext {
  readonly stacks = new CallStacks();
  readonly vmas = new VmaMap();
  readonly locks = new LockHolders(this.stacks);
  readonly requests: Requests;
  readonly targets = new RequestTargets(this.vmas);
  readonly waits = new WaitClock();
  readonly violations: Violation[] = [];
  private readonly listeners: ((v: Violation) => void)[] = [];

  constructor(readonly names: RunNames, readonly options: CheckOptions = { starvationTicks: DEFAULT_STARVATION_TICKS }) {
    this.requests = new Requests(names, 'in-flight');
  }

  /** The shared reducers, in the order the checkers rely on (stacks before locks, VMAs before targets). */
  reducers(): Reducer[] {
    return [this.stacks, this.vmas, this.locks, this.requests, this.targets, this.waits];
  }

  task(tid: number): string {
    return taskName(this.names, tid);
  }

  /** The event `seq` of task `tid`, with the task's stack as it is now. */
  witness(seq: number, tid: number, what: string): Witness {
    return { seq, task: this.task(tid), stack: this.stacks.of(tid), what };
  }

  /** The request `tid` has in flight, by id (`monitor:3`), or null. */
  requestOf(tid: number): string | null {
    return this.requests.inFlight(tid)?.id ?? null;
  }

  report(v: Violation): void {
    this.violations.push(v);
    for (const fn of this.listeners) fn(v);
  }

  onReport(fn: (v: Violation) => void): void {
    this.listeners.push(fn);
  }
}
