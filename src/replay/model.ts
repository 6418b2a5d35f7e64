/**
 * The replay model: the whole emulated state in plain data, and the effect of every event kind on
 * it. Projection folds recorded events into a Model; re-execution builds one from the live kernel
 * (src/replay/live.ts); snapshots are a Model encoded with msgpackr. `toDoc()` turns it into the
 * StateDoc both engines print, so equal models print equal documents.
 *
 * The rule that makes this work lives in the kernel model: every step changes only what its event
 * says (see the comments on each kind in src/trace/events.ts).
 */
import { Packr } from 'msgpackr';
import { K, u32s } from '../trace/events.js';
import { bytesHash, hashHex } from '../trace/hash.js';
import { RequestLog, requestId, type RequestLogWire } from '../trace/request-log.js';
import type {
  FolioState, MmState, RwsemState, SpinState, StateDoc, TaskRunState, VmaState,
} from './state.js';

// The model's records that are exactly what the document shows.
export type MMm = MmState;
export type MVma = VmaState;
export type MRwsem = RwsemState;
export type MSpin = SpinState;

export const PAGE_SIZE = 4096;

/**
 * Events between snapshots written while recording: replay decodes the nearest snapshot and folds
 * at most this many events (measured: `mmtrace bench`, replayUntilMedianMs).
 */
export const SNAPSHOT_EVERY = 32768;
const EXCLUDE_READERS_FLAG = 1 << 30;
const EINTR = 4;
const PG_dirty = 1 << 4;
const PG_lru = 1 << 5;
const PG_active = 1 << 8;
const PG_uptodate = 1 << 3;
const LRU_ACTIVE_ANON = 2;
const LRU_ACTIVE_FILE = 4;

export interface MTask {
  tid: number;
  name: string;
  state: Exclude<TaskRunState, 'running'>;
  on: number;
  wait: string;
  since: number;
  killable: boolean;
  wakeAt: number;
  stack: string[];
  request: string | null;
  waitTicks: number;
  rcuNesting: number;
  irqsOff: number;
}

export interface MTable {
  table: number;
  level: number;
  base: number;
  /** index -> entry value (non-zero only) */
  entries: Map<number, number>;
  pendingFree: boolean;
}

/** A folio as the document shows it, with its bytes instead of their hash. */
export type MFolio = Omit<FolioState, 'dataHash'> & { data: Uint8Array };

export interface MFile {
  name: string;
  data: Uint8Array;
}

/** Everything the state at one event consists of. */
export interface Model {
  seq: number;
  tick: number;
  /** The task that made the last event (0: the simulator). */
  lastTid: number;
  tasks: Map<number, MTask>;
  mms: Map<number, MMm>;
  vmas: Map<number, MVma>;
  tables: Map<number, MTable>;
  folios: Map<number, MFolio>;
  rwsems: Map<number, MRwsem>;
  spins: Map<number, MSpin>;
  files: Map<string, MFile>;
  rcu: { gpSeq: number; gpWaitingFor: number[]; pending: number[]; inGracePeriod: number[] };
  requests: RequestLog;
  checks: { warnings: number; useAfterFree: number; kernelFaults: number; deadlock: boolean };
}

export function emptyModel(): Model {
  return {
    seq: 0, tick: 0, lastTid: 0, tasks: new Map(), mms: new Map(), vmas: new Map(), tables: new Map(),
    folios: new Map(), rwsems: new Map(), spins: new Map(), files: new Map(),
    rcu: { gpSeq: 0, gpWaitingFor: [], pending: [], inGracePeriod: [] },
    requests: new RequestLog(), checks: { warnings: 0, useAfterFree: 0, kernelFaults: 0, deadlock: false },
  };
}

/** What the fold needs besides the events: interned names and task names of the run. */
export interface RunContext {
  names: readonly string[];
  taskNames: ReadonlyMap<number, string>;
}

function removeOne<T>(list: T[], pred: (x: T) => boolean): void {
  const i = list.findIndex(pred);
  if (i >= 0) list.splice(i, 1);
}

function rwsem(m: Model, sem: number, cls: string): MRwsem {
  let s = m.rwsems.get(sem);
  if (!s) m.rwsems.set(sem, (s = { sem, class: cls, readers: [], writer: null, waiters: [], handoff: false }));
  return s;
}

function spin(m: Model, lock: number, cls: string): MSpin {
  let s = m.spins.get(lock);
  if (!s) m.spins.set(lock, (s = { lock, class: cls, owner: null, waiters: [] }));
  return s;
}

