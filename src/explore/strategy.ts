/**
 * The strategy every explored schedule runs under: it wraps the one that decides (random, PCT, or a
 * schedule's deviations) and watches what it decides, relative to the default scheduler
 * (defaultPick: keep running the last task while it can, else the lowest tid):
 *
 * - the deviations from the default, which replay the schedule exactly (ScheduleStrategy) and are
 *   what shrinking removes; those that switch away from a task that could have gone on are
 *   preemptions;
 * - the choice points a bounded search may deviate at: a step where more than one task can run and
 *   the last task just did something other tasks can see (a lock, page-table, folio, VMA, copy or
 *   scheduler event), or could not go on;
 * - the interleaving: a hash of the order in which tasks did those shared-state events. Two runs
 *   with the same one are equivalent (events local to one task commute with everything else).
 */
import { defaultPick, type Deviation, type Strategy } from '../sim/strategy.js';
import type { Task } from '../sim/task.js';
import { KINDS, type RawRow } from '../trace/vocab/index.js';

/** Families whose events another task can observe or race with. */
const SHARED_FAMILIES = new Set(['lock', 'pagetable', 'folio', 'vma', 'copy', 'sched']);
const SHARED_KIND: boolean[] = [];
for (const k of KINDS) SHARED_KIND[k.kind] = SHARED_FAMILIES.has(k.family);

/** A step where a bounded search may choose another task than the default. */
export interface ChoicePoint {
  step: number;
  /** The tasks it may run instead of the default, by tid. */
  alternatives: number[];
  /** Would running another task there preempt the last one? */
  preemptive: boolean;
  /** The run's state there, for pruning: the interleaving so far, each task's progress, who ran last. */
  state: string;
}

const FNV_PRIME = 0x01000193;

export class ExploringStrategy implements Strategy {
  readonly deviations: Deviation[] = [];
  preemptions = 0;
  readonly choicePoints: ChoicePoint[] = [];
  private last: Task | undefined;
  private lastWasShared = true;
  /** Two independent 32-bit hashes of the interleaving (a 64-bit key). */
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;
  private readonly progress = new Map<number, number>();

  constructor(private readonly inner: Strategy, private readonly collectChoicePoints = false) {}

  get description(): string {
    return this.inner.description;
  }

  /** The interleaving of shared-state events so far, as a key. */
  get interleaving(): string {
    return `${(this.h1 >>> 0).toString(16)}${(this.h2 >>> 0).toString(16).padStart(8, '0')}`;
  }

  spawned(task: Task): void {
    this.inner.spawned(task);
  }

  pick(runnable: readonly Task[], step: number, canIdle: boolean): Task | undefined {
    const fallback = defaultPick(runnable, this.last);
    const lastCanGoOn = this.last !== undefined && runnable.includes(this.last);
    if (this.collectChoicePoints && runnable.length > 1 && (this.lastWasShared || !lastCanGoOn)) {
      this.choicePoints.push({
        step, alternatives: runnable.filter((t) => t !== fallback).map((t) => t.tid), preemptive: lastCanGoOn, state: this.state(),
      });
    }
    const chosen = this.inner.pick(runnable, step, canIdle) ?? fallback;
    if (chosen !== fallback) {
      this.deviations.push({ step, tid: chosen.tid });
      if (lastCanGoOn) this.preemptions++;
    }
    this.last = chosen;
    this.lastWasShared = false;
    return chosen;
  }

  observe(row: RawRow, names: readonly string[]): void {
    this.inner.observe?.(row, names);
    const tid = row[2];
    const kind = row[3];
    this.progress.set(tid, (this.progress.get(tid) ?? 0) + 1);
    if (!SHARED_KIND[kind]) return;
    this.h1 = Math.imul(Math.imul(this.h1 ^ tid, FNV_PRIME) ^ kind, FNV_PRIME);
    this.h2 = Math.imul((this.h2 ^ (tid * 31 + kind)) + 0x5bd1e995, 0x2c1b3c6d);
    if (tid === this.last?.tid) this.lastWasShared = true;
  }

  private state(): string {
    const progress = [...this.progress].sort((a, b) => a[0] - b[0]).map(([tid, n]) => `${tid}:${n}`).join(',');
    return `${this.interleaving}|${progress}|${this.last?.tid ?? 0}`;
  }
}
