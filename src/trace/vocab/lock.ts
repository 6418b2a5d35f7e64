/**
 * lock: mmap_lock tracepoints (include/trace/events/mmap_lock.h), rw_semaphore internals
 * (kernel/locking/rwsem.c), spinlocks, RCU, IRQ-off regions and per-VMA locks (mm/mmap_lock.c).
 */
import { defineEnum, kind } from './define.js';

/** An rwsem is taken for read or for write. */
export const RwsemMode = defineEnum('rwsem_modes', { read: 0, write: 1 });

/**
 * How an rwsem was acquired: on the fast path, by an optimistic steal, granted to a woken waiter
 * (handed off), or by downgrading a write hold.
 */
export const RwsemHow = defineEnum('rwsem_hows', { fast: 0, steal: 1, woken: 2, downgrade: 3, trylock: 4 });

/**
 * vma_start_read()'s outcome: ok; NULL because the VMA is write-locked or readers are excluded
 * (`locked_out`); -EAGAIN because it is detached; or it belongs to another mm (a reused object).
 */
export const VmaReadResult = defineEnum('vma_read_results', { ok: 0, locked_out: 1, detached: 2, foreign: 3 });

/** vm_refcnt's VM_REFCNT_EXCLUDE_READERS_FLAG (include/linux/mm_types.h): a writer excludes readers. */
export const VM_REFCNT_EXCLUDE_READERS_FLAG = 1 << 30;

/** Names of the vmstat counters the per-VMA lock path counts (vmstat.counter). */
export const VmaLockStat = {
  SUCCESS: 'VMA_LOCK_SUCCESS', ABORT: 'VMA_LOCK_ABORT', RETRY: 'VMA_LOCK_RETRY', MISS: 'VMA_LOCK_MISS',
} as const;

