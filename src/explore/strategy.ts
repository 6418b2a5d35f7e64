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
 * - the interleaving: a hash of the order in which tasks did those shared-state events, what the
 *   summary counts as distinct interleavings;
 * - the state at each choice point, for the bounded search's pruning: for every shared object (a
 *   lock, folio, VMA or page-table entry, named by the event's first id or address field; the
 *   scheduler and RCU as one object each), the sequence of tasks that touched it, with each task's
 *   progress and the last task. Events on different objects commute, so two prefixes that agree on
 *   every object's sequence are the same execution up to reordering (a Mazurkiewicz trace) and
 *   leave the deterministic model in the same state.
 */
import { defaultPick, type Deviation, type Strategy } from '../sim/strategy.js';
import type { Task } from '../sim/task.js';
import { KINDS, type RawRow } from '../trace/vocab/index.js';

/** Families whose events another task can observe or race with. */
const SHARED_FAMILIES = new Set(['lock', 'pagetable', 'folio', 'vma', 'copy', 'sched']);
const SHARED_KIND: boolean[] = [];
/** Per kind: the row slot (4..7) of the object it touches, or -1 when it touches its family as a whole. */
const OBJECT_SLOT: number[] = [];
/** Per kind: its family's index, so objects of different families never share a key. */
const FAMILY_INDEX: number[] = [];
const families = [...SHARED_FAMILIES];
for (const k of KINDS) {
  SHARED_KIND[k.kind] = SHARED_FAMILIES.has(k.family);
  FAMILY_INDEX[k.kind] = families.indexOf(k.family);
  // The scheduler's events (a block and the wakeup that ends it name different ids) are one object.
  OBJECT_SLOT[k.kind] = k.family === 'sched' ? -1 : k.types.findIndex((t) => t === 'id' || t === 'addr');
  if (OBJECT_SLOT[k.kind]! >= 0) OBJECT_SLOT[k.kind]! += 4;
}

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
  /** Per object: the hash of the sequence of tasks that touched it. */
  private readonly objects = new Map<number, number>();
  /** XOR over objects of (object, its sequence hash), in two independent lanes: the per-object orders in 64 bits. */
  private objectOrders = 0;
  private objectOrders2 = 0;

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
    this.touched(row, tid);
    if (tid === this.last?.tid) this.lastWasShared = true;
  }

  /** The task appended to the sequence of the object the event touches. */
  private touched(row: RawRow, tid: number): void {
    const slot = OBJECT_SLOT[row[3]]!;
    const object = (slot < 0 ? 0 : (row[slot] as number)) * 8 + FAMILY_INDEX[row[3]]!;
    const before = this.objects.get(object) ?? 0x811c9dc5;
    const after = Math.imul(before ^ tid, FNV_PRIME) >>> 0;
    this.objects.set(object, after);
    this.objectOrders ^= contribution(object, before, 0x9e3779b1) ^ contribution(object, after, 0x9e3779b1);
    this.objectOrders2 ^= contribution(object, before, 0x7feb352d) ^ contribution(object, after, 0x7feb352d);
  }

  private state(): string {
    const progress = [...this.progress].sort((a, b) => a[0] - b[0]).map(([tid, n]) => `${tid}:${n}`).join(',');
    return `${(this.objectOrders >>> 0).toString(16)}:${(this.objectOrders2 >>> 0).toString(16)}|${this.objects.size}|${progress}|${this.last?.tid ?? 0}`;
  }
}

/** An object's sequence hash as it enters the XOR of all objects (mixed with the object's key). */
function contribution(object: number, sequence: number, multiplier: number): number {
  let h = Math.imul(sequence ^ (object >>> 0), multiplier);
  h = Math.imul(h ^ Math.floor(object / 4294967296), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}
