/**
 * One pass over a run's events: per-request results and waits, lock acquisitions by class and mode,
 * page-table steps by level, folio references, bytes copied. Works on any recorded run through the
 * vocabulary alone (the log is self-describing): it knows event kinds, not VMAs.
 */
import { hashHex } from './hash.js';
import { K, u32s } from './events.js';
import { requestId } from './request-log.js';

/** An event as readers return it: [seq, tick, tid, kind, a, b, c, d, data]. */
export type Row = readonly [number, number, number, number, number, number, number, number, Uint8Array | null];

export interface RequestSummary {
  /** Identity across runs: task name and per-task request number, e.g. `monitor:3`. */
  id: string;
  task: string;
  op: string;
  addr: number;
  len: number;
  flags: number;
  /** Bytes returned, or -errno; null if the request never ended (incomplete run). */
  result: number | null;
  dataHash: string | null;
  data: Uint8Array | null;
  firstSeq: number;
  lastSeq: number | null;
  /** Ticks the task spent blocked during the request, and on which wait classes. */
  waitTicks: number;
  waitedOn: Record<string, number>;
}

export interface RunAggregates {
  events: number;
  ticks: number;
  byKind: Record<string, number>;
  /** `class/mode` -> acquisitions, e.g. `mmap_lock/read`. */
  lockAcquisitions: Record<string, number>;
  /** `class/mode` -> acquisitions that had to wait. */
  lockContended: Record<string, number>;
  /** Task name -> ticks blocked (locks, completions, RCU), excluding voluntary sleeps. */
  waitTicksByTask: Record<string, number>;
  /** Page-table entry reads by level name. */
  pgtableReads: Record<string, number>;
  folioGets: number;
  folioPuts: number;
  bytesCopied: number;
  warnings: number;
  useAfterFree: number;
  deadlocks: number;
  requests: RequestSummary[];
}

const MODE = ['read', 'write'];
const LEVEL = ['', 'pte', 'pmd', 'pud', 'pgd'];

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/**
 * Aggregates the rows of one run, fed one row at a time (so that a diff can feed it from the same
 * read of the log as its other passes). `names` maps interned ids to text, `tasks` tids to task
 * names, `kindName` kind numbers to names (from the file's own vocabulary).
 */
export class Aggregator {
  private readonly agg: RunAggregates = {
    events: 0, ticks: 0, byKind: {}, lockAcquisitions: {}, lockContended: {}, waitTicksByTask: {},
    pgtableReads: {}, folioGets: 0, folioPuts: 0, bytesCopied: 0, warnings: 0, useAfterFree: 0, deadlocks: 0,
    requests: [],
  };
  /**
   * Events per kind number, and the kinds in order of first appearance: byKind is built from them
   * at the end, in the same key order as counting by name row by row, without a name lookup and a
   * string-keyed update per row.
   */
  private readonly kindCounts: number[] = [];
  private readonly kindsSeen: number[] = [];
  private readonly blockedAt = new Map<number, { tick: number; on: string; killable: boolean }>();
  private readonly openRequest = new Map<number, RequestSummary>();

  constructor(
    private readonly names: readonly string[],
    private readonly tasks: ReadonlyMap<number, string>,
    private readonly kindName: (kind: number) => string,
  ) {}

  private taskName(tid: number): string {
    return this.tasks.get(tid) ?? `tid${tid}`;
  }

  private endWait(tid: number, tick: number): void {
    const blocked = this.blockedAt.get(tid);
    if (!blocked) return;
    this.blockedAt.delete(tid);
    const waited = tick - blocked.tick;
    bump(this.agg.waitTicksByTask, this.taskName(tid), waited);
    const req = this.openRequest.get(tid);
    if (req) {
      req.waitTicks += waited;
      bump(req.waitedOn, blocked.on, waited);
    }
  }

