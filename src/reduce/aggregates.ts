/**
 * A run's aggregates, from the shared reducers and one pass over its events: per-request results
 * and waits, lock acquisitions by class and mode, page-table reads by level, folio references,
 * bytes copied, check events. Works on any recorded run through the vocabulary alone.
 */
import { kindByName, KINDS, type EnumDef } from '../trace/vocab/index.js';
import { reducerOf, type ColumnReducer, type Reducer } from './reducer.js';
import { slotAt, type EventBlock, type RunInfo, type Trace } from '../trace/reader.js';
import { readRun, runNames, taskName, type RunNames } from './read-run.js';
import { Requests, type RequestRecord } from './requests.js';
import { WaitClock } from './wait-clock.js';

export type RequestSummary = RequestRecord;

export interface RunAggregates {
  events: number;
  ticks: number;
  byKind: Record<string, number>;
  /** `class/mode` -> acquisitions, e.g. `mmap_lock/read`. */
  lockAcquisitions: Record<string, number>;
  /** `class/mode` -> acquisitions that had to wait. */
  lockContended: Record<string, number>;
  /** Task name -> ticks waited (wait-clock.ts: blocked until woken; timed sleeps are not waits). */
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

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/**
 * Counts by key, in the order the keys first come (the record() a RunAggregates reports). A Map
 * of counters rather than bump() on the record itself: adding to a record by a varying key is a
 * megamorphic keyed load and store on a dictionary object, and the page-table reads and the locks
 * taken are hundreds of thousands of additions a run; here each is one Map lookup.
 */
class Tally {
  private readonly byKey = new Map<string, { n: number }>();

  add(key: string, by = 1): void {
    const counter = this.byKey.get(key);
    if (counter) counter.n += by;
    else this.byKey.set(key, { n: by });
  }

  record(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, counter] of this.byKey) out[key] = counter.n;
    return out;
  }
}

/**
 * Counts by a small integer code (a kind, a page-table level), in the order the codes first come:
 * one array increment per event, named only in record().
 */
class CodeTally {
  private readonly counts: number[] = [];
  private readonly order: number[] = [];

  add(code: number): void {
    const n = this.counts[code];
    if (n === undefined) {
      this.counts[code] = 1;
      this.order.push(code);
    } else {
      this.counts[code] = n + 1;
    }
  }

  record(nameOf: (code: number) => string): Record<string, number> {
    const out: Record<string, number> = {};
    // codes may share a name (every kind this build does not know is `unknown`): their counts add
    for (const code of this.order) {
      const name = nameOf(code);
      out[name] = (out[name] ?? 0) + this.counts[code]!;
    }
    return out;
  }
}

/** Kind names by code; a code this build does not know counts as `unknown` (as the decoder names it). */
const KIND_NAMES: string[] = [];
for (const k of KINDS) KIND_NAMES[k.kind] = k.name;
const kindName = (code: number): string => KIND_NAMES[code] ?? 'unknown';

/** pgtable_read's code, and where its level is stored (an enum code) and named. */
const PGTABLE_READ = kindByName('pgtable_read')!;
const LEVEL_SLOT = PGTABLE_READ.fields.indexOf('level');
const LEVELS = PGTABLE_READ.types[LEVEL_SLOT] as EnumDef;
const levelName = (code: number): string => LEVELS.name(code);

/**
 * The aggregates of one run. Its wait clock and request tracker are reducers of their own, fed
 * before it, and so are its counts of the kinds it looks into (`counts`): `reducers()` lists them
 * in that order for readRun(). It counts every event by kind from the columns (a column reducer),
 * so that counting does not make the dispatch decode every event.
 */