export const lock = {
  // mmap_lock tracepoints
  mmap_lock_start_locking: kind({ code: 10, fields: { mm: 'id', memcg_id: 'int', write: 'bool' }, doc: 'trace_mmap_lock_start_locking' }),
  mmap_lock_acquire_returned: kind({
    code: 11, fields: { mm: 'id', memcg_id: 'int', write: 'bool', success: 'bool' }, doc: 'trace_mmap_lock_acquire_returned',
  }),
  mmap_lock_released: kind({ code: 12, fields: { mm: 'id', memcg_id: 'int', write: 'bool' }, doc: 'trace_mmap_lock_released' }),
  mm_lock_seq: kind({ code: 13, fields: { mm: 'id', old: 'int', new: 'int' }, doc: 'mm->mm_lock_seq changed (mmap_write_lock / unlock)' }),
  // rw_semaphore
  rwsem_acquire: kind({
    code: 14, fields: { sem: 'id', class: 'name', mode: RwsemMode, how: RwsemHow },
    doc: 'an rwsem is acquired',
  }),
  rwsem_contended: kind({
    code: 15, fields: { sem: 'id', class: 'name', mode: RwsemMode, waiters: 'int' },
    doc: 'the task queues on an rwsem (waiters: the queue length before it)',
  }),
  rwsem_release: kind({ code: 16, fields: { sem: 'id', class: 'name', mode: RwsemMode }, doc: 'an rwsem is released' }),
  rwsem_handoff: kind({ code: 17, fields: { sem: 'id', class: 'name' }, doc: 'RWSEM_FLAG_HANDOFF is set: the first waiter gets the lock next' }),
  rwsem_fail: kind({
    code: 18, fields: { sem: 'id', class: 'name', mode: RwsemMode, err: 'int' },
    doc: 'a killable acquisition gave up: err is -EINTR (a fatal signal while waiting)',
  }),
  rwsem_wake: kind({
    code: 19, fields: { sem: 'id', class: 'name', mode: RwsemMode, count: 'int' }, blob: { name: 'woken', type: 'u32s' }, cost: 0,
    doc: 'rwsem_mark_wake(): read: the lock is granted to the woken readers (their tids) in this step; write: the writer at the head is woken, still queued, to take the lock itself (its rwsem_acquire, how=woken)',
  }),
  // spinlocks (PTL, pmd lock, page_table_lock, arg_lock, lru_lock)
  spin_lock: kind({
    code: 20, fields: { lock: 'id', class: 'name', waited: 'bool', trylock: 'bool' },
    doc: 'a spinlock is taken (waited: after spinning; trylock: by spin_trylock, which never spins)',
  }),
  spin_contended: kind({
    code: 21, fields: { lock: 'id', class: 'name', owner: 'id', queued: 'bool' },
    doc: 'a spinlock is held by `owner`: queued, the task now spins in its queue; else a spin_trylock failed',
  }),
  spin_unlock: kind({ code: 22, fields: { lock: 'id', class: 'name' }, doc: 'a spinlock is released' }),
  // RCU
  rcu_read_lock: kind({ code: 25, fields: { nesting: 'int' }, doc: 'rcu_read_lock (nesting after the step)' }),
  rcu_read_unlock: kind({ code: 26, fields: { nesting: 'int' }, doc: 'rcu_read_unlock (nesting after the step)' }),
  call_rcu: kind({ code: 27, fields: { cb: 'id', what: 'name', obj: 'id' }, doc: 'a callback is queued for after the next grace period' }),
  rcu_gp_start: kind({ code: 28, fields: { gp: 'int', readers: 'int' }, doc: 'a grace period starts, waiting for `readers` readers' }),
  rcu_gp_end: kind({ code: 29, fields: { gp: 'int', callbacks: 'int' }, doc: 'a grace period ends; `callbacks` become ready' }),
  rcu_callback: kind({ code: 30, fields: { cb: 'id', what: 'name', obj: 'id' }, doc: 'an RCU callback runs' }),
  local_irq_disable: kind({
    code: 31, fields: { depth: 'int', rcu: 'int' },
    doc: 'IRQs off on this CPU (depth after the step); an IRQ-off region is also an RCU read-side section, rcu is the nesting after it',
  }),
  local_irq_enable: kind({ code: 32, fields: { depth: 'int', rcu: 'int' }, doc: 'IRQs on again (depth and RCU nesting after the step)' }),
  ipi_sync: kind({
    code: 125, fields: { waited: 'int' },
    doc: 'tlb_remove_table_sync_one(): an empty IPI broadcast, complete once no CPU runs with IRQs off (waited: IRQ-off tasks waited for); not an RCU grace period',
  }),
  // per-VMA locks
  vma_start_read: kind({ code: 35, fields: { vma: 'id', result: VmaReadResult, refcnt: 'int' }, doc: 'vma_start_read() and its outcome' }),
  vma_lock_seq_check: kind({
    code: 131, fields: { vma: 'id', vm_lock_seq: 'int', mm_lock_seq: 'int' },
    doc: "vma_start_read()'s lockless check passed: the VMA was not write-locked in the current mmap write section when read; the reference is taken at the task's next step",
  }),
  vma_end_read: kind({ code: 36, fields: { vma: 'id', refcnt: 'int' }, doc: 'vma_end_read()' }),
  vma_start_write: kind({ code: 37, fields: { vma: 'id', waited: 'bool', vm_lock_seq: 'int' }, doc: 'vma_start_write() (waited: for readers to drain)' }),
  vma_start_read_locked: kind({ code: 38, fields: { vma: 'id', refcnt: 'int' }, doc: 'vma_start_read_locked(): a read lock taken under mmap_lock' }),
  vma_refcnt: kind({ code: 39, fields: { vma: 'id', old: 'int', new: 'int' }, doc: 'vm_refcnt changed (may carry VM_REFCNT_EXCLUDE_READERS_FLAG)' }),
  vmstat: kind({ code: 40, fields: { counter: 'name' }, doc: 'a vmstat event counter (VMA_LOCK_SUCCESS / ABORT / RETRY / MISS) counted once' }),
  vma_lock_wait_retry: kind({
    code: 42, fields: { addr: 'addr', retries: 'int' },
    doc: 'lock_vma_under_rcu_wait() (seeds/004): a retry after waiting out a writer on mmap_lock',
  }),
} as const;
