/**
 * What a semantic diff needs to know about one run, gathered in one pass over its events: every
 * request's result and bytes, where each request's copies came from (which VMA and file, which
 * folio, whether it was a page-cache folio, whether the address space changed between two of its
 * copies), its fallbacks, its software aging of folios and page-table entries, whether its task was
 * being killed, and the run's check events. Works from the log alone, on the shared reducers: the
 * VMA map names the VMA of each copy, the request tracker pairs requests, the aggregator's wait
 * clock gives each request's waits.
 */
import { toDoc } from '../replay/doc.js';
import { project } from '../replay/projection.js';
import type { StateDoc } from '../replay/state.js';
import { Aggregator, type RequestSummary, type RunAggregates } from '../reduce/aggregates.js';
import { readRun, runNames } from '../reduce/read-run.js';
import { reducerOf, type ColumnReducer, type Reducer } from '../reduce/reducer.js';
import { RequestTargets } from '../reduce/request-targets.js';
import { VmaMap } from '../reduce/vma-map.js';
import type { RunInfo, Trace } from '../trace/reader.js';
import { entryPresent, entryYoung, GupFlags } from '../trace/vocab/index.js';

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

/** An entry that was present and old and is now young (pmd_mkyoung / pte_mkyoung). */
function madeYoung(old: number, now: number): boolean {
  return entryPresent(old) && !entryYoung(old) && entryYoung(now);
}

export function isFollAnon(flags: number): boolean {
  return (flags & GupFlags.bits.FOLL_ANON) !== 0;
}

/** What the facts pass adds to a request; the rest comes from the aggregates. */
type RequestExtras = Omit<RequestFacts, keyof RequestBasics>;

const noExtras = (): RequestExtras => ({ copies: [], vmaChangesBetweenCopies: 0, fallbacks: [], markedAccessed: 0, madeYoung: 0, killed: false });

/** The facts pass of one run: reducers to feed, then the facts. */
export interface FactsCollector {
  /** The reducers to feed, in order (the shared ones first). */
  reducers(): (Reducer | ColumnReducer)[];
  /** The facts, once every event is in. */
  finish(): RunFacts;
}

/** The facts of `run`: one read of its log. */
export function runFacts(trace: Trace, run: RunInfo): RunFacts {
  const facts = collectFacts(trace, run);
  readRun(trace, run, facts.reducers());
  return facts.finish();
}

/** The VMA a copy read through, as it was at the copy (a copy of the record: later changes don't show). */
function vmaAtCopy(vmas: VmaMap, mm: number | undefined, addr: number): VmaAtCopy | null {
  const v = mm === undefined ? undefined : vmas.at(mm, addr);
  return v ? { start: v.start, end: v.end, file: v.file, pgoff: v.pgoff, createdAt: v.createdAt } : null;
}

/** `vmas`: the VMA map to share with other reducers of the same pass (fed first, by reducers()). */
export function collectFacts(trace: Trace, run: RunInfo, vmas = new VmaMap()): FactsCollector {
  const names = runNames(trace, run.id);
  const aggregator = new Aggregator(names);
  const extras = new Map<string, RequestExtras>();
  const open = new Map<number, RequestExtras>(); // tid -> request in flight
  const pageCache = new Set<number>();
  // The mm each request in flight reads: the one whose mmap_lock or VMA lock it last took.
  const targets = new RequestTargets(vmas);
  const killed = new Set<number>(); // tids with SIGKILL pending
  // Per task with a request in flight, within its current __access_remote_vm call: copies so far,
  // and VMA changes since the last of them.
  // (and where the call's copies begin in the request's list, and what it added to its count of VMA
  // changes between copies: a fast_path_discard takes both back).
  const inCall = new Map<number, { copies: number; changes: number; firstCopy: number; changesAdded: number }>();
  const checks: RunFacts['checks'] = { warnings: [], useAfterFree: [], kernelFaults: [], deadlock: false };
  // A VMA of `mm` changed: a hazard for the calls in flight that read that mm (or an mm not known).
  vmas.onChange((mm) => {
    for (const [tid, call] of inCall) {
      const reads = targets.of(tid);
      if (call.copies > 0 && (mm === undefined || reads === undefined || reads === mm)) call.changes++;
    }
  });
  aggregator.requests.onBegin((req, tid) => {
    const r = noExtras();
    extras.set(req.id, r);
    open.set(tid, r);
  });
  aggregator.requests.onEnd((_, tid) => {
    const r = open.get(tid);
    if (r) r.killed = killed.has(tid);
    inCall.delete(tid);
    open.delete(tid);
  });

  // What the facts take from each kind they read (readRun() hands them no other kind).
  const see = reducerOf({
    call_enter(e) {
      const r = open.get(e.tid);
      if (r && e.fn === '__access_remote_vm') inCall.set(e.tid, { copies: 0, changes: 0, firstCopy: r.copies.length, changesAdded: 0 });
    },
    copy(e) {
      const r = open.get(e.tid);
      if (!r) return;
      const call = inCall.get(e.tid);
      if (call) {
        if (call.copies > 0) {
          r.vmaChangesBetweenCopies += call.changes;
          call.changesAdded += call.changes;
        }
        call.copies++;
        call.changes = 0;
      }
      const vma = vmaAtCopy(vmas, targets.of(e.tid), e.addr);
      r.copies.push({ seq: e.seq, addr: e.addr, len: e.len, folio: e.folio, fromPageCache: pageCache.has(e.folio), hash: e.hash, vma });
    },
    pgtable_set(e) {
      const r = open.get(e.tid);
      if (r && madeYoung(e.old, e.value)) r.madeYoung++;
    },
    signal_send(e) {
      if (e.sig === 'SIGKILL') killed.add(e.target);
    },
    page_cache_add: (e) => pageCache.add(e.folio),
    folio_free: (e) => pageCache.delete(e.folio),
    fast_path_fallback(e) {
      open.get(e.tid)?.fallbacks.push({ addr: e.addr, copied: e.copied, reason: e.reason });
    },
    fast_path_discard(e) {
      // redoWhole: the call's copies so far are not in its result; it starts over under mmap_lock.
      const r = open.get(e.tid);
      const call = inCall.get(e.tid);
      if (!r || !call) return;
      r.copies.length = call.firstCopy;
      r.vmaChangesBetweenCopies -= call.changesAdded;
      Object.assign(call, { copies: 0, changes: 0, changesAdded: 0 });
    },
    folio_mark_accessed(e) {
      const r = open.get(e.tid);
      if (r) r.markedAccessed++;
    },
    warn: (e) => checks.warnings.push(e.what),
    use_after_free: (e) => checks.useAfterFree.push(e.what),
    kernel_fault: (e) => checks.kernelFaults.push(e.what),
    deadlock: () => {
      checks.deadlock = true;
    },
  });
  const finish = (): RunFacts => {
    const aggregates = aggregator.result();
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
  return { reducers: () => [vmas, targets, ...aggregator.reducers(), see], finish };
}
