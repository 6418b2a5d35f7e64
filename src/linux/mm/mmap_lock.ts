/**
 * mmap_lock wrappers (include/linux/mmap_lock.h) and per-VMA locks (mm/mmap_lock.c), 7.2 semantics
 * (kernel-spec §1.3, §2.2-§2.5).
 */
import { emit, type ArgsOf, VmaReadResult } from '../../trace/vocab/index.js';
import { current, name, type Name, no_event, one_event, sim } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { EAGAIN } from '../include/errno.js';
import {
  down_read, down_read_killable, down_read_trylock, down_write, down_write_killable,
  downgrade_write, up_read, up_write,
} from '../kernel/locking/rwsem.js';
import { rcu_read_lock, rcu_read_unlock } from '../kernel/rcu/tree.js';
import { traced } from '../kernel/ftrace.js';
import { kernel } from '../kernel.js';
import {
  type MmStruct, type VmAreaStruct, VM_REFCNT_EXCLUDE_READERS_FLAG, VM_REFCNT_LIMIT,
} from './mm_types.js';

/** memcg_id of the tracepoints: every emulated mm lives in one cgroup. */
const MEMCG_ID = 1;

const W_VMA_WRITER = name('vma_writer_wait');
const WARN_MMAP_NOT_LOCKED = name('mmap_assert_locked: mmap_lock not held');
const WARN_MMAP_NOT_WRITE_LOCKED = name('mmap_assert_write_locked: mmap_lock not write-held');
const WARN_VMA_NOT_LOCKED = name('vma_assert_locked: VMA neither read- nor write-locked');
const WARN_VMA_NOT_WRITE_LOCKED = name('vma_assert_write_locked: VMA not write-locked');
const WARN_VMA_DETACHED = name('vma_assert_attached: VMA is detached');
const WARN_VMA_ATTACHED = name('vma_assert_detached: VMA is attached');

// CONFIG_PER_VMA_LOCK_STATS counters
const VMA_LOCK_SUCCESS = name('VMA_LOCK_SUCCESS');
const VMA_LOCK_ABORT = name('VMA_LOCK_ABORT');
const VMA_LOCK_RETRY = name('VMA_LOCK_RETRY');
const VMA_LOCK_MISS = name('VMA_LOCK_MISS');

/** vma_start_read()'s outcome, as its event names it. */
type VmaReadOutcome = ArgsOf<'vma_start_read'>['result'];

// The codes vma_start_read events store for each outcome (VmaReadResult in the vocabulary).
export const VMA_READ_OK = VmaReadResult.codes.ok;
export const VMA_READ_LOCKED_OUT = VmaReadResult.codes.locked_out;
export const VMA_READ_DETACHED = VmaReadResult.codes.detached;
export const VMA_READ_FOREIGN = VmaReadResult.codes.foreign;

// --- mmap_lock -----------------------------------------------------------------------------------

function mm_lock_seqcount_step(mm: MmStruct): Gen {
  const old = mm.mm_lock_seq;
  mm.mm_lock_seq = old + 1;
  emit.mm_lock_seq({ mm: mm.id, old, new: mm.mm_lock_seq });
  return one_event(undefined);
}

/**
 * mmap_lock_speculate_try_begin() (include/linux/mmap_lock.h): the mm's mmap_lock sequence count to
 * read against, or null while a writer holds mmap_lock (the count is odd then): waiting for the
 * writer would cost what taking the lock does, so the caller does not speculate. A read of the
 * count: no event.
 */
export function mmap_lock_speculate_try_begin(mm: MmStruct): number | null {
  return mm.mm_lock_seq % 2 === 0 ? mm.mm_lock_seq : null;
}

/**
 * mmap_lock_speculate_retry(): has a writer taken mmap_lock since `seq` was read? Every change to
 * the mm's VMAs is made under mmap_lock for write, so a false answer means none was made.
 */
export function mmap_lock_speculate_retry(mm: MmStruct, seq: number): boolean {
  return mm.mm_lock_seq !== seq;
}

export function* mmap_read_lock(mm: MmStruct): Gen {
  yield emit.mmap_lock_start_locking({ mm: mm.id, memcg_id: MEMCG_ID, write: false });
  yield* down_read(mm.mmap_lock);
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: false, success: true });
}