function wakeTask(m: Model, tid: number, tick: number): void {
  const t = m.tasks.get(tid);
  if (!t || (t.state !== 'blocked' && t.state !== 'sleeping')) return;
  t.waitTicks += tick - t.since;
  t.state = 'runnable';
  t.on = 0;
  t.wait = '';
  t.killable = false;
  t.wakeAt = 0;
}


/**
 * Offset of the byte at user address `addr` within the folio it maps to: addr modulo the folio's
 * size. Exact for order 0 (the offset in the page) and for large folios because the kernel model
 * maps them naturally aligned (a THP's PMD or its split PTEs at a 2 MiB-aligned address; no
 * mremap) -- the emitters (user_access, copy_to_folio) check that and refuse anything else.
 */
function folioOffset(m: Model, folio: number, addr: number): number {
  const f = m.folios.get(folio);
  return addr % (PAGE_SIZE * 2 ** (f?.order ?? 0));
}

/** Apply one event. */
export function fold(
  m: Model, ctx: RunContext,
  seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number,
  data: Uint8Array | null,
): void {
  m.seq = seq;
  m.tick = tick;
  m.lastTid = tid;
  const name = (id: number) => ctx.names[id] ?? `?${id}`;
  const task = m.tasks.get(tid);
  switch (kind) {
    // --- sched
    case K.task_start:
      m.tasks.set(tid, {
        tid, name: ctx.taskNames.get(tid) ?? name(a), state: 'runnable', on: 0, wait: '', since: 0,
        killable: false, wakeAt: 0, stack: [], request: null, waitTicks: 0, rcuNesting: 0, irqsOff: 0,
      });
      break;
    case K.task_exit:
      if (task) task.state = 'done';
      break;
    case K.sched_block:
      if (task) Object.assign(task, { state: 'blocked', on: a, wait: name(b), since: tick, killable: c === 1 });
      break;
    case K.sched_sleep:
      if (task) Object.assign(task, { state: 'sleeping', since: tick, wakeAt: a });
      break;
    case K.sched_wakeup:
      wakeTask(m, a, tick);
      break;
    case K.signal_send: {
      const target = m.tasks.get(a);
      if (target?.state === 'blocked' && target.killable) wakeTask(m, a, tick);
      break;
    }
    // --- rwsem
    case K.rwsem_acquire: {
      const s = rwsem(m, a, name(b));
      if (d === 3) {
        s.writer = null;
        s.readers.push(tid);
      } else if (d !== 2) {
        if (c === 1) s.writer = tid;
        else s.readers.push(tid);
      }
      break;
    }
    case K.rwsem_contended:
      rwsem(m, a, name(b)).waiters.push({ tid, mode: c === 1 ? 'write' : 'read' });
      break;
    case K.rwsem_release: {
      const s = rwsem(m, a, name(b));
      if (c === 1) s.writer = null;
      else removeOne(s.readers, (r) => r === tid);
      break;
    }
    case K.rwsem_handoff:
      rwsem(m, a, name(b)).handoff = true;
      break;
    case K.rwsem_fail:
      if (d === -EINTR) removeOne(rwsem(m, a, name(b)).waiters, (w) => w.tid === tid);
      break;
    case K.rwsem_wake: {
      const s = rwsem(m, a, name(b));
      s.handoff = false;
      for (const woken of u32s(data)) {
        removeOne(s.waiters, (w) => w.tid === woken);
        if (c === 1) s.writer = woken;
        else s.readers.push(woken);
        wakeTask(m, woken, tick);
      }
      break;
    }
    // --- spinlocks
    case K.spin_lock:
      spin(m, a, name(b)).owner = tid;
      break;
    case K.spin_contended:
      if (d === 1) spin(m, a, name(b)).waiters.push(tid);
      break;
    case K.spin_unlock: {
      const s = spin(m, a, name(b));
      s.owner = s.waiters.shift() ?? null; // handed to the head of the queue
      break;
    }
    // --- RCU
    case K.rcu_read_lock:
      if (task) task.rcuNesting = a;
      break;
    case K.rcu_read_unlock:
      if (task) {
        task.rcuNesting = a;
        if (a === 0) removeOne(m.rcu.gpWaitingFor, (t) => t === tid);
      }
      break;
    case K.local_irq_disable:
    case K.local_irq_enable:
      if (task) {
        task.irqsOff = a;
        task.rcuNesting = b;
        if (b === 0) removeOne(m.rcu.gpWaitingFor, (t) => t === tid);
      }
      break;
    case K.call_rcu:
      m.rcu.pending.push(a);
      break;
    case K.rcu_gp_start:
      m.rcu.gpSeq = a;
      m.rcu.inGracePeriod = m.rcu.pending;
      m.rcu.pending = [];
      m.rcu.gpWaitingFor = [...m.tasks.values()].filter((t) => t.rcuNesting > 0).map((t) => t.tid);
      break;
    case K.rcu_callback:
      removeOne(m.rcu.inGracePeriod, (cb) => cb === a);
      break;
    // --- per-VMA locks
    case K.vma_start_read:
    case K.vma_end_read:
    case K.vma_start_read_locked: {
      const v = m.vmas.get(a);
      if (v) v.vm_refcnt = kind === K.vma_start_read ? c : b;
      break;
    }
    case K.vma_refcnt: {
      const v = m.vmas.get(a);
      if (v) v.vm_refcnt = c;
      break;
    }
    case K.vma_start_write: {
      const v = m.vmas.get(a);
      if (v) {
        v.vm_lock_seq = c;
        if (v.vm_refcnt & EXCLUDE_READERS_FLAG) v.vm_refcnt -= EXCLUDE_READERS_FLAG;
      }
      break;
    }
    case K.mm_lock_seq: {
      const mm = m.mms.get(a);
      if (mm) mm.mm_lock_seq = c;
      break;
    }
    // --- page tables
    case K.pgtable_alloc:
      m.tables.set(b, { table: b, level: a, base: c, entries: new Map(), pendingFree: false });
      break;
    case K.pgtable_set:
    case K.pte_young: {
      const t = m.tables.get(a);
      if (t) {
        const idx = Math.floor((b - t.base) / entrySize(t.level));
        if (c === 0) t.entries.delete(idx);
        else t.entries.set(idx, c);
      }
      break;
    }
    case K.pgtable_free:
      if (c === 1) {
        const t = m.tables.get(b);
        if (t) t.pendingFree = true;
      } else {
        m.tables.delete(b);
      }
      break;
    case K.user_access:
      if (c === 1 && data) m.folios.get(d)?.data.set(data, folioOffset(m, d, a));
      break;
    // --- folios
    case K.folio_alloc:
      m.folios.set(a, {
        folio: a, pfn: b, order: c, refcount: 1, mapcount: 0, flags: d, lru: 0, file: null, index: 0,
        data: new Uint8Array(PAGE_SIZE << c),
      });
      break;
    case K.folio_get:
    case K.folio_try_get:
    case K.folio_put: {
      const f = m.folios.get(a);
      if (f) f.refcount = b;
      break;
    }
    case K.folio_free:
      m.folios.delete(a);
      break;
    case K.folio_mark_accessed: {
      const f = m.folios.get(a);
      if (f) f.flags = c;
      break;
    }
    case K.lru_move: {
      const f = m.folios.get(a);
      if (f) {
        f.lru = c;
        f.flags = c === 0 ? f.flags & ~(PG_lru | PG_active) : f.flags | PG_lru;
        if (c === LRU_ACTIVE_ANON || c === LRU_ACTIVE_FILE) f.flags |= PG_active;
      }
      break;
    }
    case K.folio_flags: {
      const f = m.folios.get(a);
      if (f) f.flags = c;
      break;
    }
    case K.folio_mapcount: {
      const f = m.folios.get(a);
      if (f) f.mapcount = b;
      break;
    }
    case K.folio_mark_dirty: {
      const f = m.folios.get(a);
      if (f) f.flags |= PG_dirty;
      break;
    }
    case K.folio_copy: {
      const dst = m.folios.get(a);
      const src = m.folios.get(b);
      if (dst) dst.data.set(src ? src.data.subarray(c * PAGE_SIZE, c * PAGE_SIZE + dst.data.length) : new Uint8Array(dst.data.length));
      break;
    }
    case K.folio_copy_page: {
      const dst = m.folios.get(a);
      const src = m.folios.get(c);
      if (dst) dst.data.set(src ? src.data.subarray(0, PAGE_SIZE) : new Uint8Array(PAGE_SIZE), b * PAGE_SIZE);
      break;
    }
    case K.page_cache_add: {
      const f = m.folios.get(a);
      const file = m.files.get(name(b));
      if (f) {
        f.file = name(b);
        f.index = c;
        f.flags |= PG_uptodate;
        // The whole folio (a large one gets all its pages: page_cache_add's comment in events.ts).
        if (file) f.data.set(file.data.subarray(c * PAGE_SIZE, Math.min(c * PAGE_SIZE + f.data.length, file.data.length)));
      }
      break;
    }
    case K.page_cache_delete: {
      const f = m.folios.get(a);
      if (f) f.file = null;
      break;
    }
    case K.file_create:
      m.files.set(name(a), { name: name(a), data: data ? new Uint8Array(data) : new Uint8Array(b) });
      break;
    // --- copies
    case K.copy_to_folio:
      if (data) m.folios.get(c)?.data.set(data, folioOffset(m, c, a));
      break;
    // --- VMAs and mms
    case K.vma_create:
      // Also an object reused after vma_free (same id, typesafe-RCU slab): a fresh record either way.
      m.vmas.set(a, { vma: a, mm: b, start: c, end: d, flags: 0, file: null, pgoff: 0, attached: false, vm_refcnt: 0, vm_lock_seq: 0xffffffff });
      break;
    case K.vma_init: {
      const v = m.vmas.get(a);
      if (v) Object.assign(v, { flags: b, file: c ? name(c) : null, pgoff: d });
      break;
    }
    case K.vma_mark_attached: {
      const v = m.vmas.get(a);
      if (v) Object.assign(v, { attached: true, vm_refcnt: 1 });
      break;
    }
    case K.vma_mark_detached: {
      const v = m.vmas.get(a);
      if (v) Object.assign(v, { attached: false, vm_refcnt: 0 });
      break;
    }
    case K.vma_adjust: {
      const v = m.vmas.get(a);
      if (v) Object.assign(v, { start: b, end: c, pgoff: d });
      break;
    }
    case K.vma_flags: {
      const v = m.vmas.get(a);
      if (v) v.flags = c;
      break;
    }
    case K.vma_free:
      m.vmas.delete(a);
      break;
    case K.mm_create:
      m.mms.set(a, { mm: a, pid: b, mmapLock: c, mm_lock_seq: 0, arg_start: 0, arg_end: 0, env_start: 0, env_end: 0 });
      break;
    case K.mm_args: {
      const mm = m.mms.get(a);
      if (mm) Object.assign(mm, { arg_start: b, arg_end: c });
      break;
    }
    case K.mm_env: {
      const mm = m.mms.get(a);
      if (mm) Object.assign(mm, { env_start: b, env_end: c });
      break;
    }
    // --- calls and requests
    case K.call_enter:
      task?.stack.push(name(a));
      break;
    case K.call_exit:
      task?.stack.pop();
      break;
    case K.request_begin:
      m.requests.begin(tid, a, name(b), c, d);
      if (task) task.request = requestId(task.name, a);
      break;
    case K.request_end:
      m.requests.end(tid, a, b, c);
      if (task) task.request = null;
      break;
    // --- checks
    case K.warn:
      m.checks.warnings++;
      break;
    case K.use_after_free:
      m.checks.useAfterFree++;
      break;
    case K.kernel_fault:
      m.checks.kernelFaults++;
      break;
    case K.deadlock:
      m.checks.deadlock = true;
      break;
  }
}

