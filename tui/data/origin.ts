/**
 * "Where did this come from", Pernosco's dataflow question asked of a trace: for an item of the
 * state (a lock's holder, a VMA, a page-table entry, a folio, a task's wait) the event that last
 * set it, and for an event the one before it that changed the same object; `%` pairs an event
 * with its other half (acquire and release, wait and waker, get and put, call and return).
 *
 * Each answer is a query or two on the events table (by kind, task and field), so it costs the same
 * on a run of any length. "Set" and "changed" mean what the projection folds (src/replay/fold.ts):
 * the state panel shows the projection, so an event with no fold changed nothing shown there.
 */
import { changesState } from '../../src/replay/fold.js';
import type { EventFilter } from '../../src/trace/reader.js';
import { KINDS, PtLevel, type TraceEvent } from '../../src/trace/vocab/index.js';
import type { RunSource } from './run-source.js';

/** What a jump searches for: the nearest event any of `filters` matches from `from`, going `direction`. */
export interface Search {
  filters: readonly EventFilter[];
  from: number;
  direction: 'forward' | 'backward';
  /** Said in the status line when the jump is taken. */
  what: string;
}

/** Every kind with a field of this name: how "the same object" reads across kinds. */
function kindsWithField(field: string): string[] {
  return KINDS.filter((k) => k.fields.includes(field)).map((k) => k.name);
}

/**
 * Kinds whose fold changes only a folio's bytes (a store, a copy into it): the state panel shows a
 * folio's counts, flags and mapping, not its bytes, so these set nothing it shows.
 */
const BYTES_ONLY = new Set(['user_access', 'copy_to_folio']);

/**
 * The events that changed an object: the kinds with this field whose fold changes the model (what
 * the projection folds is what the state panel shows). An event that only names the object (a
 * maple-tree walk, a fault on a VMA, a copy out of a folio) set nothing of it.
 */
function changedObject(field: string, value: number): EventFilter {
  const kinds = kindsWithField(field).filter((kind) => changesState(kind) && !BYTES_ONLY.has(kind));
  return { anyField: kinds.map((kind) => ({ kind, field, lo: value, hi: value })) };
}

/** The kinds that write a page-table entry: the kernel (pgtable_set) and the MMU's accessed bits (pte_young). */
const ENTRY_WRITES = ['pgtable_set', 'pte_young'] as const;

/** Writes of the entry of table `table` that maps [lo, hi]. */
function entryWrites(table: number, lo: number, hi: number): EventFilter[] {
  return ENTRY_WRITES.map((kind) => ({ kinds: [kind], fields: { table }, anyField: [{ kind, field: 'addr', lo, hi }] }));
}

/** The identity fields, most specific first: the object an event is about. */
const OBJECT_FIELDS = ['folio', 'vma', 'sem', 'lock', 'table', 'mm', 'cb'] as const;

/** The object an event is about, as (field, value), or null for an event about no object. */
export function objectOf(e: TraceEvent): { field: string; value: number } | null {
  const r = e as unknown as Record<string, unknown>;
  for (const f of OBJECT_FIELDS) if (typeof r[f] === 'number') return { field: f, value: r[f] as number };
  return null;
}

