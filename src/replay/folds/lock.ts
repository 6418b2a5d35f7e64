/**
 * rwsems, spinlocks, RCU read sections and grace periods, IRQ-off regions, per-VMA lock counts.
 *
 * Who holds what (rwsem readers and writer, spinlock owners, RCU nesting, IRQ-off depth) is not
 * worked out here: each model has a lock-holder table (src/reduce/lock-holders.ts) fed its lock
 * events, and writes down the holds it hears begin and end. The table is made, from the model's own
 * records, the first time a model folds a lock event, so a model decoded from a snapshot or a
 * checkpoint starts it from the holders it records. The model records no per-VMA lock holders
 * (vm_refcnt counts readers, not who), so the per-VMA lock events are not fed to it.
 *
 * What only the state document shows stays here: the rwsem queues and HANDOFF, the spinlock queues
 * as the document lists them, and vm_refcnt, vm_lock_seq and mm_lock_seq as the events give them.
 */
import { LockHolders, type Hold, type HoldListener } from '../../reduce/lock-holders.js';
import { VM_REFCNT_EXCLUDE_READERS_FLAG, type EventOf, type TraceEvent } from '../../trace/vocab/index.js';
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

/** The holds the model records: rwsem readers and writers, spinlock owners (VMA holders it has not). */
function holdRecorder(m: Model): HoldListener {
  const begins = (tid: number, object: Hold['object'], id: number, cls: string, mode: Hold['mode']) => {
    if (object === 'spin') spin(m, id, cls).owner = tid;
    else if (object === 'rwsem' && mode === 'write') rwsem(m, id, cls).writer = tid;
    else if (object === 'rwsem') rwsem(m, id, cls).readers.push(tid);
  };
  const ends = (tid: number, object: Hold['object'], id: number, cls: string, mode: Hold['mode']) => {
    if (object === 'spin') spin(m, id, cls).owner = null;
    else if (object === 'rwsem' && mode === 'write') rwsem(m, id, cls).writer = null;
    else if (object === 'rwsem') removeOne(rwsem(m, id, cls).readers, (r) => r === tid);
  };
  return {
    held: (h) => begins(h.tid, h.object, h.id, h.class, h.mode),
    released: (h) => ends(h.tid, h.object, h.id, h.class, h.mode),
    releasedUnseen: ends,
  };
}

/** Where a model keeps its table: a property no encoding sees (snapshots and checkpoints leave it out). */
const HOLDERS = Symbol('lock holders');
type WithHolders = Model & { [HOLDERS]?: LockHolders };

/** The model's lock-holder table, started from the model's records the first time it is asked for. */
function holders(m: WithHolders): LockHolders {
  let table = m[HOLDERS];
  if (table === undefined) {
    table = new LockHolders();
    table.seed({ rwsems: m.rwsems.values(), spins: m.spins.values(), tasks: m.tasks.values() });
    table.onHold(holdRecorder(m));
    Object.defineProperty(m, HOLDERS, { value: table, enumerable: false });
  }
  return table;
}

/** Hand `e` to the model's lock-holder table (which writes the holds it changes into the model). */
function hold(m: Model, e: TraceEvent): LockHolders {
  const table = holders(m);
  table.event(e);
  return table;
}

/** A task left its last RCU read-side section: the grace period no longer waits for it. */
function leftRcu(m: Model, tid: number, nesting: number): void {
  if (nesting === 0) removeOne(m.rcu.gpWaitingFor, (t) => t === tid);
}

/** RCU nesting and IRQ-off depth after the event, as the lock-holder table has them. */
function rcuState(m: Model, e: EventOf<'rcu_read_lock' | 'rcu_read_unlock' | 'local_irq_disable' | 'local_irq_enable'>): void {
  const table = hold(m, e);
  const task = m.tasks.get(e.tid);
  if (!task) return;
  task.rcuNesting = table.rcuNesting(e.tid);
  task.irqsOff = table.irqsOff(e.tid);
  if (e.kind !== 'rcu_read_lock') leftRcu(m, e.tid, task.rcuNesting);
}

function setVmRefcnt(m: Model, vma: number, refcnt: number): void {
  const v = m.vmas.get(vma);
  if (v) v.vm_refcnt = refcnt;
}

export const lockFolds: Folds = {
  rwsem_acquire(m, e) {
    const s = rwsem(m, e.sem, e.class);
    hold(m, e);
    // A woken writer takes the lock itself when it runs (rwsem_try_write_lock), leaving the queue.
    if (e.how === 'woken' && e.mode === 'write') {
      removeOne(s.waiters, (w) => w.tid === e.tid);
      s.handoff = false;
    }
  },
  rwsem_contended(m, e) {
    rwsem(m, e.sem, e.class).waiters.push({ tid: e.tid, mode: e.mode });
  },
  rwsem_release(m, e) {
    rwsem(m, e.sem, e.class);
    hold(m, e);
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
    hold(m, e);
    // The woken readers now hold it and leave the queue; a woken writer stays queued (and HANDOFF
    // stays) until its rwsem_acquire.
    if (e.mode === 'read') {
      s.handoff = false;
      for (const woken of e.woken ?? []) removeOne(s.waiters, (w) => w.tid === woken);
    }
    endWaits(m, e);
  },
  spin_lock(m, e) {
    spin(m, e.lock, e.class);
    hold(m, e);
  },
  spin_contended(m, e) {
    hold(m, e);
    // A failed spin_trylock does not queue.
    if (e.queued) spin(m, e.lock, e.class).waiters.push(e.tid);
  },
  spin_unlock(m, e) {
    // The head of the queue leaves it: the table hands it the lock.
    spin(m, e.lock, e.class).waiters.shift();
    hold(m, e);
  },
  rcu_read_lock: rcuState,
  rcu_read_unlock: rcuState,
  local_irq_disable: rcuState,
  local_irq_enable: rcuState,
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
