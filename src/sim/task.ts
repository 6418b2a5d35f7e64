/** The idle task's tid (swapper): its steps are the clock moving on while every task is held. */
export const IDLE_TID = 0xffff;

/** A simulated task: a generator that yields once per event. */
export type Gen<T = void> = Generator<0, T, void>;

/**
 * The step of a kernel function that makes exactly one event and then returns (rcu_read_lock,
 * reading a page-table entry, an uncontended spin_lock), or that returns at once without one (a
 * lock assertion that holds, a fault level with nothing to do): what `function* f() { ...; yield
 * emit.x(...); return v }` or `function* f() { return v }` does, without a generator. Such a leaf is
 * the innermost frame of about half of all events, and a generator costs an object per call and a
 * frame resumed per step; this iterator is one per task and reused. The leaf does its work and
 * stages its event when called, then hands the task's LeafStep back (`return one_event(v)`): the
 * caller's `yield*` yields the staged event (the step ends there, as at any event) and, once the
 * task is resumed, receives `v`. Without an event (`return no_event(v)`) the caller's `yield*`
 * receives `v` at once and goes on to its own next event.
 *
 * A task is suspended in at most one such step at a time (it can only be resumed into it), and a
 * step without an event is over before the caller's `yield*` returns, so one per task suffices.
 */
export class LeafStep<T = unknown> implements Gen<T> {
  /** The next resume returns the value (the event, if there was one, has been yielded). */
  private returnsNext = false;
  private value: T | undefined;
  /** The result object handed to `yield*`, which reads it at once: reused, so nothing is allocated. */
  private readonly result: { value: unknown; done: boolean } = { value: 0, done: false };

  /** The event is staged; the step will return `value` after it. */
  withEvent(value: T): this {
    this.returnsNext = false;
    this.value = value;
    return this;
  }

  /** Nothing is staged; the step returns `value` at once. */
  withoutEvent(value: T): this {
    this.returnsNext = true;
    this.value = value;
    return this;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<0, T> {
    const r = this.result;
    if (!this.returnsNext) {
      // the first resume: the staged event is yielded
      this.returnsNext = true;
      r.value = 0;
      r.done = false;
    } else {
      // resumed after the event (or stepped with none): the step returns
      this.returnsNext = false;
      r.value = this.value;
      r.done = true;
      this.value = undefined;
    }
    return r as IteratorResult<0, T>;
  }

  return(value: T): IteratorResult<0, T> {
    this.returnsNext = false;
    this.value = undefined;
    return { value, done: true };
  }

  throw(e: unknown): IteratorResult<0, T> {
    this.returnsNext = false;
    this.value = undefined;
    throw e;
  }
}

export const enum TaskState {
  Runnable = 0,
  Blocked = 1,
  Sleeping = 2,
  Done = 3,
}

export class Task {
  state: TaskState = TaskState.Runnable;
  started = false;
  /** PCT priority (higher runs first). */
  priority = 0;
  /** What the task is blocked on: an object id and an interned wait class. */
  blockedOn = 0;
  waitClass = 0;
  blockedSince = 0;
  killableWait = false;
  /** Total virtual ticks spent blocked until woken; timed sleeps are not waits (src/reduce/wait-clock.ts). */
  waitTicks = 0;
  wakeAt = 0;
  /** A fatal signal is pending (SIGKILL): killable waits give up with -EINTR. */
  fatalSignal = false;
  exitCode = 0;
  /** The kernel's per-task state (task_struct), opaque to the simulator. */
  data: unknown = undefined;
  /** The step this task's leaves of one event or none return (see LeafStep). */
  readonly leafStep = new LeafStep();
  /** The frames the scheduler resumes directly, innermost last (see Frame in frame.ts). */
  readonly frames: Gen<unknown>[] = [];

  constructor(
    readonly tid: number,
    readonly name: string,
    readonly daemon: boolean,
    readonly gen: Gen,
  ) {}
}
