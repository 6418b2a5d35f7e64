/**
 * RCU: read-side sections, grace periods and callbacks (kernel/rcu/tree.c, in outline).
 *
 * A grace period started at time T ends once every task that was inside a read-side section at T
 * has left it. An IRQ-disabled region counts as a read-side section (it delays the quiescent state
 * of its CPU). Grace periods and callbacks are driven by the `rcu_gp` kthread, a daemon task, so
 * their timing is subject to the same schedule as everything else.
 */
import { emit } from '../../../trace/vocab/index.js';
import { current, name, type Name, one_event, sim } from '../../../sim/sim.js';
import { type Gen, type Task, TaskState } from '../../../sim/task.js';
import { type Kernel, perKernel } from '../../kernel.js';
import { TaskStruct, task_of } from '../sched.js';
import { smp_irqs_enabled } from '../smp.js';

const W_RCU_IDLE = name('rcu_gp_idle');
const W_RCU_GP = name('rcu_gp_wait');
const W_SYNC = name('synchronize_rcu');
const WHAT_SYNC = name('synchronize_rcu');

export interface Callback {
  readonly id: number;
  readonly what: Name;
  readonly obj: number;
  readonly fn: () => Gen;
}

export class RcuState {
  /**
   * Every task that has been inside a read-side section, in the order of its first; an exited task
   * leaves when the next grace period starts. A task's own state is its task_struct's (nesting and
   * when its outermost section began), as in the kernel, rather than a Map from task to state
   * looked up at every rcu_read_lock() and rcu_read_unlock(), some 10% of all events. A task stays
   * listed between its sections: a list that tasks joined and left at every outermost section
   * would be rebuilt all the time.
   */
  readonly readers: Task[] = [];
  sectionsBegun = 0;
  /** Callbacks waiting for the next grace period. */
  pending: Callback[] = [];
  /** Readers the grace period in progress still waits for. */
  waitingFor = new Set<Task>();
  /** Callbacks of the grace period in progress, until each has run. */
  inGracePeriod: Callback[] = [];
  gp_seq = 0;
  kthread: Task | undefined;
  private nextCb = 1;

  newCallbackId(): number {
    return this.nextCb++;
  }
}

export const rcu: (k?: Kernel) => RcuState = perKernel('rcu', () => new RcuState());

/** Start the grace-period kthread (once per kernel). */
export function rcu_init(): void {
  const state = rcu();
  if (state.kthread) return;
  state.kthread = sim().spawn('rcu_gp', rcu_gp_kthread, {
    daemon: true,
    data: new TaskStruct(0, 'rcu_gp', null),
  });
}

function enter_reader(t: Task): number {
  const ts = task_of(t);
  if (ts.rcu_read_lock_nesting === 0) {
    const state = rcu();
    if (ts.rcu_section_since === 0) state.readers.push(t);
    ts.rcu_section_since = ++state.sectionsBegun;
  }
  return ++ts.rcu_read_lock_nesting;
}

/**
 * Drop the tasks that exited outside any section, so the list holds the tasks alive now, not every
 * task a run ever had. Done when a grace period starts: rarely, and off the hot path.
 */
function forget_exited_readers(state: RcuState): void {
  const alive = state.readers.filter((t) => t.state !== TaskState.Done || task_of(t).rcu_read_lock_nesting > 0);
  state.readers.splice(0, state.readers.length, ...alive);
}

/** The tasks inside a read-side section now, in the order their outermost sections began. */
function readers_now(state: RcuState): Task[] {
  const inside = state.readers.filter((t) => task_of(t).rcu_read_lock_nesting > 0);
  return inside.sort((x, y) => task_of(x).rcu_section_since - task_of(y).rcu_section_since);
}

/** The read-side nesting of `t` (0: outside any section). */
export function rcu_read_nesting(t: Task): number {
  return task_of(t).rcu_read_lock_nesting;
}

/** Leave a read-side section; the nesting left (0: `t` is outside every section now). */
function exit_reader(t: Task): number {
  const ts = task_of(t);
  if (ts.rcu_read_lock_nesting === 0) throw new Error(`rcu_read_unlock without rcu_read_lock in ${t.name}`);
  return --ts.rcu_read_lock_nesting;
}

/**
 * `t` has left a section, `nesting` deep now: true when that was its outermost section and the
 * grace period in progress waited for it last (its kthread is then to be woken).
 */
function gp_waited_for_last(t: Task, nesting: number): boolean {
  if (nesting > 0) return false;
  const waiting = rcu().waitingFor;
  // most sections end with no grace period waiting: no lookup then
  return waiting.size > 0 && waiting.delete(t) && waiting.size === 0;
}

