/** The human form of a replay state document: what a kernel developer reads at a breakpoint. */
import type { StateDoc, VmaState } from '../replay/state.js';
import { hex, table } from './output.js';
import { hugeLeafNote, LruList, PageFlags, PtLevel, VM_REFCNT_EXCLUDE_READERS_FLAG, VmFlags } from '../trace/vocab/index.js';

/**
 * The vm_flags named in the VMA table. Read, write and exec are the prot column; the VM_MAY* and
 * accounting bits say nothing at a breakpoint, so they are left out.
 */
const VM_FLAGS_SHOWN = ['VM_SHARED', 'VM_GROWSDOWN', 'VM_PFNMAP', 'VM_LOCKED', 'VM_IO', 'VM_HUGETLB'] as const;

function vmaProt(v: VmaState): string {
  const has = (bit: number) => (v.flags & bit) !== 0;
  const { VM_READ, VM_WRITE, VM_EXEC, VM_SHARED } = VmFlags.bits;
  return `${has(VM_READ) ? 'r' : '-'}${has(VM_WRITE) ? 'w' : '-'}${has(VM_EXEC) ? 'x' : '-'}${has(VM_SHARED) ? 's' : 'p'}`;
}

/** `shared|locked`: the set bits' names without their VM_/PG_ prefix, lower case; `-` for none. */
function shortNames(names: string[]): string {
  return names.map((n) => n.replace(/^(VM|PG)_/, '').toLowerCase()).join('|') || '-';
}

function vmFlagNames(flags: number): string {
  return shortNames(VM_FLAGS_SHOWN.filter((n) => (flags & VmFlags.bits[n]) !== 0));
}

function pageFlagNames(flags: number): string {
  return shortNames(PageFlags.names(flags));
}

function lruName(lru: number): string {
  return lru === LruList.codes.none ? '-' : LruList.name(lru);
}

function refcnt(v: number): string {
  const excluded = (v & VM_REFCNT_EXCLUDE_READERS_FLAG) !== 0;
  return excluded ? `EXCLUDE_READERS+${v - VM_REFCNT_EXCLUDE_READERS_FLAG}` : String(v);
}

/**
 * The state as text under `header`. `requestsLeftOut`: requests that ended before the ones the
 * document lists (replay's --requests), counted in place of them.
 */
