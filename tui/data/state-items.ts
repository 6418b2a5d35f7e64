/**
 * The state panel's lines: the state document at the cursor cut down to what a reader of one event
 * needs (tasks with their stacks, locks with holders and waiters, RCU, the VMAs, page-table entries
 * and folios of the request in flight at the cursor), one selectable line per item, each knowing
 * which query finds the event that last set it.
 */
import type { StateDoc, TableState } from '../../src/replay/state.js';
import { hugeLeafNote, PageFlags, PtLevel, VmFlags } from '../../src/trace/vocab/index.js';
import { lastSetter, type Search } from './origin.js';
import type { StateAtCursor } from './state-at.js';

export interface PanelLine {
  /** A section heading has no key and cannot be selected. */
  key: string | null;
  text: string;
  /** The cursor's event changed this item. */
  changed: boolean;
  origin: Search | null;
}

const hex = (v: number) => `0x${v.toString(16)}`;

function heading(text: string): PanelLine {
  return { key: null, text, changed: false, origin: null };
}

/** The request in flight of the task that made the cursor's event, if any. */
function cursorRequest(doc: StateDoc, tid: number) {
  const id = doc.tasks.find((t) => t.tid === tid)?.request;
  return id ? doc.requests.find((r) => r.id === id) : undefined;
}

/** Does a table's entry `index` map part of [lo, hi)? */
function entryOverlaps(t: TableState, index: number, lo: number, hi: number): boolean {
  const span = 4096 * 512 ** (t.level - 1);
  const start = t.base + index * span;
  return start < hi && start + span > lo;
}

export function panelLines(s: StateAtCursor, cursorTid: number, touchedFolios: ReadonlySet<number>): PanelLine[] {
  const doc = s.doc;
  const name = new Map(doc.tasks.map((t) => [t.tid, t.name]));
  const who = (tid: number | null) => (tid === null ? '-' : `${name.get(tid) ?? tid}`);
  const line = (key: string, text: string, ctx: Parameters<typeof lastSetter>[2] = {}, changedKey = key): PanelLine => ({
    key, text, changed: s.changed.has(changedKey), origin: lastSetter(key, s.seq, ctx),
  });
  const out: PanelLine[] = [heading('TASKS')];
  for (const t of doc.tasks) {
    if (t.state === 'done') continue;
    let state: string = t.state;
    if (t.blockedOn) state = `blocked on ${t.blockedOn.wait} since ${t.blockedOn.since}`;
    if (t.wakeAt !== null) state = `asleep until ${t.wakeAt}`;
    const rcu = t.rcuNesting ? ' rcu' : '';
    const stack = t.stack.length ? ` ${t.stack.join('>')}` : '';
    out.push(line(`task:${t.tid}`, `${t.name}(${t.tid}) ${state}${rcu}${t.request ? ` ${t.request}` : ''}${stack}`, { blocked: t.blockedOn !== null || t.wakeAt !== null }));
  }
  out.push(heading('LOCKS'));
  const mmOfLock = new Map(doc.mms.map((m) => [m.mmapLock, m.mm]));
  for (const sem of doc.locks.rwsems) {
    const what = mmOfLock.has(sem.sem) ? `mmap_lock(mm ${mmOfLock.get(sem.sem)})` : `${sem.class}#${sem.sem}`;
    const key = `rwsem:${sem.sem}`;
    if (sem.writer !== null) out.push(line(`holder:${sem.sem}:rwsem`, `${what} W ${who(sem.writer)}`, { holder: sem.writer }, key));
    if (sem.readers.length) out.push(line(`holder:${sem.sem}:rwsem`, `${what} R ${sem.readers.map(who).join(',')}`, { holder: sem.readers[0] }, key));
    for (const w of sem.waiters) out.push(line(`waiter:${sem.sem}:rwsem`, `${what} waiter ${who(w.tid)}:${w.mode}${sem.handoff ? ' HANDOFF' : ''}`, { waiter: w.tid }, key));
  }
  for (const sp of doc.locks.spinlocks) {
    const key = `spin:${sp.lock}`;
    if (sp.owner !== null) out.push(line(`holder:${sp.lock}:spin`, `${sp.class}#${sp.lock} owner ${who(sp.owner)}`, { holder: sp.owner }, key));
    for (const w of sp.waiters) out.push(line(`waiter:${sp.lock}:spin`, `${sp.class}#${sp.lock} spinner ${who(w)}`, { waiter: w }, key));
  }
  const readers = doc.tasks.filter((t) => t.rcuNesting > 0).map((t) => who(t.tid));
  out.push(line('rcu', `RCU gp ${doc.rcu.gpSeq} readers ${readers.join(',') || '-'} gp waits ${doc.rcu.gpWaitingFor.map(who).join(',') || '-'} cbs ${doc.rcu.pending.length}+${doc.rcu.inGracePeriod.length}`));
  const req = cursorRequest(doc, cursorTid);
  out.push(heading(req ? `REQUEST ${req.id} ${req.op} ${hex(req.addr)} len ${req.len}` : 'REQUEST (none in flight for this task)'));
  if (req) {
    const lo = req.addr;
    const hi = req.addr + Math.max(1, req.len);
    for (const v of doc.vmas) {
      if (v.end <= lo || v.start >= hi) continue;
      const flags = VmFlags.names(v.flags).filter((f) => f !== 'VM_MAYREAD' && f !== 'VM_MAYWRITE' && f !== 'VM_MAYEXEC').map((f) => f.replace(/^VM_/, '').toLowerCase()).join('|');
      out.push(line(`vma:${v.vma}`, `vma ${v.vma} ${hex(v.start)}-${hex(v.end)} ${v.file ?? 'anon'} ${flags} ${v.attached ? 'attached' : 'DETACHED'} ref ${v.vm_refcnt} seq ${v.vm_lock_seq}`));
    }
    for (const t of doc.tables) {
      for (const [i, value] of t.entries) {
        if (!entryOverlaps(t, i, lo, hi)) continue;
        out.push(line(`pte:${t.table}:${i}`, `${PtLevel.name(t.level).toUpperCase()} #${t.table}[${i}] = ${hex(value)}${hugeLeafNote(PtLevel.name(t.level), value)}${t.pendingFree ? ' (table awaits RCU free)' : ''}`, { tableLevel: t.level, tableBase: t.base }));
      }
    }
  }
  const folios = doc.folios.filter((f) => touchedFolios.has(f.folio));
  if (folios.length) out.push(heading('FOLIOS it touched'));
  for (const f of folios) {
    out.push(line(`folio:${f.folio}`, `folio ${f.folio} pfn ${hex(f.pfn)} ref ${f.refcount} map ${f.mapcount} ${PageFlags.format(f.flags)} ${f.file ? `${f.file}:${f.index}` : 'anon'}`));
  }
  const c = doc.checks;
  out.push(heading(`CHECKS ${c.warnings} warnings, ${c.useAfterFree} use-after-free, ${c.kernelFaults} kernel faults${c.deadlock ? ', DEADLOCK' : ''}`));
  return out;
}
