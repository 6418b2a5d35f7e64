/**
 * Test harness for kernel-semantics tests: run an ad-hoc workload (or a registered one) on a fresh
 * emulated kernel, keep every event in memory, and query the trace by kind name, task and interned
 * name. Everything is deterministic: the strategy is seeded, and names/ids are dense per run.
 */
import { entry_pfn } from '../../src/linux/arch/x86/include/pgtable_types.js';
import type { KernelConfig } from '../../src/linux/kernel.js';
import { tables } from '../../src/linux/mm/mm_types.js';
import { PctStrategy, RandomStrategy, type Strategy } from '../../src/sim/strategy.js';
import type { Gen } from '../../src/sim/task.js';
import type { EventSink } from '../../src/trace/sink.js';
import {
  decode, kindByName, type EventOf, type KindName, type TraceEvent,
} from '../../src/trace/vocab/index.js';
import { runWorkload, type RunResult } from '../../src/workloads/runner.js';
import type { ParamValue, Workload, WorkloadContext } from '../../src/workloads/workload.js';

/** The pfn of the page table `id`, just allocated (the sink sees its event inside the run). */
function pfnOfTable(id: number): number {
  for (const t of tables().values()) if (t.id === id) return t.pfn;
  throw new Error(`page table ${id} is not in the kernel's registry`);
}

/** An event as tests read it: decoded by the vocabulary, fields by name. */
export type Ev = TraceEvent;

/**
 * An EventSink that keeps everything, decoded as it arrives (a name is always interned before the
 * first event that carries it, so the names table is complete for each event).
 */
export class MemorySink implements EventSink {
  readonly events: Ev[] = [];
  readonly names = new Map<number, string>();
  readonly ids = new Map<string, number>();
  readonly tasks = new Map<number, { name: string; daemon: boolean }>();
  /**
   * The pfn of every page table the run allocated, read off the kernel at its pgtable_alloc (a
   * freed table leaves the kernel's registry once no walker can reach it: pgtable.ts FreedTables).
   */
  readonly tablePfns = new Set<number>();
  private readonly nameList: string[] = [''];

  event(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    const e = decode([seq, tick, tid, kind, a, b, c, d, data?.slice()], this.nameList);
    if (e.kind === 'pgtable_alloc') this.tablePfns.add(pfnOfTable(e.table));
    this.events.push(e);
  }

  name(id: number, text: string): void {
    this.names.set(id, text);
    this.ids.set(text, id);
    this.nameList[id] = text;
  }

  task(tid: number, name: string, daemon: boolean): void {
    this.tasks.set(tid, { name, daemon });
  }
}

export interface RunOpts {
  seed?: number;
  /** 'random' (default) or a PCT depth. */
  strategy?: 'random' | { pct: number; steps?: number };
  config?: Partial<KernelConfig>;
  params?: Record<string, ParamValue>;
  maxEvents?: number;
  /** The access path (default gup) and the fast path's variant switches. */
  path?: 'gup' | 'fast';
  variant?: string[];
}

/** One request as tests look at it. */
export interface Req {
  op: string;
  addr: number;
  /** Bytes returned, or -errno. */
  result: number;
  data: Uint8Array;
  begin: number;
  end: number;
  /** Events from begin to end. */
  events: number;
  /** Is the event inside the request? */
  inside: (e: Ev) => boolean;
}

/** A finished run: its result and its trace, with queries. */
export class Trace {
  constructor(readonly result: RunResult, readonly sink: MemorySink) {}

  get events(): readonly Ev[] {
    return this.sink.events;
  }

  /** The text of an interned name id (throws if the id was never interned). */
  name(id: number): string {
    const t = this.sink.names.get(id);
    if (t === undefined) throw new Error(`name id ${id} was never interned`);
    return t;
  }

  /** The id a text was interned under in this run (undefined if never used). */
  nameId(text: string): number | undefined {
    return this.sink.ids.get(text);
  }

  kindName(e: Ev): string {
    return e.kind;
  }

  /** The tid of the (unique) task called `taskName`. */
  tid(taskName: string): number {
    const tids = [...this.sink.tasks].filter(([, t]) => t.name === taskName).map(([tid]) => tid);
    if (tids.length !== 1) throw new Error(`expected one task named ${taskName}, found ${tids.length}`);
    return tids[0]!;
  }

  taskName(tid: number): string {
    return this.sink.tasks.get(tid)?.name ?? `tid${tid}`;
  }

  /** Events of a kind, optionally of one task (by name or tid), optionally filtered. */
  of<N extends KindName>(kind: N, task?: string | number, pred?: (e: EventOf<N>) => boolean): EventOf<N>[] {
    const tid = task === undefined ? undefined : typeof task === 'number' ? task : this.tid(task);
    const out: EventOf<N>[] = [];
    for (const e of this.sink.events) {
      if (e.kind !== kind || (tid !== undefined && e.tid !== tid)) continue;
      const ofKind = e as unknown as EventOf<N>;
      if (!pred || pred(ofKind)) out.push(ofKind);
    }
    return out;
  }