/** One step further back from an event: the event before it that changed the same object. */
export function previousTouch(e: TraceEvent): Search | null {
  if (e.kind === 'sched_wakeup') {
    return { filters: [{ kinds: ['sched_block', 'sched_sleep'], tids: [e.target] }], from: e.seq - 1, direction: 'backward', what: `the wait this wake-up ended` };
  }
  if (e.kind === 'pgtable_set' || e.kind === 'pte_young') {
    return { filters: entryWrites(e.table, e.addr, e.addr), from: e.seq - 1, direction: 'backward', what: `the write before it of the entry for ${hex(e.addr)}` };
  }
  const obj = objectOf(e);
  if (obj === null) return null;
  return { filters: [changedObject(obj.field, obj.value)], from: e.seq - 1, direction: 'backward', what: `the last change of ${obj.field} ${obj.value}` };
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

/** `%`: the other half of an event. */
export function matchOf(e: TraceEvent): Search | null {
  const fwd = (filter: EventFilter, what: string): Search => ({ filters: [filter], from: e.seq + 1, direction: 'forward', what });
  const back = (filter: EventFilter, what: string): Search => ({ filters: [filter], from: e.seq - 1, direction: 'backward', what });
  const tids = [e.tid];
  switch (e.kind) {
    case 'rwsem_acquire': return fwd({ kinds: ['rwsem_release'], tids, fields: { sem: e.sem } }, 'its release');
    case 'rwsem_release': return back({ kinds: ['rwsem_acquire'], tids, fields: { sem: e.sem } }, 'its acquisition');
    case 'rwsem_contended': return fwd({ kinds: ['rwsem_acquire'], tids, fields: { sem: e.sem } }, 'the acquisition it waited for');
    case 'spin_lock': return fwd({ kinds: ['spin_unlock'], tids, fields: { lock: e.lock } }, 'its unlock');
    case 'spin_unlock': return back({ kinds: ['spin_lock'], tids, fields: { lock: e.lock } }, 'its lock');
    case 'spin_contended': return fwd({ kinds: ['spin_lock'], tids, fields: { lock: e.lock } }, 'the lock it spun for');
    case 'vma_start_read': return fwd({ kinds: ['vma_end_read'], tids, fields: { vma: e.vma } }, 'its vma_end_read');
    case 'vma_start_read_locked': return fwd({ kinds: ['vma_end_read'], tids, fields: { vma: e.vma } }, 'its vma_end_read');
    case 'vma_end_read': return back({ kinds: ['vma_start_read'], tids, fields: { vma: e.vma } }, 'its vma_start_read');
    case 'folio_get': case 'folio_try_get': return fwd({ kinds: ['folio_put'], tids, fields: { folio: e.folio } }, 'its folio_put');
    case 'folio_put': return back({ kinds: ['folio_get'], tids, fields: { folio: e.folio } }, 'its folio_get');
    case 'sched_block': case 'sched_sleep': return fwd({ kinds: ['sched_wakeup'], fields: { target: e.tid } }, 'its waker');
    case 'sched_wakeup': return back({ kinds: ['sched_block', 'sched_sleep'], tids: [e.target] }, 'the wait it ended');
    case 'request_begin': return fwd({ kinds: ['request_end'], tids, fields: { req: e.req } }, 'its end');
    case 'request_end': return back({ kinds: ['request_begin'], tids, fields: { req: e.req } }, 'its begin');
    case 'syscall_begin': return fwd({ kinds: ['syscall_end'], tids }, 'its return');
    case 'syscall_end': return back({ kinds: ['syscall_begin'], tids }, 'its entry');
    case 'rcu_read_lock': return fwd({ kinds: ['rcu_read_unlock'], tids, fields: { nesting: e.nesting - 1 } }, 'its rcu_read_unlock');
    case 'rcu_read_unlock': return back({ kinds: ['rcu_read_lock'], tids, fields: { nesting: e.nesting + 1 } }, 'its rcu_read_lock');
    case 'mmap_lock_start_locking': return fwd({ kinds: ['mmap_lock_acquire_returned'], tids }, 'the acquisition');
    case 'mmap_lock_acquire_returned': return fwd({ kinds: ['mmap_lock_released'], tids }, 'its release');
    case 'mmap_lock_released': return back({ kinds: ['mmap_lock_acquire_returned'], tids }, 'its acquisition');
    default: return null;
  }
}

/**
 * `%` on call_enter/call_exit: the matching exit or enter of the same call, found by counting the
 * task's nested calls of the same function (the call kinds carry no depth).
 */
export function matchCall(source: RunSource, e: TraceEvent): number | undefined {
  if (e.kind !== 'call_enter' && e.kind !== 'call_exit') return undefined;
  const forward = e.kind === 'call_enter';
  const filter: EventFilter = { kinds: ['call_enter', 'call_exit'], tids: [e.tid], fields: undefined };
  let depth = 0;
  let from = forward ? e.seq + 1 : e.seq - 1;
  for (;;) {
    const rows = source.matching(filter, from, 512, forward ? 'forward' : 'backward');
    for (const row of rows) {
      const other = source.decoder.decode(row);
      if (other.kind !== 'call_enter' && other.kind !== 'call_exit') continue;
      if (other.fn !== e.fn) continue;
      const opens = forward ? other.kind === 'call_enter' : other.kind === 'call_exit';
      if (opens) depth++;
      else if (depth-- === 0) return other.seq;
    }
    if (rows.length < 512) return undefined;
    from = rows[rows.length - 1]![0] + (forward ? 1 : -1);
  }
}

/** A selectable item of the state panel and where its value came from. */
export interface StateItem {
  key: string;
  text: string;
  origin: Search | null;
}

/** The last event at or before `seq` that set an item: a query for each kind of item. */
export function lastSetter(key: string, seq: number, ctx: { tableLevel?: number; tableBase?: number; holder?: number; waiter?: number; blocked?: boolean }): Search | null {
  const [what, a, b] = key.split(':');
  const back = (filter: EventFilter | EventFilter[], text: string): Search => ({ filters: [filter].flat(), from: seq, direction: 'backward', what: text });
  const id = Number(a);
  switch (what) {
    case 'task':
      return ctx.blocked
        ? back({ kinds: ['sched_block', 'sched_sleep'], tids: [id] }, 'the start of its wait')
        : back({ tids: [id] }, 'its last event');
    case 'holder':
      return back({ kinds: ['rwsem_acquire', 'spin_lock'], tids: ctx.holder === undefined ? undefined : [ctx.holder], ...lockField(b!, id) }, 'the acquisition');
    case 'waiter':
      return back({ kinds: ['rwsem_contended', 'spin_contended'], tids: ctx.waiter === undefined ? undefined : [ctx.waiter], ...lockField(b!, id) }, 'the start of the wait');
    case 'vma': return back(changedObject('vma', id), `the last change of VMA ${id}`);
    case 'folio': return back(changedObject('folio', id), `the last change of folio ${id}`);
    case 'mm': return back(changedObject('mm', id), `the last change of mm ${id}`);
    case 'pte': {
      const span = entrySpan(ctx.tableLevel ?? PtLevel.codes.pte);
      const lo = (ctx.tableBase ?? 0) + Number(b) * span;
      return back(entryWrites(id, lo, lo + span - 1), `the last write of entry ${b} (${hex(lo)})`);
    }
    case 'rcu': return back({ kinds: ['rcu_gp_start', 'rcu_gp_end', 'call_rcu', 'rcu_callback'] }, 'the last grace-period event');
    case 'request': return back({ kinds: ['request_begin'], tids: ctx.holder === undefined ? undefined : [ctx.holder], fields: { req: Number(b) } }, 'its request_begin');
    default: return null;
  }
}

/** The lock a holder or waiter item is about: rwsems by `sem`, spinlocks by `lock`. */
function lockField(type: string, id: number): Pick<EventFilter, 'anyField'> {
  const field = type === 'spin' ? 'lock' : 'sem';
  return { anyField: kindsWithField(field).map((kind) => ({ kind, field, lo: id, hi: id })) };
}

/** Bytes of address space one entry of a table at `level` maps (x86-64, 4-level). */
function entrySpan(level: number): number {
  return 4096 * 512 ** (level - 1);
}
