/**
 * A run as a timeline: the records both exports write (chrome.ts as Trace Event JSON, perfetto.ts
 * as TracePackets), in the Trace Event Format's own terms, since that format names every shape
 * needed (B/E, X, b/e, s/f, C, M):
 *
 * - one process per emulated mm (named by its pid), holding the tasks that use it as their own (the
 *   first mmap_lock a task takes outside a remote request is its own mm's: found by a first, cheap
 *   pass over the run); a task with no mm of its own (a monitor, a kernel thread) is a process of
 *   its own; one thread per task, named;
 * - emulated calls as nested B/E slices on their task's thread, requests and waits as complete (X)
 *   slices there;
 * - lock holds (rwsems and spinlocks) as async b/e slices, one track per lock class: a hold often
 *   starts in one call and ends in another, so on the thread's own stack it would break the nesting
 *   that B/E slices need. The holds are the lock-holder table's (src/reduce/lock-holders.ts): a
 *   woken reader's starts at the rwsem_wake that granted it, a handed-over spinlock's at the unlock
 *   that handed it over, and a downgrade ends the write hold and starts a read hold;
 * - flows from the task that wakes a waiter (rwsem_wake, sched_wakeup) to the task it wakes, and from
 *   each folio_get to the folio_put that drops that reference (first in, first out per folio);
 * - counters: each mmap_lock's waiters, and each folio's reference count.
 *
 * Time: one virtual tick is one microsecond (`ts` is in µs); each format's metadata says so.
 */
import { LockHolders, type Hold } from '../reduce/lock-holders.js';
import { readRun, runNames, taskName } from '../reduce/read-run.js';
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import { WaitClock } from '../reduce/wait-clock.js';
import type { RunInfo, Trace } from '../trace/reader.js';