export class Aggregator implements ColumnReducer {
  readonly waits = new WaitClock();
  readonly requests: Requests;
  private readonly agg: RunAggregates = {
    events: 0, ticks: 0, byKind: {}, lockAcquisitions: {}, lockContended: {}, waitTicksByTask: {},
    pgtableReads: {}, folioGets: 0, folioPuts: 0, bytesCopied: 0, warnings: 0, useAfterFree: 0, deadlocks: 0,
    requests: [],
  };
  /** Events by kind code. */
  private readonly kinds = new CodeTally();
  /** Page-table entry reads by level code: a fifth of a run's events, counted without decoding them. */
  private readonly levels = new CodeTally();
  private readonly lockKeys = new Map<string, Map<string, string>>();
  /** What result() reports as lockAcquisitions, lockContended, pgtableReads and waitTicksByTask. */
  private readonly locks = new Tally();
  private readonly contended = new Tally();
  private readonly waitTicks = new Tally();
  /** The tick of the last event counted: the run's ticks (result()). */
  private lastTick = 0;
  /** The counts each kind adds to, by kind code (one function per kind, no switch on `e.kind`). */
  private readonly counts = reducerOf({
    rwsem_acquire: (e) => {
      this.acquired(this.lockKey(e.class, e.mode), e.how === 'woken');
    },
    spin_lock: (e) => {
      this.acquired(this.lockKey(e.class, 'spin'), e.waited);
    },
    vma_start_read: (e) => {
      this.locks.add(e.result === 'ok' ? 'vma/read' : 'vma/read-failed');
    },
    vma_start_write: (e) => {
      this.acquired('vma/write', e.waited);
    },
    folio_get: () => this.agg.folioGets++,
    folio_try_get: () => this.agg.folioGets++,
    folio_put: () => this.agg.folioPuts++,
    copy: (e) => {
      this.agg.bytesCopied += e.len;
    },
    warn: () => this.agg.warnings++,
    use_after_free: () => this.agg.useAfterFree++,
    deadlock: () => this.agg.deadlocks++,
  });

  constructor(private readonly names: RunNames, requests?: Requests) {
    this.requests = requests ?? new Requests(names);
    this.agg.requests = this.requests.all;
    this.waits.onWaitEnd((w) => {
      this.waitTicks.add(taskName(this.names, w.tid), w.ticks);
      const r = this.requests.inFlight(w.tid);
      if (r) {
        r.waitTicks += w.ticks;
        bump(r.waitedOn, w.wait, w.ticks);
      }
    });
  }

  /** The reducers to feed, in order: the wait clock and requests first, then the counts. */
  reducers(): (Reducer | ColumnReducer)[] {
    return [this.waits, this.requests, this.counts, this];
  }

  column(block: EventBlock, i: number, code: number): void {
    this.agg.events++;
    this.lastTick = block.tick[i]!;
    this.kinds.add(code);
    if (code === PGTABLE_READ.kind) this.levels.add(slotAt(block, i, LEVEL_SLOT));
  }

  /** One acquisition of the lock `key`, which had to wait when `contended`. */
  private acquired(key: string, contended: boolean): void {
    this.locks.add(key);
    if (contended) this.contended.add(key);
  }

  /** `class/mode` (`mmap_lock/read`), built once per pair: a lock event is among the most frequent. */
  private lockKey(cls: string, mode: string): string {
    let byMode = this.lockKeys.get(cls);
    if (!byMode) this.lockKeys.set(cls, (byMode = new Map()));
    let key = byMode.get(mode);
    if (key === undefined) byMode.set(mode, (key = `${cls}/${mode}`));
    return key;
  }

  /** The aggregates of the events fed so far. */
  result(): RunAggregates {
    if (this.agg.events > 0) this.agg.ticks = this.lastTick;
    this.agg.lockAcquisitions = this.locks.record();
    this.agg.lockContended = this.contended.record();
    this.agg.pgtableReads = this.levels.record(levelName);
    this.agg.waitTicksByTask = this.waitTicks.record();
    this.agg.byKind = this.kinds.record(kindName);
    return this.agg;
  }
}

/** Percentile of a sorted-ascending list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The aggregates of a recorded run: one readRun() pass. */
export function aggregateRun(trace: Trace, run: RunInfo): RunAggregates {
  const aggregator = new Aggregator(runNames(trace, run.id));
  readRun(trace, run, aggregator.reducers());
  return aggregator.result();
}