function* wake_gp_kthread(): Gen {
  const k = rcu().kthread;
  if (k) yield* sim().wake(k);
}

export function rcu_read_lock(): Gen {
  emit.rcu_read_lock({ nesting: enter_reader(current()) });
  return one_event(undefined);
}

export function rcu_read_unlock(): Gen {
  const nesting = exit_reader(current());
  emit.rcu_read_unlock({ nesting });
  // the last reader the grace period waited for wakes its kthread
  return gp_waited_for_last(current(), nesting) ? staged_then_wake_gp_kthread() : one_event(undefined);
}

/** The event the caller staged, then the grace-period kthread woken (if it runs). */
function staged_then_wake_gp_kthread(): Gen {
  const k = rcu().kthread;
  return k ? sim().stagedThenWake(k) : one_event(undefined);
}

/** Is the current task inside a read-side section (rcu_read_lock_held)? */
export function rcu_read_lock_held(t: Task = current()): boolean {
  return rcu_read_nesting(t) > 0;
}

/**
 * A cookie naming the read-side sections open now (like get_state_synchronize_rcu(), but no grace
 * period is started or waited for, and nothing is emitted): rcu_readers_left(cookie) says when
 * every one of them has ended. Sections that begin later do not count.
 */
export function rcu_readers_cookie(): number {
  return rcu().sectionsBegun;
}

/**
 * Has every read-side section (or IRQ-disabled region) that was open when `cookie` was taken
 * ended? Like poll_state_synchronize_rcu(), with the grace period's end read off the readers.
 */
export function rcu_readers_left(cookie: number): boolean {
  for (const t of rcu().readers) {
    const ts = task_of(t);
    if (ts.rcu_read_lock_nesting > 0 && ts.rcu_section_since <= cookie) return false;
  }
  return true;
}

/** Queue `fn` to run after a grace period (call_rcu). */
export function* call_rcu(what: Name, obj: number, fn: () => Gen): Gen {
  const state = rcu();
  const cb: Callback = { id: state.newCallbackId(), what, obj, fn };
  state.pending.push(cb);
  yield emit.call_rcu({ cb: cb.id, what: what.id, obj });
  yield* wake_gp_kthread();
}

/** Wait for a full grace period (synchronize_rcu). */
export function* synchronize_rcu(): Gen {
  const me = current();
  let done = false;
  yield* call_rcu(WHAT_SYNC, me.tid, function* () {
    done = true;
    yield* sim().wake(me);
  });
  while (!done) yield* sim().block(0, W_SYNC);
}

function* rcu_gp_kthread(): Gen {
  const state = rcu();
  for (;;) {
    while (state.pending.length === 0) yield* sim().block(0, W_RCU_IDLE);
    const batch = state.pending;
    state.pending = [];
    state.inGracePeriod = [...batch];
    state.gp_seq++;
    forget_exited_readers(state);
    state.waitingFor = new Set(readers_now(state));
    yield emit.rcu_gp_start({ gp: state.gp_seq, readers: state.waitingFor.size });
    while (state.waitingFor.size > 0) yield* sim().block(state.gp_seq, W_RCU_GP);
    yield emit.rcu_gp_end({ gp: state.gp_seq, callbacks: batch.length });
    for (const cb of batch) {
      state.inGracePeriod.shift();
      yield emit.rcu_callback({ cb: cb.id, what: cb.what.id, obj: cb.obj });
      yield* cb.fn();
    }
  }
}

/**
 * local_irq_disable(): IRQs off on this CPU. An IRQ-disabled region holds off the CPU's quiescent
 * state, so it is an RCU read-side section too (what makes gup_fast and the v2 walk safe against
 * both RCU-freed tables and tlb_remove_table_sync_one() IPIs).
 */
export function* local_irq_disable(): Gen {
  const ts = task_of(current());
  ts.irqs_disabled++;
  yield emit.local_irq_disable({ depth: ts.irqs_disabled, rcu: enter_reader(current()) });
}

export function* local_irq_enable(): Gen {
  const ts = task_of(current());
  ts.irqs_disabled--;
  const nesting = exit_reader(current());
  const gpUnblocked = gp_waited_for_last(current(), nesting);
  yield emit.local_irq_enable({ depth: ts.irqs_disabled, rcu: nesting });
  if (gpUnblocked) yield* wake_gp_kthread();
  // Hook: an IPI sent while IRQs were off is taken now (tlb_remove_table_sync_one, kernel/smp.ts).
  if (ts.irqs_disabled === 0) yield* smp_irqs_enabled(current());
}
