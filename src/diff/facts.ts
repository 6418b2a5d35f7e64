/**
 * What a semantic diff needs to know about one run, gathered in one pass over its events: every
 * request's result and bytes, where each request's copies came from (which VMA and file, which
 * folio, whether it was a page-cache folio, whether the address space changed between two of its
 * copies), its fallbacks, its software aging of folios and page-table entries, whether its task was
 * being killed, and the run's check events. Works from the log alone.
 */
import { entry_present, pte_young } from '../linux/arch/x86/include/pgtable_types.js';
import { toDoc } from '../replay/doc.js';
import { project, runContext } from '../replay/projection.js';
import type { StateDoc } from '../replay/state.js';
import { Aggregator, type RequestSummary, type Row, type RunAggregates } from '../trace/aggregate.js';
import { K } from '../trace/events.js';
import type { RunInfo, Trace } from '../trace/reader.js';
import { requestId } from '../trace/request-log.js';

/** What the aggregates know of a request, and what the facts pass adds. */
type RequestBasics = Pick<RequestSummary, 'id' | 'op' | 'addr' | 'len' | 'flags' | 'result' | 'dataHash' | 'data' | 'waitTicks'>;

/** The VMA a copy read through, as it was at the copy. */
export interface VmaAtCopy {
  start: number;
  end: number;
  /** The mapped file's name, null for anonymous memory. */
  file: string | null;
  pgoff: number;
  /** Seq of its vma_create: tells apart two VMAs that had the same range at different times. */
  createdAt: number;
}

/** One copy from the target into the kernel's buffer (`copy` event). */
export interface CopyFacts {
  seq: number;
  /** Target user address and length. */
  addr: number;
  len: number;
  /** Source folio: 0 the zero page, -1 an I/O (->access) handler. */
  folio: number;
  fromPageCache: boolean;
  /** FNV-1a of the bytes copied: lets the diff find where in the returned buffer they ended up. */
  hash: number;
  /** The VMA of the target's mm covering addr at the copy; null if none was attached there. */
  vma: VmaAtCopy | null;
}

export interface RequestFacts extends RequestBasics {
  copies: CopyFacts[];
  /**
   * VMAs of the target's mm created, changed or detached by anyone between two copies of one
   * __access_remote_vm call (mainline holds mmap_lock across a call, so there a call never sees
   * the address space change).
   */
  vmaChangesBetweenCopies: number;
  /** Where and why the fast path handed over to mmap_lock. */
  fallbacks: { addr: number; copied: number; reason: string }[];
  /** folio_mark_accessed calls the request made (GUP's FOLL_TOUCH, the touch variant). */
  markedAccessed: number;
  /**
   * Present, old page-table entries the request made young (touch_pmd's pmd_mkyoung where
   * pmdp_set_access_flags writes it: FOLL_TOUCH on a PMD-mapped THP, with accessFlagsGeneric).
   */
  madeYoung: number;
  /**
   * The task had a fatal signal pending when the request returned: it dies on its way back to
   * user space, so no one sees what the request returned.
   */
  killed: boolean;
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
const SIGKILL = 9;

/** An entry that was present and old and is now young (pmd_mkyoung / pte_mkyoung). */
function madeYoung(old: number, now: number): boolean {
  return entry_present(old) && !pte_young(old) && pte_young(now);
}

export function isFollAnon(flags: number): boolean {
  return (flags & FOLL_ANON) !== 0;
}

/** What the facts pass adds to a request; the rest comes from the aggregates. */
type RequestExtras = Omit<RequestFacts, keyof RequestBasics>;

const noExtras = (): RequestExtras => ({ copies: [], vmaChangesBetweenCopies: 0, fallbacks: [], markedAccessed: 0, madeYoung: 0, killed: false });

interface VmaRecord extends VmaAtCopy {
  mm: number;
}

/**
 * The VMAs of every mm, followed through their events, so that a copy can name the VMA it read
 * through. A VMA id is a slab object that may be reused (vma_create starts it afresh).
 */
class VmaTracker {
  private readonly byId = new Map<number, VmaRecord>();
  /** Attached VMAs per mm: what a lookup of an address in that mm can find. */
  private readonly attached = new Map<number, Set<VmaRecord>>();