function entrySize(level: number): number {
  return 2 ** [0, 12, 21, 30, 39][level]!;
}

const byKey = <T>(key: (x: T) => number) => (x: T, y: T) => key(x) - key(y);

/** The document both engines print. */
export function toDoc(m: Model): StateDoc {
  const tasks = [...m.tasks.values()].sort(byKey((t) => t.tid)).map((t) => ({
    tid: t.tid,
    name: t.name,
    state: (t.tid === m.lastTid && t.state === 'runnable' ? 'running' : t.state) as TaskRunState,
    blockedOn: t.state === 'blocked' ? { on: t.on, wait: t.wait, since: t.since, killable: t.killable } : null,
    wakeAt: t.state === 'sleeping' ? t.wakeAt : null,
    stack: [...t.stack],
    request: t.request,
    waitTicks: t.waitTicks,
    rcuNesting: t.rcuNesting,
    irqsOff: t.irqsOff,
  }));
  const folios: FolioState[] = [...m.folios.values()].sort(byKey((f) => f.folio)).map((f) => ({
    folio: f.folio, pfn: f.pfn, order: f.order, refcount: f.refcount, mapcount: f.mapcount, flags: f.flags,
    lru: f.lru, file: f.file, index: f.index, dataHash: hashHex(bytesHash(f.data)),
  }));
  return {
    seq: m.seq,
    tick: m.tick,
    tasks,
    mms: [...m.mms.values()].sort(byKey((x) => x.mm)).map((x) => ({ ...x })),
    vmas: [...m.vmas.values()].sort(byKey((v) => v.vma)).map((v) => ({ ...v })),
    tables: [...m.tables.values()].sort(byKey((t) => t.table)).map((t) => ({
      table: t.table, level: t.level, base: t.base, pendingFree: t.pendingFree,
      entries: [...t.entries.entries()].sort((x, y) => x[0] - y[0]),
    })),
    folios,
    locks: {
      rwsems: [...m.rwsems.values()]
        .filter((s) => s.writer !== null || s.readers.length > 0 || s.waiters.length > 0 || s.handoff)
        .sort(byKey((s) => s.sem))
        .map((s) => ({ ...s, readers: [...s.readers].sort((x, y) => x - y), waiters: s.waiters.map((w) => ({ ...w })) })),
      spinlocks: [...m.spins.values()]
        .filter((s) => s.owner !== null || s.waiters.length > 0)
        .sort(byKey((s) => s.lock))
        .map((s) => ({ ...s, waiters: [...s.waiters] })),
    },
    rcu: {
      gpSeq: m.rcu.gpSeq,
      gpWaitingFor: [...m.rcu.gpWaitingFor].sort((x, y) => x - y),
      pending: [...m.rcu.pending],
      inGracePeriod: [...m.rcu.inGracePeriod],
    },
    requests: Array.from({ length: m.requests.length }, (_, i) => {
      const r = m.requests.at(i);
      const task = m.tasks.get(r.tid)?.name ?? String(r.tid);
      return {
        id: requestId(task, r.req), task, op: r.op, addr: r.addr, len: r.len, result: r.result,
        dataHash: r.hash === null ? null : hashHex(r.hash),
      };
    }),
    checks: { ...m.checks },
  };
}