/** Returns 0, or -EINTR when a fatal signal arrived while waiting. */
export function* mmap_read_lock_killable(mm: MmStruct): Gen<number> {
  yield emit.mmap_lock_start_locking({ mm: mm.id, memcg_id: MEMCG_ID, write: false });
  const ret = yield* down_read_killable(mm.mmap_lock);
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: false, success: ret === 0 });
  return ret;
}

export function* mmap_read_trylock(mm: MmStruct): Gen<boolean> {
  yield emit.mmap_lock_start_locking({ mm: mm.id, memcg_id: MEMCG_ID, write: false });
  const ok = yield* down_read_trylock(mm.mmap_lock);
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: false, success: ok });
  return ok;
}

export function* mmap_read_unlock(mm: MmStruct): Gen {
  yield emit.mmap_lock_released({ mm: mm.id, memcg_id: MEMCG_ID, write: false });
  yield* up_read(mm.mmap_lock);
}

export function* mmap_write_lock(mm: MmStruct): Gen {
  yield emit.mmap_lock_start_locking({ mm: mm.id, memcg_id: MEMCG_ID, write: true });
  yield* down_write(mm.mmap_lock);
  yield* mm_lock_seqcount_step(mm);
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: true, success: true });
}

export function* mmap_write_lock_killable(mm: MmStruct): Gen<number> {
  yield emit.mmap_lock_start_locking({ mm: mm.id, memcg_id: MEMCG_ID, write: true });
  const ret = yield* down_write_killable(mm.mmap_lock);
  if (ret === 0) yield* mm_lock_seqcount_step(mm);
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: true, success: ret === 0 });
  return ret;
}

/** vma_end_write_all(): the seqcount moves on, so every vm_lock_seq of this section is stale. */
function* vma_end_write_all(mm: MmStruct): Gen {
  yield* mm_lock_seqcount_step(mm);
}

export function* mmap_write_unlock(mm: MmStruct): Gen {
  yield emit.mmap_lock_released({ mm: mm.id, memcg_id: MEMCG_ID, write: true });
  yield* vma_end_write_all(mm);
  yield* up_write(mm.mmap_lock);
}

export function* mmap_write_downgrade(mm: MmStruct): Gen {
  yield emit.mmap_lock_acquire_returned({ mm: mm.id, memcg_id: MEMCG_ID, write: false, success: true });
  yield* vma_end_write_all(mm);
  yield* downgrade_write(mm.mmap_lock);
}

export function mmap_lock_is_contended(mm: MmStruct): boolean {
  return mm.mmap_lock.is_contended();
}

export function mmap_lock_held_by_me(mm: MmStruct): boolean {
  return mm.mmap_lock.held_by(current());
}

/**
 * A lock assertion's step: no event when it holds (nearly always, and a generator per assertion
 * cost more than the check), a warning event (not an exception) when it does not.
 */
function assertion(holds: boolean, warning: Name, obj: number): Gen {
  if (holds) return no_event(undefined);
  emit.warn({ what: warning.id, obj });
  return one_event(undefined);
}

export function mmap_assert_locked(mm: MmStruct): Gen {
  return assertion(mmap_lock_held_by_me(mm), WARN_MMAP_NOT_LOCKED, mm.id);
}

export function mmap_assert_write_locked(mm: MmStruct): Gen {
  return assertion(mm.mmap_lock.writer === current(), WARN_MMAP_NOT_WRITE_LOCKED, mm.id);
}

// --- per-VMA locks -------------------------------------------------------------------------------

function set_refcnt(vma: VmAreaStruct, value: number): Gen {
  const old = vma.vm_refcnt;
  vma.vm_refcnt = value;
  emit.vma_refcnt({ vma: vma.id, old, new: value });
  return one_event(undefined);
}

function vma_is_write_locked(vma: VmAreaStruct): boolean {
  return vma.vm_lock_seq === vma.vm_mm.mm_lock_seq;
}

/** Sleep on mm->vma_writer_wait until vm_refcnt reaches `target` (uninterruptible). */
function* wait_for_refcnt(vma: VmAreaStruct, target: number): Gen<boolean> {
  const mm = vma.vm_mm;
  let waited = false;
  while (vma.vm_refcnt !== target) {
    waited = true;
    mm.vma_writer_wait = current();
    yield* sim().block(vma.id, W_VMA_WRITER);
  }
  mm.vma_writer_wait = null;
  return waited;
}