  create(vma: number, mm: number, start: number, end: number, seq: number): void {
    this.detach(vma);
    this.byId.set(vma, { mm, start, end, file: null, pgoff: 0, createdAt: seq });
  }

  init(vma: number, file: string | null, pgoff: number): void {
    const v = this.byId.get(vma);
    if (v) Object.assign(v, { file, pgoff });
  }

  adjust(vma: number, start: number, end: number, pgoff?: number): void {
    const v = this.byId.get(vma);
    if (v) Object.assign(v, { start, end }, pgoff === undefined ? {} : { pgoff });
  }

  attach(vma: number): void {
    const v = this.byId.get(vma);
    if (!v) return;
    let set = this.attached.get(v.mm);
    if (!set) this.attached.set(v.mm, (set = new Set()));
    set.add(v);
  }

  detach(vma: number): void {
    const v = this.byId.get(vma);
    if (v) this.attached.get(v.mm)?.delete(v);
  }

  mmOf(vma: number): number | undefined {
    return this.byId.get(vma)?.mm;
  }

  /** The attached VMA of `mm` covering addr, as it is now (a copy, so later changes don't show). */
  at(mm: number, addr: number): VmaAtCopy | null {
    for (const v of this.attached.get(mm) ?? []) {
      if (v.start <= addr && addr < v.end) return { start: v.start, end: v.end, file: v.file, pgoff: v.pgoff, createdAt: v.createdAt };
    }
    return null;
  }
}

/** Takes a run's rows one at a time (the diff feeds it from the same read as the other passes). */
export interface FactsCollector {
  add(row: Row): void;
  /** The facts, once every row is in, given the run's aggregates from the same rows. */
  finish(aggregates: RunAggregates): RunFacts;
}

/** The facts of `run` from its rows: one read of its log (see collectFacts). */
export function runFacts(trace: Trace, run: RunInfo): RunFacts {
  const facts = collectFacts(trace, run);
  const aggregator = runAggregator(trace, run);
  readRun(trace, run, (row) => {
    facts.add(row);
    aggregator.add(row);
  });
  return facts.finish(aggregator.result());
}

/** An Aggregator that names things as the run does. */
export function runAggregator(trace: Trace, run: RunInfo): Aggregator {
  const { names, taskNames } = runContext(trace, run.id);
  const kinds = new Map(trace.kinds().map((k) => [k.kind, k.name]));
  return new Aggregator(names, taskNames, (k) => kinds.get(k) ?? `kind${k}`);
}

/**
 * Every row of the run to `add`, in order: plain loops over the reader's chunks (no generator per
 * row). `onChunk`: told the rows read so far after each chunk (progress).
 */
export function readRun(trace: Trace, run: RunInfo, add: (row: Row) => void, onChunk?: (rowsRead: number) => void): void {
  let rowsRead = 0;
  for (const chunk of trace.eventChunks(run.id) as Iterable<Row[]>) {
    for (const row of chunk) add(row);
    rowsRead += chunk.length;
    onChunk?.(rowsRead);
  }
}

export function collectFacts(trace: Trace, run: RunInfo): FactsCollector {
  const { names, taskNames } = runContext(trace, run.id);
  const extras = new Map<string, RequestExtras>();
  const open = new Map<number, RequestExtras>(); // tid -> request in flight
  const pageCache = new Set<number>();
  const vmas = new VmaTracker();
  // The mm each request in flight reads: the one whose mmap_lock or VMA lock it last took.
  const targetMm = new Map<RequestExtras, number>();
  const killed = new Set<number>(); // tids with SIGKILL pending
  // Per request in flight, within its current __access_remote_vm call: copies so far, and VMA
  // changes since the last of them.
  const inCall = new Map<RequestExtras, { copies: number; changes: number }>();
  const ACCESS = names.indexOf('__access_remote_vm');
  const checks: RunFacts['checks'] = { warnings: [], useAfterFree: [], kernelFaults: [], deadlock: false };
  const taskName = (tid: number) => taskNames.get(tid) ?? `tid${tid}`;
  // A VMA of `mm` changed: a hazard for the calls in flight that read that mm (or an mm not known).
  const vmaChanged = (mm: number | undefined) => {
    for (const [r, call] of inCall) {
      const reads = targetMm.get(r);
      if (call.copies > 0 && (mm === undefined || reads === undefined || reads === mm)) call.changes++;
    }
  };
  const readsMm = (tid: number, mm: number | undefined) => {
    const r = open.get(tid);
    if (r && mm !== undefined) targetMm.set(r, mm);
  };

  const see = ([seq, , tid, kind, a, b, c, d]: Row) => {
    switch (kind) {
      case K.request_begin: {
        const r = noExtras();
        extras.set(requestId(taskName(tid), a), r);
        open.set(tid, r);
        break;
      }
      case K.request_end: {
        const r = open.get(tid);
        if (r) {
          r.killed = killed.has(tid);
          inCall.delete(r);
          targetMm.delete(r);
        }
        open.delete(tid);
        break;
      }
      case K.call_enter: {
        const r = open.get(tid);
        if (r && a === ACCESS) inCall.set(r, { copies: 0, changes: 0 });
        break;
      }
      case K.mmap_lock_start_locking:
        readsMm(tid, a);
        break;
      case K.vma_start_read:
        if (b === 0) readsMm(tid, vmas.mmOf(a));
        break;
      case K.vma_start_read_locked:
        readsMm(tid, vmas.mmOf(a));
        break;
      case K.copy: {
        const r = open.get(tid);
        if (!r) break;
        const call = inCall.get(r);
        if (call) {
          if (call.copies > 0) r.vmaChangesBetweenCopies += call.changes;
          call.copies++;
          call.changes = 0;
        }
        const mm = targetMm.get(r);
        const vma = mm === undefined ? null : vmas.at(mm, a);
        r.copies.push({ seq, addr: a, len: b, folio: c, fromPageCache: pageCache.has(c), hash: d, vma });
        break;
      }
      case K.vma_create:
        vmas.create(a, b, c, d, seq);
        vmaChanged(b);
        break;
      case K.vma_init:
        vmas.init(a, c === 0 ? null : names[c] ?? '?', d);
        break;
      case K.vma_mark_attached:
        vmas.adjust(a, b, c);
        vmas.attach(a);
        vmaChanged(vmas.mmOf(a));
        break;
      case K.vma_mark_detached:
        vmas.detach(a);
        vmaChanged(vmas.mmOf(a));
        break;
      case K.vma_adjust:
        vmas.adjust(a, b, c, d);
        vmaChanged(vmas.mmOf(a));
        break;
      case K.vma_flags:
        vmaChanged(vmas.mmOf(a));
        break;
      case K.vma_free:
        vmas.detach(a);
        break;
      case K.pgtable_set: {
        const r = open.get(tid);
        if (r && madeYoung(d, c)) r.madeYoung++;
        break;
      }
      case K.signal_send:
        if (b === SIGKILL) killed.add(a);
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
        checks.kernelFaults.push(names[a] ?? '?');
        break;
      case K.deadlock:
        checks.deadlock = true;
        break;
    }
  };
  const finish = (aggregates: RunAggregates): RunFacts => {
    const requests = new Map<string, RequestFacts>();
    for (const r of aggregates.requests) {
      const more = extras.get(r.id) ?? noExtras();
      requests.set(r.id, {
        id: r.id, op: r.op, addr: r.addr, len: r.len, flags: r.flags, result: r.result, dataHash: r.dataHash,
        data: r.data, waitTicks: r.waitTicks, ...more,
      });
    }
    const final = toDoc(project(trace, run, run.events).model);
    return { run, requests, aggregates, checks, final };
  };
  return { add: see, finish };
}