// --- snapshots -----------------------------------------------------------------------------------

// On the wire every Map is the list of its values (each value carries its own key) and a table's
// entries are [index, value] pairs; msgpackr's records keep the repeated shapes compact.
const packr = new Packr();

type Wire = Omit<Model, 'tasks' | 'mms' | 'vmas' | 'tables' | 'folios' | 'rwsems' | 'spins' | 'files' | 'requests'> & {
  requests: RequestLogWire;
  tasks: MTask[];
  mms: MMm[];
  vmas: MVma[];
  tables: (Omit<MTable, 'entries'> & { entries: [number, number][] })[];
  folios: MFolio[];
  rwsems: MRwsem[];
  spins: MSpin[];
  files: MFile[];
};

export function encodeModel(m: Model): Uint8Array {
  const wire: Wire = {
    ...m,
    tasks: [...m.tasks.values()], mms: [...m.mms.values()], vmas: [...m.vmas.values()],
    tables: [...m.tables.values()].map((t) => ({ ...t, entries: [...t.entries] })),
    folios: [...m.folios.values()], rwsems: [...m.rwsems.values()], spins: [...m.spins.values()],
    files: [...m.files.values()], requests: m.requests.toWire(),
  };
  return packr.pack(wire);
}

function keyed<T>(items: T[], key: (x: T) => number | string): Map<any, T> {
  return new Map(items.map((x) => [key(x), x]));
}

export function decodeModel(bytes: Uint8Array): Model {
  const w = packr.unpack(bytes) as Wire;
  // Byte arrays come back as views of the snapshot buffer: give each its own copy.
  for (const f of w.folios) f.data = new Uint8Array(f.data);
  for (const f of w.files) f.data = new Uint8Array(f.data);
  return {
    ...w,
    tasks: keyed(w.tasks, (t) => t.tid), mms: keyed(w.mms, (x) => x.mm), vmas: keyed(w.vmas, (v) => v.vma),
    tables: keyed(w.tables.map((t) => ({ ...t, entries: new Map(t.entries) })), (t) => t.table),
    folios: keyed(w.folios, (f) => f.folio), rwsems: keyed(w.rwsems, (s) => s.sem), spins: keyed(w.spins, (s) => s.lock),
    files: keyed(w.files, (f) => f.name), requests: RequestLog.fromWire(w.requests),
  };
}