  /** Is the event of this kind? (narrows it) */
  is<N extends KindName>(e: Ev, kind: N): e is Ev & EventOf<N> {
    return e.kind === kind;
  }

  /** Events of one task, in order. */
  byTask(task: string | number): Ev[] {
    const tid = typeof task === 'number' ? task : this.tid(task);
    return this.sink.events.filter((e) => e.tid === tid);
  }

  /** The first event of a kind after seq `after` (optionally of a task / matching pred). */
  next<N extends KindName>(kind: N, after: number, task?: string | number, pred?: (e: EventOf<N>) => boolean): EventOf<N> | undefined {
    return this.of(kind, task, pred).find((e) => e.seq > after);
  }

  /** Events with after < seq < before. */
  between(after: number, before: number): Ev[] {
    return this.sink.events.filter((e) => e.seq > after && e.seq < before);
  }

  /**
   * Is page-table entry value `v` a leaf (it maps a page: a folio or the zero page) rather than a
   * pointer to a page table? Decided from the run's own page-table pages (by pfn), so it does not
   * depend on which level or table id an event reports.
   */
  isLeafEntry(v: number): boolean {
    return v !== 0 && !this.sink.tablePfns.has(entry_pfn(v));
  }

  /** A task's requests, begin to end, in order (every request of an ended run has ended). */
  requests(task: string): Req[] {
    const begins = this.of('request_begin', task);
    const ends = this.of('request_end', task);
    if (ends.length !== begins.length) throw new Error(`${task}: ${begins.length} requests began, ${ends.length} ended`);
    return begins.map((b, i) => {
      const e = ends[i]!;
      return {
        op: b.op, addr: b.addr, result: e.result, data: e.data ?? new Uint8Array(0),
        begin: b.seq, end: e.seq, events: e.seq - b.seq, inside: (x: Ev) => x.seq > b.seq && x.seq < e.seq,
      };
    });
  }

  /** A pgtable_set that cleared a leaf entry (a PTE zap: value 0, old mapped a page). */
  isZap(e: Ev): boolean {
    return e.kind === 'pgtable_set' && e.value === 0 && this.isLeafEntry(e.old);
  }

  /** A pgtable_set that installed a leaf entry. */
  isMap(e: Ev): boolean {
    return e.kind === 'pgtable_set' && this.isLeafEntry(e.value);
  }

  /** A compact, readable dump (for debugging a failing test). */
  dump(from = 0, to = Infinity): string {
    return this.sink.events
      .filter((e) => e.seq >= from && e.seq <= to)
      .map((e) => {
        const fields = kindByName(e.kind)?.fields ?? [];
        const vals = fields.map((f) => `${f}=${String((e as unknown as Record<string, unknown>)[f])}`);
        return `${e.seq} t${e.tick} ${this.taskName(e.tid)} ${e.kind} ${vals.join(' ')}`;
      })
      .join('\n');
  }
}

function makeStrategy(seed: number, s: RunOpts['strategy']): Strategy {
  if (s === undefined || s === 'random') return new RandomStrategy(seed);
  return new PctStrategy(seed, s.pct, s.steps ?? 20_000);
}

/**
 * Parameters that make every workload small enough to run on many seeds in a second or two: only
 * `scale` needs any (its defaults make some 2 million events a run).
 */
export const SMALL_PARAMS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  scale: { threads: '2', iterations: '20', monitors: '1', reads: '20' },
};

/** Run a workload (registered or ad hoc) and keep its trace. */
export function runTrace(workload: Workload, opts: RunOpts = {}): Trace {
  const seed = opts.seed ?? 1;
  const sink = new MemorySink();
  const params: Record<string, ParamValue> = {};
  for (const [k, spec] of Object.entries(workload.params)) params[k] = spec.default;
  Object.assign(params, opts.params ?? {});
  const result = runWorkload({
    workload,
    params,
    path: opts.path ?? 'gup',
    variant: opts.variant ?? [],
    seed,
    strategy: makeStrategy(seed, opts.strategy),
    config: opts.config,
    sink,
    maxEvents: opts.maxEvents ?? 2_000_000,
  });
  return new Trace(result, sink);
}

/** Run an ad-hoc workload whose boot (the `init` task) spawns the tasks under test. */
export function runBoot(boot: (ctx: WorkloadContext) => Gen, opts: RunOpts = {}): Trace {
  const workload: Workload = { name: 'adhoc', description: 'test', params: {}, boot };
  return runTrace(workload, opts);
}
