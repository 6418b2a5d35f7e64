/**
 * The replay Model read off a live emulated kernel: what re-execution prints at `--until`, and what
 * the recorder stores as a snapshot. Reads only; emits nothing. Call it between steps (from a
 * simulator hook), when the kernel is exactly in the state after the last stamped event.
 */
import { kernel, type Kernel } from '../linux/kernel.js';
import { rcu, rcu_read_nesting } from '../linux/kernel/rcu/tree.js';
import { task_of } from '../linux/kernel/sched.js';
import { requests } from '../linux/kernel/request.js';
import { files } from '../linux/mm/filemap.js';
import { pages } from '../linux/mm/folio.js';
import { mms, PAGE_SIZE, vmas } from '../linux/mm/mm_types.js';
import { swap_cache_peek } from '../linux/mm/swap_state.js';
import { swap_info } from '../linux/mm/swapfile.js';
import { tables } from '../linux/mm/pgtable.js';
import { locks } from '../linux/kernel/locking/registry.js';
import { RwSemaphore } from '../linux/kernel/locking/rwsem.js';
import { K } from '../trace/vocab/index.js';
import { TaskState as SimTaskState } from '../sim/task.js';
import type { Sim } from '../sim/sim.js';
import { emptyModel, type MFolio, type Model } from './model-types.js';

function taskState(state: SimTaskState): 'runnable' | 'blocked' | 'sleeping' | 'done' {
  switch (state) {
    case SimTaskState.Blocked:
      return 'blocked';
    case SimTaskState.Sleeping:
      return 'sleeping';
    case SimTaskState.Done:
      return 'done';
    default:
      return 'runnable';
  }
}

/**
 * The model of the kernel's state now. `requestLog: false` leaves the log empty: a stored snapshot
 * does not carry it (snapshot.ts), and copying a log that grows with the run at every snapshot
 * would make recording cost grow with the square of its length.
 */
export function modelFromKernel(sim: Sim, k: Kernel = kernel(), opts: { requestLog?: boolean } = {}): Model {
  const m = emptyModel();
  m.seq = sim.seq;
  m.tick = sim.tick;
  m.lastTid = sim.lastTid;
  const rcuState = rcu(k);
  for (const t of sim.tasks) {
    if (!t.started) continue;
    const ts = task_of(t);
    const state = taskState(t.state);
    m.tasks.set(t.tid, {
      tid: t.tid,
      name: t.name,
      state,
      on: state === 'blocked' ? t.blockedOn : 0,
      wait: state === 'blocked' ? sim.nameOf(t.waitClass) : '',
      since: state === 'blocked' || state === 'sleeping' ? t.blockedSince : 0,
      killable: state === 'blocked' && t.killableWait,
      wakeAt: state === 'sleeping' ? t.wakeAt : 0,
      stack: [...ts.stack],
      request: ts.request,
      waitTicks: t.waitTicks,
      rcuNesting: rcu_read_nesting(t),
      irqsOff: ts.irqs_disabled,
    });
  }
  for (const mm of mms(k).values()) {
    m.mms.set(mm.id, {
      mm: mm.id, pid: mm.owner_pid, mmapLock: mm.mmap_lock.id, mm_lock_seq: mm.mm_lock_seq,
      arg_start: mm.arg_start, arg_end: mm.arg_end, env_start: mm.env_start, env_end: mm.env_end,
    });
  }
  for (const v of vmas(k).values()) {
    m.vmas.set(v.id, {
      vma: v.id, mm: v.vm_mm.id, start: v.vm_start, end: v.vm_end, flags: v.vm_flags,
      file: v.vm_file ? v.vm_file.name : null, pgoff: v.vm_pgoff, attached: v.vm_refcnt !== 0,
      vm_refcnt: v.vm_refcnt, vm_lock_seq: v.vm_lock_seq,
    });
  }
  for (const t of tables(k).values()) {
    if (t.freed) continue;
    const entries = new Map<number, number>();
    for (let i = 0; i < t.entries.length; i++) if (t.entries[i] !== 0) entries.set(i, t.entries[i]!);
    m.tables.set(t.id, { table: t.id, level: t.level, base: t.base, entries, pendingFree: t.pendingFree });
  }
  const seen = new Set<number>();
  for (const f of pages(k).values()) {
    if (seen.has(f.id)) continue;
    seen.add(f.id);
    const folio: MFolio = {
      folio: f.id, pfn: f.pfn, order: f.order, refcount: f._refcount, mapcount: f.mapcount, flags: f.flags,
      lru: f.lru, file: f.mapping ? f.mapping.name : null, index: f.index, data: f.bytes.clone(),
    };
    m.folios.set(f.id, folio);
  }
  const si = swap_info(k);
  for (let offset = 0; si && offset < si.max; offset++) {
    const count = si.swap_map[offset]!;
    const cache = si.has_cache[offset] !== 0;
    if (count === 0 && !cache) continue;
    const folio = swap_cache_peek(offset, k);
    const data = si.data.get(offset)?.slice() ?? new Uint8Array(PAGE_SIZE);
    m.swap.set(offset, { offset, count, cache, folio: folio ? folio.id : null, data });
  }
  for (const f of files(k).values()) m.files.set(f.name, { name: f.name, data: f.data.slice() });
  for (const lock of locks(k)) {
    if (lock instanceof RwSemaphore) {
      m.rwsems.set(lock.id, {
        sem: lock.id, class: lock.cls.text, readers: lock.readerTasks.map((t) => t.tid),
        writer: lock.writer ? lock.writer.tid : null,
        waiters: lock.waiters.map((w) => ({ tid: w.task.tid, mode: w.write ? 'write' : 'read' })),
        handoff: lock.handoff,
      });
    } else {
      m.spins.set(lock.id, {
        lock: lock.id, class: lock.cls.text, owner: lock.owner ? lock.owner.tid : null,
        waiters: lock.waiters.map((t) => t.tid),
      });
    }
  }
  m.rcu = {
    gpSeq: rcuState.gp_seq,
    gpWaitingFor: [...rcuState.waitingFor].map((t) => t.tid),
    pending: rcuState.pending.map((cb) => cb.id),
    inGracePeriod: rcuState.inGracePeriod.map((cb) => cb.id),
  };
  if (opts.requestLog !== false) m.requests = requests(k).clone();
  m.checks = {
    warnings: sim.kindCount(K.warn),
    useAfterFree: sim.kindCount(K.use_after_free),
    kernelFaults: sim.kindCount(K.kernel_fault),
    deadlock: sim.kindCount(K.deadlock) > 0,
  };
  return m;
}