/**
 * vma_start_write(): with mmap_lock write-held, exclude readers and mark the VMA write-locked for
 * this mmap write section. Sleeps -- holding mmap_lock for write -- until readers drain.
 */
export function vma_start_write(vma: VmAreaStruct): Gen {
  // Without CONFIG_PER_VMA_LOCK no reader takes a VMA lock, and the kernel's stub does nothing.
  if (!kernel().config.CONFIG_PER_VMA_LOCK) return no_event(undefined);
  return vma_start_write_locked(vma);
}

function* vma_start_write_locked(vma: VmAreaStruct): Gen {
  const mm = vma.vm_mm;
  yield* mmap_assert_write_locked(mm);
  if (vma_is_write_locked(vma)) return;
  let waited = false;
  const attached = vma.vm_refcnt !== 0;
  if (attached) {
    // __vma_start_exclude_readers(): refcount_add_not_zero(FLAG), then wait for FLAG + 1.
    yield* set_refcnt(vma, vma.vm_refcnt + VM_REFCNT_EXCLUDE_READERS_FLAG);
    waited = yield* wait_for_refcnt(vma, VM_REFCNT_EXCLUDE_READERS_FLAG + 1);
  }
  const seq = mm.mm_lock_seq;
  vma.vm_lock_seq = seq;
  if (attached) vma.vm_refcnt -= VM_REFCNT_EXCLUDE_READERS_FLAG;
  // The event shows the sequence number stored, not vm_lock_seq read back: a field that also holds
  // UINT_MAX is a double to V8, and the small value read back from it into the event's argument
  // sent this function's optimized code into a deoptimization loop (docs/performance.md).
  yield emit.vma_start_write({ vma: vma.id, waited, vm_lock_seq: seq });
}

/** vma_assert_write_locked(): without CONFIG_PER_VMA_LOCK, mmap_assert_write_locked() of its mm. */
export function vma_assert_write_locked(vma: VmAreaStruct): Gen {
  if (!kernel().config.CONFIG_PER_VMA_LOCK) return mmap_assert_write_locked(vma.vm_mm);
  return assertion(vma_is_write_locked(vma), WARN_VMA_NOT_WRITE_LOCKED, vma.id);
}

/**
 * vma_assert_locked(): read-locked (refcnt > 1) or write-locked. A writer waiting to exclude readers
 * adds VM_REFCNT_EXCLUDE_READERS_FLAG, which keeps the count above 1 while readers still hold it.
 */
export function vma_assert_locked(vma: VmAreaStruct): Gen {
  // A detached VMA is locked by nobody, whatever its vm_lock_seq says (VM_WARN_ON_ONCE_VMA(!refcnt)).
  if (vma.vm_refcnt === 0) return assertion(false, WARN_VMA_DETACHED, vma.id);
  return assertion(vma.vm_refcnt > 1 || vma_is_write_locked(vma), WARN_VMA_NOT_LOCKED, vma.id);
}

/** vma_mark_attached(): a write-locked, detached VMA goes into service (refcnt 0 -> 1). */
export function* vma_mark_attached(vma: VmAreaStruct): Gen {
  yield* vma_assert_write_locked(vma);
  yield* assertion(vma.vm_refcnt === 0, WARN_VMA_ATTACHED, vma.id); // vma_assert_detached()
  vma.vm_refcnt = 1;
  yield emit.vma_mark_attached({ vma: vma.id, start: vma.vm_start, end: vma.vm_end });
}

/**
 * vma_mark_detached(): refcnt 1 -> 0. A reader that raced in holds a transient reference: exclude
 * readers and wait for it (__vma_exclude_readers_for_detach).
 */
export function* vma_mark_detached(vma: VmAreaStruct): Gen {
  yield* vma_assert_write_locked(vma);
  if (vma.vm_refcnt === 0) {
    // vma_assert_attached(); the kernel's refcount then saturates with a WARN of its own, where
    // this would wait for readers of a count gone negative: the warning is the outcome here.
    yield emit.warn({ what: WARN_VMA_DETACHED.id, obj: vma.id });
    return;
  }
  vma.vm_refcnt--;
  let waited = false;
  if (vma.vm_refcnt !== 0) {
    yield* set_refcnt(vma, vma.vm_refcnt + VM_REFCNT_EXCLUDE_READERS_FLAG);
    waited = yield* wait_for_refcnt(vma, VM_REFCNT_EXCLUDE_READERS_FLAG);
    vma.vm_refcnt = 0;
  }
  yield emit.vma_mark_detached({ vma: vma.id, waited });
}