  private countKind(kind: number): void {
    const n = this.kindCounts[kind];
    if (n === undefined) {
      this.kindsSeen.push(kind);
      this.kindCounts[kind] = 1;
    } else {
      this.kindCounts[kind] = n + 1;
    }
  }

  add(row: Row): void {
    // Indexed reads, not destructuring: this runs once per event of the run.
    const seq = row[0], tick = row[1], tid = row[2], kind = row[3], a = row[4], b = row[5], c = row[6], d = row[7], data = row[8];
    const { agg, names } = this;
    agg.events++;
    agg.ticks = tick;
    this.countKind(kind);
    switch (kind) {
      case K.rwsem_acquire:
        bump(agg.lockAcquisitions, `${names[b]}/${MODE[c]}`);
        if (d === 2) bump(agg.lockContended, `${names[b]}/${MODE[c]}`);
        break;
      case K.spin_lock:
        bump(agg.lockAcquisitions, `${names[b]}/spin`);
        if (c === 1) bump(agg.lockContended, `${names[b]}/spin`);
        break;
      case K.vma_start_read:
        bump(agg.lockAcquisitions, b === 0 ? 'vma/read' : 'vma/read-failed');
        break;
      case K.vma_start_write:
        bump(agg.lockAcquisitions, 'vma/write');
        if (b === 1) bump(agg.lockContended, 'vma/write');
        break;
      case K.sched_block:
        this.blockedAt.set(tid, { tick, on: names[b] ?? '?', killable: c === 1 });
        break;
      // A wait ends with whatever wakes the task, as in the replay model: a sched_wakeup, the lock
      // being granted by rwsem_wake (no separate wakeup event), or a fatal signal to a killable wait.
      case K.sched_wakeup:
        this.endWait(a, tick);
        break;
      case K.rwsem_wake:
        for (const woken of u32s(data)) this.endWait(woken, tick);
        break;
      case K.signal_send:
        if (this.blockedAt.get(a)?.killable) this.endWait(a, tick);
        break;
      case K.pgtable_read:
        bump(agg.pgtableReads, LEVEL[a] ?? String(a));
        break;
      case K.folio_get:
      case K.folio_try_get:
        agg.folioGets++;
        break;
      case K.folio_put:
        agg.folioPuts++;
        break;
      case K.copy:
        agg.bytesCopied += b;
        break;
      case K.warn:
        agg.warnings++;
        break;
      case K.use_after_free:
        agg.useAfterFree++;
        break;
      case K.deadlock:
        agg.deadlocks++;
        break;
      case K.request_begin: {
        const task = this.taskName(tid);
        const r: RequestSummary = {
          id: requestId(task, a), task, op: names[b] ?? '?', addr: c, len: d, flags: 0,
          result: null, dataHash: null, data: null, firstSeq: seq, lastSeq: null, waitTicks: 0, waitedOn: {},
        };
        this.openRequest.set(tid, r);
        agg.requests.push(r);
        break;
      }
      case K.request_end: {
        const r = this.openRequest.get(tid);
        if (r) {
          this.openRequest.delete(tid);
          r.result = b;
          r.flags = d;
          r.data = data ? new Uint8Array(data) : new Uint8Array(0);
          r.dataHash = hashHex(c);
          r.lastSeq = seq;
        }
        break;
      }
    }
  }

  /** The aggregates of the rows added so far. */
  result(): RunAggregates {
    const byKind: Record<string, number> = {};
    for (const kind of this.kindsSeen) bump(byKind, this.kindName(kind), this.kindCounts[kind]!);
    this.agg.byKind = byKind;
    return this.agg;
  }
}

/** Aggregate the rows of one run (see Aggregator). */
export function aggregate(
  rows: Iterable<Row>,
  names: readonly string[],
  tasks: ReadonlyMap<number, string>,
  kindName: (kind: number) => string,
): RunAggregates {
  const agg = new Aggregator(names, tasks, kindName);
  for (const row of rows) agg.add(row);
  return agg.result();
}

/** Percentile of a sorted-ascending list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