/** One timeline record, in the Trace Event Format's shape. */
export interface TraceRecord {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  dur?: number;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

/** How a timeline's time relates to the run's. */
export const TIME_NOTE = '1 virtual tick = 1 us of ts: the simulator charges each kernel step a fixed number of ticks';

/** What a timeline says of itself: where it comes from, and what a tick is. */
export function timelineMetadata(trace: Trace, run: RunInfo) {
  return {
    mmtrace: { file: trace.file, run: run.name, workload: run.workload, path: run.path, variant: run.variant, seed: run.seed },
    time: TIME_NOTE,
  };
}

/** Each task's own process: tid -> the pid of the mm it uses as its own (see the header). */
export function ownProcesses(trace: Trace, run: RunInfo): Map<number, number> {
  const pidOfMm = new Map<number, number>();
  const inRequest = new Set<number>();
  const own = new Map<number, number>();
  readRun(trace, run, [reducerOf({
    mm_create: (e) => pidOfMm.set(e.mm, e.pid),
    request_begin: (e) => inRequest.add(e.tid),
    request_end: (e) => inRequest.delete(e.tid),
    mmap_lock_start_locking(e) {
      const pid = pidOfMm.get(e.mm);
      if (!own.has(e.tid) && !inRequest.has(e.tid) && pid !== undefined) own.set(e.tid, pid);
    },
  })]);
  return own;
}

/** The reducers that turn a run's events into timeline records, handed to `put` in order. */
export function timeline(trace: Trace, run: RunInfo, put: (r: TraceRecord) => void): Reducer[] {
  const names = runNames(trace, run.id);
  const ownPid = ownProcesses(trace, run);
  const pidOf = new Map<number, number>();
  const pid = (tid: number) => pidOf.get(tid) ?? 0;
  const namedProcesses = new Set<number>();
  let nextId = 1;

  const openRequests = new Map<number, { ts: number; req: number; op: string; addr: number; len: number }>();
  /** The async slice id of each hold the timeline shows. */
  const holdSlices = new Map<Hold, number>();
  /** folio -> flow ids of its references not yet dropped, oldest first. */
  const refs = new Map<number, number[]>();
  const waiters = new Map<number, number>();

  const holdName = (h: Hold) => `${h.class} ${h.mode}`;
  const holds = new LockHolders();
  holds.onHold({
    held(h, e) {
      // Per-VMA locks are not drawn: their holds follow the mmap_lock's or the walk's calls.
      if (h.object === 'vma') return;
      const id = nextId++;
      holdSlices.set(h, id);
      put({ name: holdName(h), cat: `lock,${h.class}`, ph: 'b', id, ts: e.tick, pid: pid(h.tid), tid: h.tid, args: { lock: h.id } });
    },
    released(h, e) {
      const id = holdSlices.get(h);
      if (id === undefined) return;
      holdSlices.delete(h);
      put({ name: holdName(h), cat: `lock,${h.class}`, ph: 'e', id, ts: e.tick, pid: pid(h.tid), tid: h.tid });
    },
  });
  const flow = (name: string, from: { tid: number; ts: number }, to: { tid: number; ts: number }, id = nextId++) => {
    put({ name, cat: 'flow', ph: 's', id, ts: from.ts, pid: pid(from.tid), tid: from.tid });
    put({ name, cat: 'flow', ph: 'f', bp: 'e', id, ts: to.ts, pid: pid(to.tid), tid: to.tid });
  };
  const waitersOf = (sem: number, delta: number, ts: number) => {
    const n = (waiters.get(sem) ?? 0) + delta;
    waiters.set(sem, n);
    put({ name: `mmap_lock #${sem} waiters`, ph: 'C', ts, pid: 0, tid: 0, args: { waiters: n } });
  };
  const refcount = (folio: number, ref: number, ts: number) => {
    put({ name: `folio ${folio} refcount`, ph: 'C', ts, pid: 0, tid: 0, args: { ref } });
  };

  const waits = new WaitClock();
  waits.onWaitEnd((w) => put({ name: `wait: ${w.wait}`, cat: 'wait', ph: 'X', ts: w.since, dur: w.ticks, pid: pid(w.tid), tid: w.tid, args: { on: w.on } }));

  const events = reducerOf({
    task_start(e) {
      const own = ownPid.get(e.tid);
      const processPid = own ?? e.pid;
      pidOf.set(e.tid, processPid);
      if (!namedProcesses.has(processPid)) {
        namedProcesses.add(processPid);
        const name = own !== undefined ? `pid ${own}` : taskName(names, e.tid);
        put({ name: 'process_name', ph: 'M', ts: 0, pid: processPid, tid: 0, args: { name } });
      }
      put({ name: 'thread_name', ph: 'M', ts: 0, pid: processPid, tid: e.tid, args: { name: taskName(names, e.tid) } });
    },
    call_enter: (e) => put({ name: e.fn, cat: 'call', ph: 'B', ts: e.tick, pid: pid(e.tid), tid: e.tid }),
    call_exit: (e) => put({ name: e.fn, cat: 'call', ph: 'E', ts: e.tick, pid: pid(e.tid), tid: e.tid, args: { ret: e.ret } }),
    request_begin(e) {
      openRequests.set(e.tid, { ts: e.tick, req: e.req, op: e.op, addr: e.addr, len: e.len });
    },
    request_end(e) {
      const r = openRequests.get(e.tid);
      if (!r) return;
      openRequests.delete(e.tid);
      put({
        name: `${r.op} #${r.req}`, cat: 'request', ph: 'X', ts: r.ts, dur: e.tick - r.ts, pid: pid(e.tid), tid: e.tid,
        args: { request: `${taskName(names, e.tid)}:${r.req}`, addr: r.addr, len: r.len, result: e.result },
      });
    },
    rwsem_acquire(e) {
      if (e.class === 'mmap_lock' && e.how === 'woken') waitersOf(e.sem, -1, e.tick);
    },
    rwsem_contended(e) {
      if (e.class === 'mmap_lock') waitersOf(e.sem, +1, e.tick);
    },
    rwsem_fail(e) {
      if (e.class === 'mmap_lock') waitersOf(e.sem, -1, e.tick);
    },
    rwsem_wake(e) {
      for (const woken of e.woken ?? []) flow(`wake: ${e.class}`, { tid: e.tid, ts: e.tick }, { tid: woken, ts: e.tick });
    },
    sched_wakeup(e) {
      if (e.tid !== 0) flow('wakeup', { tid: e.tid, ts: e.tick }, { tid: e.target, ts: e.tick });
    },
    folio_get(e) {
      const id = nextId++;
      let list = refs.get(e.folio);
      if (!list) refs.set(e.folio, (list = []));
      list.push(id);
      put({ name: 'folio ref', cat: 'flow', ph: 's', id, ts: e.tick, pid: pid(e.tid), tid: e.tid, args: { folio: e.folio } });
      refcount(e.folio, e.ref, e.tick);
    },
    folio_put(e) {
      // A put with no get before it drops the allocation's reference: no flow to draw.
      const id = refs.get(e.folio)?.shift();
      if (id !== undefined) put({ name: 'folio ref', cat: 'flow', ph: 'f', bp: 'e', id, ts: e.tick, pid: pid(e.tid), tid: e.tid });
      refcount(e.folio, e.ref, e.tick);
    },
  });
  // The holds before the other records of the same event, as the waits' before both.
  return [waits, holds, events];
}