export function renderState(doc: StateDoc, header: string[], requestsLeftOut = 0): string {
  const taskName = new Map(doc.tasks.map((t) => [t.tid, t.name]));
  const who = (tid: number | null) => (tid === null ? '-' : `${taskName.get(tid) ?? '?'}(${tid})`);
  const lockSeq = new Map(doc.mms.map((m) => [m.mm, m.mm_lock_seq]));
  const out: string[] = [...header, ''];

  out.push('TASKS');
  out.push(table(['tid', 'task', 'state', 'waited', 'request', 'stack'], doc.tasks.map((t) => {
    let state: string = t.state;
    if (t.blockedOn) state += ` on ${t.blockedOn.wait} #${t.blockedOn.on} since ${t.blockedOn.since}${t.blockedOn.killable ? ' (killable)' : ''}`;
    if (t.wakeAt !== null) state += ` until ${t.wakeAt}`;
    if (t.rcuNesting) state += ` [rcu ${t.rcuNesting}]`;
    if (t.irqsOff) state += ' [irqs off]';
    return [t.tid, t.name, state, t.waitTicks, t.request ?? '-', t.stack.join(' > ') || '-'];
  })).replace(/^/gm, '  '));

  out.push('', 'LOCKS');
  const mmOfLock = new Map(doc.mms.map((m) => [m.mmapLock, m]));
  for (const s of doc.locks.rwsems) {
    const mm = mmOfLock.get(s.sem);
    const what = mm ? `mmap_lock of mm ${mm.mm} (mm_lock_seq ${mm.mm_lock_seq})` : `${s.class} #${s.sem}`;
    const waiters = s.waiters.map((w) => `${who(w.tid)}:${w.mode}`).join(', ') || '-';
    out.push(`  ${what}: writer ${who(s.writer)}; readers ${s.readers.map(who).join(', ') || '-'}; waiters ${waiters}${s.handoff ? '; HANDOFF' : ''}`);
  }
  for (const s of doc.locks.spinlocks) {
    out.push(`  ${s.class} #${s.lock}: owner ${who(s.owner)}; waiters ${s.waiters.map(who).join(', ') || '-'}`);
  }
  if (doc.locks.rwsems.length + doc.locks.spinlocks.length === 0) out.push('  (no lock held or waited for)');
  const readers = doc.tasks.filter((t) => t.rcuNesting > 0).map((t) => who(t.tid));
  out.push(`  RCU: grace period ${doc.rcu.gpSeq}; readers ${readers.join(', ') || '-'}; grace period waits for ${doc.rcu.gpWaitingFor.map(who).join(', ') || '-'}; callbacks pending ${doc.rcu.pending.length}, in grace period ${doc.rcu.inGracePeriod.length}`);

  out.push('', 'MMS');
  for (const m of doc.mms) {
    out.push(`  mm ${m.mm} pid ${m.pid}: mm_lock_seq ${m.mm_lock_seq}${m.mm_lock_seq % 2 ? ' (write-locked)' : ''}; argv ${hex(m.arg_start)}-${hex(m.arg_end)}, env ${hex(m.env_start)}-${hex(m.env_end)}`);
  }

  out.push('', 'VMAS');
  out.push(table(['vma', 'mm', 'range', 'prot', 'flags', 'backing', 'state', 'vm_refcnt', 'vm_lock_seq'], doc.vmas.map((v) => [
    v.vma, v.mm, `${hex(v.start)}-${hex(v.end)}`, vmaProt(v), vmFlagNames(v.flags),
    v.file ? `${v.file}+${v.pgoff}` : 'anon', v.attached ? 'attached' : 'detached', refcnt(v.vm_refcnt),
    v.vm_lock_seq === lockSeq.get(v.mm) ? `${v.vm_lock_seq} (write-locked)` : String(v.vm_lock_seq),
  ])).replace(/^/gm, '  '));

  out.push('', 'PAGE TABLES');
  for (const t of doc.tables) {
    const level = PtLevel.name(t.level);
    const entries = t.entries.map(([i, v]) => `[${i}]=${hex(v)}${hugeLeafNote(level, v)}`).join(' ');
    out.push(`  ${level.toUpperCase()} #${t.table} at ${hex(t.base)}${t.pendingFree ? ' (awaiting RCU free)' : ''}: ${entries || '(empty)'}`);
  }

  out.push('', 'FOLIOS');
  out.push(table(['folio', 'pfn', 'order', 'ref', 'map', 'flags', 'lru', 'mapping', 'data'], doc.folios.map((f) => [
    f.folio, hex(f.pfn), f.order, f.refcount, f.mapcount, pageFlagNames(f.flags), lruName(f.lru),
    f.file ? `${f.file}:${f.index}` : '-', f.dataHash,
  ])).replace(/^/gm, '  '));

  out.push('', 'REQUESTS');
  if (requestsLeftOut > 0) out.push(`  (${requestsLeftOut} earlier request(s) ended; --requests=all lists them)`);
  for (const r of doc.requests) {
    const result = r.result === null ? 'in flight' : `${r.result} bytes, hash ${r.dataHash}`;
    out.push(`  ${r.id} ${r.op} addr ${hex(r.addr)} len ${r.len}: ${result}`);
  }
  if (doc.requests.length + requestsLeftOut === 0) out.push('  (none yet)');
  const c = doc.checks;
  out.push('', `CHECKS: ${c.warnings} warnings, ${c.useAfterFree} use-after-free, ${c.kernelFaults} kernel faults${c.deadlock ? ', DEADLOCK' : ''}`);
  return out.join('\n');
}
