/**
 * One explored schedule: the workload run under a strategy, without its directed schedule and with
 * nothing recorded, the checkers watching online. By default it stops at the first violation.
 */
import { CheckingSink, StopRun } from '../check/online.js';
import type { Violation } from '../check/index.js';
import type { Deviation, Strategy } from '../sim/strategy.js';
import { runGuarded } from '../modules/sandbox.js';
import { runWorkload } from '../workloads/runner.js';
import { ExploringStrategy, type ChoicePoint } from './strategy.js';
import type { Target } from './target.js';

export interface ScheduleOutcome {
  violation: Violation | null;
  events: number;
  /** The schedule as deviations from the default scheduler (ScheduleStrategy replays it). */
  deviations: Deviation[];
  preemptions: number;
  /** The order of shared-state events (equal keys: equivalent runs). */
  interleaving: string;
  choicePoints: ChoicePoint[];
}

export function runSchedule(target: Target, inner: Strategy, opts: { collectChoicePoints?: boolean } = {}): ScheduleOutcome {
  const sink = new CheckingSink(target.check, true);
  const strategy = new ExploringStrategy(inner, opts.collectChoicePoints);
  let violation: Violation | null = null;
  const fromModule = target.workloadModule !== null || target.path.source !== null;
  try {
    runGuarded(fromModule, () => runWorkload({
      workload: target.workload, params: target.params, path: target.path.name, pathHook: target.path.hook,
      variant: target.variant, seed: target.spec.seed,
      strategy, directed: false, config: target.config, sink, maxEvents: target.spec.maxEvents,
    }));
  } catch (e) {
    if (!(e instanceof StopRun)) throw e;
    violation = e.violation;
  }
  return {
    violation, events: sink.events, deviations: strategy.deviations, preemptions: strategy.preemptions,
    interleaving: strategy.interleaving, choicePoints: strategy.choicePoints,
  };
}
