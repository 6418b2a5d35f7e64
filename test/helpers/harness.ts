/**
 * Test harness for kernel-semantics tests: run an ad-hoc workload (or a registered one) on a fresh
 * emulated kernel, keep every event in memory, and query the trace by kind name, task and interned
 * name. Everything is deterministic: the strategy is seeded, and names/ids are dense per run.
 */
import { entry_pfn } from '../../src/linux/arch/x86/include/pgtable_types.js';
import type { KernelConfig } from '../../src/linux/kernel.js';
import { PctStrategy, RandomStrategy, type Strategy } from '../../src/sim/strategy.js';
import type { Gen } from '../../src/sim/task.js';
import { K, type KindName, kindDef, u32s } from '../../src/trace/events.js';
import type { EventSink } from '../../src/trace/sink.js';
import { runWorkload, type RunResult } from '../../src/workloads/runner.js';
import type { ParamValue, Workload, WorkloadContext } from '../../src/workloads/workload.js';

export interface Ev {
  seq: number;
  tick: number;
  tid: number;
  kind: number;
  a: number;
  b: number;
  c: number;
  d: number;
  data: Uint8Array | undefined;
}

/** An EventSink that keeps everything. */
export class MemorySink implements EventSink {
  readonly events: Ev[] = [];
  readonly names = new Map<number, string>();
  readonly ids = new Map<string, number>();
  readonly tasks = new Map<number, { name: string; daemon: boolean }>();

  event(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    this.events.push({ seq, tick, tid, kind, a, b, c, d, data: data?.slice() });
  }

  name(id: number, text: string): void {
    this.names.set(id, text);
    this.ids.set(text, id);
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
    return kindDef(e.kind).name;
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
  of(kind: KindName, task?: string | number, pred?: (e: Ev) => boolean): Ev[] {
    const k = K[kind];
    const tid = task === undefined ? undefined : typeof task === 'number' ? task : this.tid(task);
    return this.sink.events.filter((e) => e.kind === k && (tid === undefined || e.tid === tid) && (!pred || pred(e)));
  }

  /** Events of one task, in order. */
  byTask(task: string | number): Ev[] {
    const tid = typeof task === 'number' ? task : this.tid(task);
    return this.sink.events.filter((e) => e.tid === tid);
  }

  /** The first event of a kind after seq `after` (optionally of a task / matching pred). */
  next(kind: KindName, after: number, task?: string | number, pred?: (e: Ev) => boolean): Ev | undefined {
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
    const tables = this.result.kernel.subsystems.get('pgtables') as Map<number, unknown> | undefined;
    return v !== 0 && !(tables?.has(entry_pfn(v)) ?? false);
  }

  /** A task's requests, begin to end, in order (every request of an ended run has ended). */
  requests(task: string): Req[] {
    const begins = this.of('request_begin', task);
    const ends = this.of('request_end', task);
    if (ends.length !== begins.length) throw new Error(`${task}: ${begins.length} requests began, ${ends.length} ended`);
    return begins.map((b, i) => {
      const e = ends[i]!;
      return {
        op: this.name(b.b), addr: b.c, result: e.b, data: e.data ?? new Uint8Array(0),
        begin: b.seq, end: e.seq, events: e.seq - b.seq, inside: (x: Ev) => x.seq > b.seq && x.seq < e.seq,
      };
    });
  }

  /** The u32 list a blob holds (e.g. the tids an rwsem_wake granted the lock to). */
  u32s(data: Uint8Array | undefined): number[] {
    return u32s(data ?? null);
  }

  /** A pgtable_set that cleared a leaf entry (a PTE zap: value 0, old mapped a page). */
  isZap(e: Ev): boolean {
    return e.kind === K.pgtable_set && e.c === 0 && this.isLeafEntry(e.d);
  }

  /** A pgtable_set that installed a leaf entry. */
  isMap(e: Ev): boolean {
    return e.kind === K.pgtable_set && this.isLeafEntry(e.c);
  }

  /** A compact, readable dump (for debugging a failing test). */
  dump(from = 0, to = Infinity): string {
    return this.sink.events
      .filter((e) => e.seq >= from && e.seq <= to)
      .map((e) => {
        const def = kindDef(e.kind);
        const vals = [e.a, e.b, e.c, e.d].slice(0, def.fields.length).map((v, i) => {
          const f = def.fields[i]!;
          const isName = (def.names as readonly string[] | undefined)?.includes(f);
          return `${f}=${isName ? this.sink.names.get(v) ?? v : v}`;
        });
        return `${e.seq} t${e.tick} ${this.taskName(e.tid)} ${def.name} ${vals.join(' ')}`;
      })
      .join('\n');
  }
}

function makeStrategy(seed: number, s: RunOpts['strategy']): Strategy {
  if (s === undefined || s === 'random') return new RandomStrategy(seed);
  return new PctStrategy(seed, s.pct, s.steps ?? 20_000);
}

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
