/**
 * Systematic exploration with a bound (iterative context bounding, as in CHESS): every schedule
 * that deviates from the default scheduler (run the last task while it can, else the lowest tid) at
 * most P times, each deviation at a choice point: a step where another task could run right after
 * the last task did something other tasks can see, or could not go on. Deviations that switch
 * away from a task that could have gone on are the schedule's preemptions (at most P).
 *
 * The search tree: the default schedule is the root; a node's children add one deviation at a
 * choice point after its last one. Subtree j is the j-th child of the root with everything below
 * it, explored depth-first; subtrees are independent, which is how workers and shards split the
 * search (subtree j goes to shard j mod N) with the same total count however it is split.
 *
 * Reduction: the emulator is deterministic and events on different objects commute, so two
 * prefixes with the same per-object orders, the same progress of every task and the same last task
 * reach the same state (strategy.ts). A choice point in a state already branched from (with at
 * least as many deviations left) is not branched from again; the schedules that saves are counted
 * as pruned. Across subtrees this is decided before the search, from one run of each subtree's
 * root (pruneAcrossSubtrees): a state belongs to the first subtree, in index order, that reaches
 * it, whatever the split; within a subtree, as its search goes.
 */
import { ScheduleStrategy, type Deviation } from '../sim/strategy.js';
import { runSchedule, type ScheduleOutcome } from './run-schedule.js';
import type { ChoicePoint } from './strategy.js';
import type { Target } from './target.js';

export interface SubtreeStats {
  schedules: number;
  pruned: number;
}

/** The root's children in order: one deviation each, at the root's choice points. */
export function firstDeviations(root: ScheduleOutcome): Deviation[] {
  return root.choicePoints.flatMap((cp) => cp.alternatives.map((tid) => ({ step: cp.step, tid })));
}

/** The default schedule, with its choice points (the root of the search). */
export function runRoot(target: Target): ScheduleOutcome {
  return runSchedule(target, new ScheduleStrategy([]), { collectChoicePoints: true });
}

/**
 * Explore the subtree under `first` (one deviation) within `bound` deviations in all. `visit` sees
 * each schedule run; returning false stops the search.
 */
export function exploreSubtree(
  target: Target, first: Deviation, bound: number, visit: (o: ScheduleOutcome, deviations: readonly Deviation[]) => boolean,
  skipAtRoot: ReadonlySet<number> = new Set(),
): SubtreeStats & { stopped: boolean } {
  const stats = { schedules: 0, pruned: 0, stopped: false };
  /** Choice-point states branched from, with the deviations that were left there. */
  const branched = new Map<string, number>();
  const dfs = (deviations: Deviation[]): boolean => {
    const left = bound - deviations.length;
    const o = runSchedule(target, new ScheduleStrategy(deviations), { collectChoicePoints: left > 0 });
    stats.schedules++;
    if (!visit(o, deviations)) return false;
    if (left === 0 || o.violation) return true;
    const after = deviations[deviations.length - 1]!.step;
    const atRoot = deviations.length === 1;
    for (const cp of o.choicePoints) {
      if (cp.step <= after) continue;
      if ((atRoot && skipAtRoot.has(cp.step)) || alreadyBranched(branched, cp, left)) {
        stats.pruned += cp.alternatives.length;
        continue;
      }
      for (const tid of cp.alternatives) if (!dfs([...deviations, { step: cp.step, tid }])) return false;
    }
    return true;
  };
  stats.stopped = !dfs([first]);
  return stats;
}

function alreadyBranched(branched: Map<string, number>, cp: ChoicePoint, left: number): boolean {
  const before = branched.get(cp.state);
  if (before !== undefined && before >= left) return true;
  branched.set(cp.state, left);
  return false;
}

/**
 * The choice points of each subtree's root (one deviation) that another subtree, earlier in index
 * order, reaches in the same state with as many deviations left: their steps, per subtree, for
 * exploreSubtree's `skipAtRoot`. Runs every subtree's root once.
 */
export function pruneAcrossSubtrees(target: Target, firsts: readonly Deviation[]): number[][] {
  const owner = new Set<string>();
  return firsts.map((first) => {
    const o = runSchedule(target, new ScheduleStrategy([first]), { collectChoicePoints: true });
    const skip: number[] = [];
    for (const cp of o.choicePoints) {
      if (cp.step <= first.step) continue;
      if (owner.has(cp.state)) skip.push(cp.step);
      else owner.add(cp.state);
    }
    return skip;
  });
}