/**
 * __vma_are_readers_excluded(): a writer has added VM_REFCNT_EXCLUDE_READERS_FLAG and at most the
 * attach reference is left besides it (the detach path waits for the flag alone, so a count one
 * above it is a spurious wake-up, as the kernel accepts).
 */
function vma_readers_excluded(refcnt: number): boolean {
  return (refcnt & VM_REFCNT_EXCLUDE_READERS_FLAG) !== 0 && refcnt <= VM_REFCNT_EXCLUDE_READERS_FLAG + 1;
}

/**
 * vma_refcount_put(): drop a reader reference; wake a writer waiting for readers to drain. Whether
 * to wake is decided on the count this decrement left (`newcnt`, __vma_refcount_put_return), not
 * on the count when the task runs again after its event: by then other readers may have dropped
 * theirs, or the writer may have gone. The waiter is read at the wake-up (rcuwait_wake_up), and
 * the mm is read before the put because the VMA may be freed once its count drops.
 */
function vma_refcount_put(vma: VmAreaStruct): Gen {
  const mm = vma.vm_mm;
  const newcnt = --vma.vm_refcnt;
  emit.vma_end_read({ vma: vma.id, refcnt: newcnt });
  return vma_readers_excluded(newcnt) ? wake_vma_writer_after_event(mm) : one_event(undefined);
}

/** The event just staged, then rcuwait_wake_up(&mm->vma_writer_wait): the waiter, if one sleeps there. */
function* wake_vma_writer_after_event(mm: MmStruct): Gen {
  yield 0;
  const writer = mm.vma_writer_wait;
  if (writer) yield* sim().wake(writer);
}

export function vma_end_read(vma: VmAreaStruct): Gen {
  return vma_refcount_put(vma);
}

/**
 * vma_start_read() (§2.4): caller is inside rcu_read_lock and, on failure, leaves it (this drops
 * the RCU read lock itself). Returns the outcome its event shows.
 *
 * The lockless vm_lock_seq check and the reference are two steps, as in the kernel (a plain load,
 * then __refcount_inc_not_zero_limited_acquire()): a writer can write-lock and even detach the VMA
 * between them. The reference then lands on a write-locked VMA, which the second check, made with
 * the reference held, catches; and a detaching writer finds that transient reference and waits
 * for its put (vma_mark_detached).
 */
function* vma_start_read(mm: MmStruct, vma: VmAreaStruct): Gen<VmaReadOutcome> {
  // Lockless pessimistic check: write-locked in the current mmap write section.
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    yield emit.vma_start_read({ vma: vma.id, result: 'locked_out', refcnt: vma.vm_refcnt });
    yield* rcu_read_unlock();
    return 'locked_out';
  }
  yield emit.vma_lock_seq_check({ vma: vma.id, vm_lock_seq: vma.vm_lock_seq, mm_lock_seq: mm.mm_lock_seq });
  // __refcount_inc_not_zero_limited_acquire(), on the count as it is now
  const old = vma.vm_refcnt;
  if (old === 0) {
    yield emit.vma_start_read({ vma: vma.id, result: 'detached', refcnt: old });
    yield* rcu_read_unlock();
    return 'detached';
  }
  if (old + 1 > VM_REFCNT_LIMIT) {
    yield emit.vma_start_read({ vma: vma.id, result: 'locked_out', refcnt: old });
    yield* rcu_read_unlock();
    return 'locked_out';
  }
  yield* set_refcnt(vma, old + 1);
  if (vma.vm_mm !== mm) {
    // Typesafe-RCU reuse by another mm: drop the reference under mmgrab so its writer can be woken.
    yield emit.vma_start_read({ vma: vma.id, result: 'foreign', refcnt: vma.vm_refcnt });
    yield* rcu_read_unlock();
    const other_mm = vma.vm_mm;
    other_mm.mm_count++; // mmgrab(): its vma_writer_wait stays valid across the put
    yield* vma_refcount_put(vma);
    other_mm.mm_count--; // mmdrop()
    return 'foreign';
  }
  // Re-check with ACQUIRE now that readers are counted: a writer that came in after the lockless
  // check has moved vm_lock_seq, and its detach (if any) waits for the put below.
  if (vma.vm_lock_seq === mm.mm_lock_seq) {
    yield emit.vma_start_read({ vma: vma.id, result: 'locked_out', refcnt: vma.vm_refcnt });
    yield* vma_refcount_put(vma);
    yield* rcu_read_unlock();
    return 'locked_out';
  }
  yield emit.vma_start_read({ vma: vma.id, result: 'ok', refcnt: vma.vm_refcnt });
  return 'ok';
}

