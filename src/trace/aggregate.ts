/**
 * One pass over a run's events: per-request results and waits, lock acquisitions by class and mode,
 * page-table steps by level, folio references, bytes copied. Works on any recorded run through the
 * vocabulary alone (the log is self-describing): it knows event kinds, not VMAs.
 */
import { hashHex } from './hash.js';
import { K, u32s } from './events.js';

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
 * Aggregate the rows of one run. `names` maps interned ids to text, `tasks` tids to task names,
 * `kindName` kind numbers to names (from the file's own vocabulary).
 */
export function aggregate(
  rows: Iterable<Row>,
  names: readonly string[],
  tasks: ReadonlyMap<number, string>,
  kindName: (kind: number) => string,
): RunAggregates {
  const agg: RunAggregates = {
    events: 0, ticks: 0, byKind: {}, lockAcquisitions: {}, lockContended: {}, waitTicksByTask: {},
    pgtableReads: {}, folioGets: 0, folioPuts: 0, bytesCopied: 0, warnings: 0, useAfterFree: 0, deadlocks: 0,
    requests: [],
  };
  const blockedAt = new Map<number, { tick: number; on: string; killable: boolean }>();
  const openRequest = new Map<number, RequestSummary>();
  const taskName = (tid: number) => tasks.get(tid) ?? `tid${tid}`;
  const endWait = (tid: number, tick: number) => {
    const blocked = blockedAt.get(tid);
    if (!blocked) return;
    blockedAt.delete(tid);
    const waited = tick - blocked.tick;
    bump(agg.waitTicksByTask, taskName(tid), waited);
    const req = openRequest.get(tid);
    if (req) {
      req.waitTicks += waited;
      bump(req.waitedOn, blocked.on, waited);
    }
  };
  for (const [seq, tick, tid, kind, a, b, c, d, data] of rows) {
    agg.events++;
    agg.ticks = tick;
    bump(agg.byKind, kindName(kind));
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
        blockedAt.set(tid, { tick, on: names[b] ?? '?', killable: c === 1 });
        break;
      // A wait ends with whatever wakes the task, as in the replay model: a sched_wakeup, the lock
      // being granted by rwsem_wake (no separate wakeup event), or a fatal signal to a killable wait.
      case K.sched_wakeup:
        endWait(a, tick);
        break;
      case K.rwsem_wake:
        for (const woken of u32s(data)) endWait(woken, tick);
        break;
      case K.signal_send:
        if (blockedAt.get(a)?.killable) endWait(a, tick);
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
        const r: RequestSummary = {
          id: `${taskName(tid)}:${a}`, task: taskName(tid), op: names[b] ?? '?', addr: c, len: d, flags: 0,
          result: null, dataHash: null, data: null, firstSeq: seq, lastSeq: null, waitTicks: 0, waitedOn: {},
        };
        openRequest.set(tid, r);
        agg.requests.push(r);
        break;
      }
      case K.request_end: {
        const r = openRequest.get(tid);
        if (r) {
          openRequest.delete(tid);
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
  return agg;
}

/** Percentile of a sorted-ascending list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
