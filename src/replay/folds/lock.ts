/** rwsems, spinlocks, RCU read sections and grace periods, IRQ-off regions, per-VMA lock counts. */
import { VM_REFCNT_EXCLUDE_READERS_FLAG, type EventOf } from '../../trace/vocab/index.js';
import type { Folds, Model, MRwsem, MSpin } from '../model-types.js';
import { endWaits } from './sched.js';

function removeOne<T>(list: T[], pred: (x: T) => boolean): void {
  const i = list.findIndex(pred);
  if (i >= 0) list.splice(i, 1);
}

/** The rwsem's record, made on its first event (locks are not announced before they are used). */
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

/** A task left its last RCU read-side section: the grace period no longer waits for it. */
function leftRcu(m: Model, tid: number, nesting: number): void {
  if (nesting === 0) removeOne(m.rcu.gpWaitingFor, (t) => t === tid);
}

/** IRQs off or on again: the depth and the RCU nesting after the step (an IRQ-off region is a read section). */
function irqRegion(m: Model, e: EventOf<'local_irq_disable' | 'local_irq_enable'>): void {
  const task = m.tasks.get(e.tid);
  if (!task) return;
  task.irqsOff = e.depth;
  task.rcuNesting = e.rcu;
  leftRcu(m, e.tid, e.rcu);
}

function setVmRefcnt(m: Model, vma: number, refcnt: number): void {
  const v = m.vmas.get(vma);
  if (v) v.vm_refcnt = refcnt;
}

export const lockFolds: Folds = {
  rwsem_acquire(m, e) {
    const s = rwsem(m, e.sem, e.class);
    // A woken reader was made holder by the rwsem_wake that granted it the lock; a writer takes
    // it itself when it runs (rwsem_try_write_lock), leaving the queue.
    if (e.how === 'woken' && e.mode === 'read') return;
    if (e.how === 'woken') {
      removeOne(s.waiters, (w) => w.tid === e.tid);
      s.writer = e.tid;
      s.handoff = false;
      return;
    }
    if (e.how === 'downgrade') {
      s.writer = null;
      s.readers.push(e.tid);
    } else if (e.mode === 'write') {
      s.writer = e.tid;
    } else {
      s.readers.push(e.tid);
    }
  },
  rwsem_contended(m, e) {
    rwsem(m, e.sem, e.class).waiters.push({ tid: e.tid, mode: e.mode });
  },
  rwsem_release(m, e) {
    const s = rwsem(m, e.sem, e.class);
    if (e.mode === 'write') s.writer = null;
    else removeOne(s.readers, (r) => r === e.tid);
  },
  rwsem_handoff(m, e) {
    rwsem(m, e.sem, e.class).handoff = true;
  },
  rwsem_fail(m, e) {
    // A killable wait that gave up (-EINTR) leaves the queue; a failed trylock (0) never joined it.
    // The last waiter to leave takes HANDOFF with it (rwsem_del_waiter).
    if (e.err === 0) return;
    const s = rwsem(m, e.sem, e.class);
    removeOne(s.waiters, (w) => w.tid === e.tid);
    if (s.waiters.length === 0) s.handoff = false;
  },
  rwsem_wake(m, e) {
    const s = rwsem(m, e.sem, e.class);
    // A woken writer stays queued (and HANDOFF stays) until its rwsem_acquire.
    if (e.mode === 'read') {
      s.handoff = false;
      for (const woken of e.woken ?? []) {
        removeOne(s.waiters, (w) => w.tid === woken);
        s.readers.push(woken);
      }
    }
    endWaits(m, e);
  },
  spin_lock(m, e) {
    spin(m, e.lock, e.class).owner = e.tid;
  },
  spin_contended(m, e) {
    // A failed spin_trylock does not queue.
    if (e.queued) spin(m, e.lock, e.class).waiters.push(e.tid);
  },
  spin_unlock(m, e) {
    const s = spin(m, e.lock, e.class);
    s.owner = s.waiters.shift() ?? null; // a queued spinlock passes to the head of its queue
  },
  rcu_read_lock(m, e) {
    const task = m.tasks.get(e.tid);
    if (task) task.rcuNesting = e.nesting;
  },
  rcu_read_unlock(m, e) {
    const task = m.tasks.get(e.tid);
    if (!task) return;
    task.rcuNesting = e.nesting;
    leftRcu(m, e.tid, e.nesting);
  },
  local_irq_disable: irqRegion,
  local_irq_enable: irqRegion,
  call_rcu(m, e) {
    m.rcu.pending.push(e.cb);
  },
  rcu_gp_start(m, e) {
    m.rcu.gpSeq = e.gp;
    m.rcu.inGracePeriod = m.rcu.pending;
    m.rcu.pending = [];
    m.rcu.gpWaitingFor = [...m.tasks.values()].filter((t) => t.rcuNesting > 0).map((t) => t.tid);
  },
  rcu_callback(m, e) {
    removeOne(m.rcu.inGracePeriod, (cb) => cb === e.cb);
  },
  vma_start_read(m, e) {
    setVmRefcnt(m, e.vma, e.refcnt);
  },
  vma_end_read(m, e) {
    setVmRefcnt(m, e.vma, e.refcnt);
  },
  vma_start_read_locked(m, e) {
    setVmRefcnt(m, e.vma, e.refcnt);
  },
  vma_refcnt(m, e) {
    setVmRefcnt(m, e.vma, e.new);
  },
  vma_start_write(m, e) {
    const v = m.vmas.get(e.vma);
    if (!v) return;
    v.vm_lock_seq = e.vm_lock_seq;
    // The writer let readers back in once it owned the VMA: only the exclusion flag goes.
    if (v.vm_refcnt & VM_REFCNT_EXCLUDE_READERS_FLAG) v.vm_refcnt -= VM_REFCNT_EXCLUDE_READERS_FLAG;
  },
  mm_lock_seq(m, e) {
    const mm = m.mms.get(e.mm);
    if (mm) mm.mm_lock_seq = e.new;
  },
};