/**
 * vma_start_read_locked(): with mmap_lock held no writer can exist; the limited increment fails
 * only on a detached VMA (refcnt 0) or an overflow.
 */
export function* vma_start_read_locked(vma: VmAreaStruct): Gen<boolean> {
  yield* mmap_assert_locked(vma.vm_mm);
  if (vma.vm_refcnt === 0 || vma.vm_refcnt + 1 > VM_REFCNT_LIMIT) return false;
  vma.vm_refcnt++;
  yield emit.vma_start_read_locked({ vma: vma.id, refcnt: vma.vm_refcnt });
  return true;
}

function count_vm_vma_lock_event(counter: ReturnType<typeof name>): Gen {
  emit.vmstat({ counter: counter.id });
  return one_event(undefined);
}

/**
 * lock_vma_under_rcu() (§2.5): find and read-lock the VMA at `address` without mmap_lock. Never
 * sleeps and never waits for writers: returns null and the caller falls back to mmap_lock.
 * Without CONFIG_PER_VMA_LOCK it is the kernel's stub: NULL at once with nothing traced, so every
 * caller takes mmap_lock instead (madvise's MADV_DONTNEED, the fault handler).
 */
export function lock_vma_under_rcu(mm: MmStruct, address: number): Gen<VmAreaStruct | null> {
  if (!kernel().config.CONFIG_PER_VMA_LOCK) return no_event(null);
  return lock_vma_under_rcu_locked(mm, address);
}

/** lock_vma_under_rcu() with per-VMA locks built in. */
const lock_vma_under_rcu_locked = traced('lock_vma_under_rcu', function* (
  mm: MmStruct,
  address: number,
): Gen<VmAreaStruct | null> {
  for (;;) {
    yield* rcu_read_lock();
    const vma = mm.mm_mt.load(address) ?? null;
    yield emit.mas_walk({ addr: address, vma: vma ? vma.id : 0 });
    if (!vma) {
      yield* rcu_read_unlock();
      yield* count_vm_vma_lock_event(VMA_LOCK_ABORT);
      return null;
    }
    const r = yield* vma_start_read(mm, vma);
    if (r === 'detached') {
      // The VMA was detached under us: walk again.
      yield* count_vm_vma_lock_event(VMA_LOCK_MISS);
      continue;
    }
    if (r !== 'ok') {
      yield* count_vm_vma_lock_event(VMA_LOCK_ABORT);
      return null;
    }
    yield* rcu_read_unlock();
    if (address < vma.vm_start || address >= vma.vm_end) {
      // Changed or reused before we locked it.
      yield* vma_end_read(vma);
      yield* count_vm_vma_lock_event(VMA_LOCK_ABORT);
      return null;
    }
    // VMA_LOCK_SUCCESS is not counted here: the arch fault handler counts it once the fault is
    // handled under the VMA lock (other callers, such as the fast path, do not count it at all).
    return vma;
  }
});

export { VMA_LOCK_RETRY, VMA_LOCK_SUCCESS, count_vm_vma_lock_event, EAGAIN };

/**
 * lock_vma_under_rcu_wait() (Dave Hansen's RFC, seeds/004): when the lockless lookup fails, take
 * and drop mmap_lock for read -- sleeping until the writer ahead is done -- and retry, unless there
 * is for sure no VMA at address. Retries are unbounded (the RFC calls looping forever "highly
 * unlikely"); each one is an event, so a writer storm shows.
 */
export const lock_vma_under_rcu_wait = traced('lock_vma_under_rcu_wait', function* (
  mm: MmStruct,
  address: number,
): Gen<VmAreaStruct | null> {
  for (let retries = 1; ; retries++) {
    const vma = yield* lock_vma_under_rcu(mm, address);
    if (vma) return vma;
    yield* mmap_read_lock(mm);
    const there = mm.mm_mt.load(address) !== undefined; // vma_lookup
    yield* mmap_read_unlock(mm);
    if (!there) return null;
    yield emit.vma_lock_wait_retry({ addr: address, retries });
  }
});
