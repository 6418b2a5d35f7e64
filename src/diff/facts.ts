/**
 * What a semantic diff needs to know about one run, gathered in one pass over its events: every
 * request's result and bytes, where each request's copies came from (which folio, whether it was a
 * page-cache folio, whether the address space changed between two of its copies), its fallbacks,
 * its software aging of folios, and the run's check events. Works from the log alone.
 */
import { toDoc } from '../replay/model.js';
import { project } from '../replay/projection.js';
import type { StateDoc } from '../replay/state.js';
import { Aggregator, type RequestSummary, type Row, type RunAggregates } from '../trace/aggregate.js';
import { K } from '../trace/events.js';
import type { RunInfo, Trace } from '../trace/reader.js';

/** What the aggregates know of a request, and what the facts pass adds. */
type RequestBasics = Pick<RequestSummary, 'id' | 'op' | 'addr' | 'len' | 'flags' | 'result' | 'dataHash' | 'data' | 'waitTicks'>;

export interface RequestFacts extends RequestBasics {
  /** Copies into the caller's buffer: address, length, source folio (0 zero page, -1 I/O). */
  copies: { addr: number; len: number; folio: number; fromPageCache: boolean }[];
  /**
   * VMAs created, changed or detached by anyone between two copies of one __access_remote_vm call
   * (mainline holds mmap_lock across a call, so there a call never sees the address space change).
   */
  vmaChangesBetweenCopies: number;
  /** Where and why the fast path handed over to mmap_lock. */
  fallbacks: { addr: number; copied: number; reason: string }[];
  /** folio_mark_accessed calls the request made (GUP's FOLL_TOUCH, the touch variant). */
  markedAccessed: number;
}

export interface RunFacts {
  run: RunInfo;
  requests: Map<string, RequestFacts>;
  aggregates: RunAggregates;
  checks: { warnings: string[]; useAfterFree: string[]; kernelFaults: string[]; deadlock: boolean };
  /** The emulated state after the run's last event (projection). */
  final: StateDoc;
}

const FOLL_ANON = 0x80;

export function isFollAnon(flags: number): boolean {
  return (flags & FOLL_ANON) !== 0;
}

/** What the facts pass adds to a request; the rest comes from the aggregates. */
type RequestExtras = Omit<RequestFacts, keyof RequestBasics>;

/**
 * `alsoSee`: another consumer of the same rows (the event-stream alignment), so that a diff reads
 * each run's log once.
 */
export function runFacts(trace: Trace, run: RunInfo, alsoSee?: (row: Row) => void): RunFacts {
  const names = trace.names(run.id);
  const taskNames = new Map(trace.tasks(run.id).map((t) => [t.tid, t.name]));
  const kinds = new Map(trace.kinds().map((k) => [k.kind, k.name]));
  const extras = new Map<string, RequestExtras>();
  const open = new Map<number, RequestExtras>(); // tid -> request in flight
  const pageCache = new Set<number>();
  // Per request in flight, within its current __access_remote_vm call: copies so far, and VMA
  // changes since the last of them.
  const inCall = new Map<RequestExtras, { copies: number; changes: number }>();
  const ACCESS = names.indexOf('__access_remote_vm');
  const checks: RunFacts['checks'] = { warnings: [], useAfterFree: [], kernelFaults: [], deadlock: false };
  const taskName = (tid: number) => taskNames.get(tid) ?? `tid${tid}`;

  const see = ([, , tid, kind, a, b, c]: Row) => {
    switch (kind) {
      case K.request_begin: {
        const r: RequestExtras = { copies: [], vmaChangesBetweenCopies: 0, fallbacks: [], markedAccessed: 0 };
        extras.set(`${taskName(tid)}:${a}`, r);
        open.set(tid, r);
        break;
      }
      case K.request_end: {
        const r = open.get(tid);
        if (r) inCall.delete(r);
        open.delete(tid);
        break;
      }
      case K.call_enter: {
        const r = open.get(tid);
        if (r && a === ACCESS) inCall.set(r, { copies: 0, changes: 0 });
        break;
      }
      case K.copy: {
        const r = open.get(tid);
        if (!r) break;
        const call = inCall.get(r);
        if (call) {
          if (call.copies > 0) r.vmaChangesBetweenCopies += call.changes;
          call.copies++;
          call.changes = 0;
        }
        r.copies.push({ addr: a, len: b, folio: c, fromPageCache: pageCache.has(c) });
        break;
      }
      case K.vma_create:
      case K.vma_mark_attached:
      case K.vma_mark_detached:
      case K.vma_adjust:
      case K.vma_flags:
        for (const call of inCall.values()) if (call.copies > 0) call.changes++;
        break;
      case K.page_cache_add:
        pageCache.add(a);
        break;
      case K.folio_free:
        pageCache.delete(a);
        break;
      case K.fast_path_fallback: {
        const r = open.get(tid);
        if (r) r.fallbacks.push({ addr: a, copied: b, reason: names[c] ?? '?' });
        break;
      }
      case K.folio_mark_accessed: {
        const r = open.get(tid);
        if (r) r.markedAccessed++;
        break;
      }
      case K.warn:
        checks.warnings.push(names[a] ?? '?');
        break;
      case K.use_after_free:
        checks.useAfterFree.push(names[a] ?? '?');
        break;
      case K.kernel_fault:
        // A user-mode SIGSEGV is the target's own business, not a kernel fault.
        if (names[a] !== 'SIGSEGV') checks.kernelFaults.push(names[a] ?? '?');
        break;
      case K.deadlock:
        checks.deadlock = true;
        break;
    }
  };
  // One read of the log feeds every pass; plain loops over the reader's chunks (no generator per row).
  const aggregator = new Aggregator(names, taskNames, (k) => kinds.get(k) ?? `kind${k}`);
  for (const chunk of trace.eventChunks(run.id) as Iterable<Row[]>) {
    for (const row of chunk) {
      see(row);
      alsoSee?.(row);
      aggregator.add(row);
    }
  }
  const aggregates = aggregator.result();
  const requests = new Map<string, RequestFacts>();
  for (const r of aggregates.requests) {
    const more = extras.get(r.id) ?? { copies: [], vmaChangesBetweenCopies: 0, fallbacks: [], markedAccessed: 0 };
    requests.set(r.id, {
      id: r.id, op: r.op, addr: r.addr, len: r.len, flags: r.flags, result: r.result, dataHash: r.dataHash,
      data: r.data, waitTicks: r.waitTicks, ...more,
    });
  }
  const final = toDoc(project(trace, run, run.events).model);
  return { run, requests, aggregates, checks, final };
}
