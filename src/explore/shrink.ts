/**
 * Shrinking a violating schedule: delta debugging (Zeller's ddmin) over its deviations from the
 * default scheduler, keeping the same checker's report. Any subset of a schedule's deviations is a
 * schedule (ScheduleStrategy ignores one whose task cannot run), so each candidate simply runs.
 * The result is 1-minimal: dropping any one deviation left loses the violation. Fewer deviations
 * also means fewer preemptions, the number a reader needs to follow the race.
 *
 * A 1-minimal schedule can still have several deviations where one would do (the default scheduler
 * may need steering back after a switch). So when ddmin leaves more than one, every schedule with a
 * single deviation at a choice point of the default schedule is tried, in step order, up to the
 * step of the violation (a bounded:1 search cut short): the first that keeps the violation wins.
 * ddmin goes first because it is usually quick (a violation that needs no particular interleaving
 * shrinks to none in a few runs), where the sweep can take a run per choice point.
 *
 * Shrinking stops after SHRINK_BUDGET runs, keeping the smallest schedule found so far: a long
 * scenario whose violation needs no particular interleaving (a read that skips FOLL_TOUCH) can offer
 * thousands of choice points, each a run. The report then says the schedule is not minimal.
 */
import { ScheduleStrategy, type Deviation } from '../sim/strategy.js';
import type { Found } from './jobs.js';
import { runSchedule } from './run-schedule.js';
import { firstDeviations, runRoot } from './bounded.js';
import type { Target } from './target.js';

export interface Shrunk {
  /** The shrunk schedule, as it ran: its violation, deviations that took effect, preemptions, events. */
  found: Found;
  /** Schedules run while shrinking. */
  runs: number;
  /** False when shrinking stopped at its budget: dropping a deviation may still keep the violation. */
  minimal: boolean;
}

/** Runs a shrink may take. */
export const SHRINK_BUDGET = 1000;

/** ddmin: a 1-minimal sublist of `items` for which `fails` still holds (`fails(items)` must). */
export function ddmin<T>(items: readonly T[], fails: (candidate: readonly T[]) => boolean): T[] {
  let current = [...items];
  if (current.length > 0 && fails([])) return [];
  let n = 2;
  while (current.length >= 2) {
    const size = Math.ceil(current.length / n);
    let reduced = false;
    for (let start = 0; start < current.length; start += size) {
      const complement = [...current.slice(0, start), ...current.slice(start + size)];
      if (fails(complement)) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, n * 2);
    }
  }
  return current;
}

/** Shrink `found` to a 1-minimal schedule that violates the same checker (within `budget` runs). */
export function shrinkSchedule(target: Target, found: Found, budget = SHRINK_BUDGET): Shrunk {
  const checker = found.violation.checker;
  let runs = 0;
  const attempt = (deviations: readonly Deviation[]) => {
    runs++;
    return runSchedule(target, new ScheduleStrategy(deviations));
  };
  // Out of budget, a candidate counts as not violating: ddmin then keeps what it has.
  const violates = (candidate: readonly Deviation[]) => runs < budget && attempt(candidate).violation?.checker === checker;
  const reduced = ddmin(found.deviations, violates);
  const single = reduced.length > 1 ? singleDeviation(target, found, violates) : undefined;
  const shrunk = single ?? reduced;
  const minimal = runs < budget;
  // Run it once more: its own log gives the deviations that took effect and its preemptions.
  const o = attempt(shrunk);
  if (o.violation?.checker !== checker) return { found, runs, minimal: false };
  return { found: { violation: o.violation, deviations: o.deviations, preemptions: o.preemptions, events: o.events }, runs, minimal };
}

/** The first one-deviation schedule, before the violation's step, that still violates. */
function singleDeviation(target: Target, found: Found, violates: (d: readonly Deviation[]) => boolean): Deviation[] | undefined {
  const lastStep = found.deviations[found.deviations.length - 1]!.step;
  for (const d of firstDeviations(runRoot(target))) {
    if (d.step > lastStep) break;
    if (violates([d])) return [d];
  }
  return undefined;
}
