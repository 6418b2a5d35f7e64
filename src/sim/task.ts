import { kindDef } from '../trace/vocab/index.js';

/** The idle task's tid (swapper): its steps are the clock moving on while every task is held. */
export const IDLE_TID = 0xffff;

/** A simulated task: a generator that yields once per event. */
export type Gen<T = void> = Generator<0, T, void>;

export const enum LeafState {
  /** Not in use: its last step has returned (or it was never used). */
  Idle,
  /** A leaf staged its event and handed the step to its caller's `yield*`, which has not yet stepped it. */
  Staged,
  /** The event has been yielded; the next resume returns the value. */
  Yielded,
  /** No event: the first step returns the value. */
  Immediate,
}

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
 *
 * Called without `yield*`, a generator does nothing, but a leaf does its work and its event is
 * lost: the next event staged overwrites it. The step knows it was never taken, so the scheduler
 * (after each step) and the next leaf ask it, and such a call is an error naming the lost event.
 */
export class LeafStep<T = unknown> implements Gen<T> {
  /** Where the step is; read by the scheduler after each step (`Staged` there is a lost event). */
  state = LeafState.Idle;
  private value: T | undefined;
  /** The kind of the event a leaf staged, while it waits to be yielded (for the error below). */
  private stagedKind = 0;
  /** The result object handed to `yield*`, which reads it at once: reused, so nothing is allocated. */
  private readonly result: { value: unknown; done: boolean } = { value: 0, done: false };

  /** The event (of kind `kind`) is staged; the step will return `value` after it. */
  withEvent(value: T, kind: number): this {
    if (this.state === LeafState.Staged) this.dropped('another kernel call staged its own');
    this.state = LeafState.Staged;
    this.stagedKind = kind;
    this.value = value;
    return this;
  }

  /** Nothing is staged; the step returns `value` at once. */
  withoutEvent(value: T): this {
    if (this.state === LeafState.Staged) this.dropped('another kernel call returned through this step');
    this.state = LeafState.Immediate;
    this.value = value;
    return this;
  }

  /**
   * A step ended (the event of kind `endedBy` reached the sink; task_exit when the task returned)
   * with a leaf's event still staged here: that event was overwritten or never stamped, and the
   * leaf's side effects were done without it. The scheduler calls this when it finds `state`
   * Staged after a step.
   */
  stagedAtStepEnd(endedBy: number, task: string): never {
    this.dropped(`a ${kindDef(endedBy).name} event ended the step`, task);
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<0, T> {
    const r = this.result;
    if (this.state === LeafState.Staged) {
      // the first resume: the staged event is yielded
      this.state = LeafState.Yielded;
      r.value = 0;
      r.done = false;
    } else {
      // resumed after the event (or stepped with none): the step returns
      this.state = LeafState.Idle;
      r.value = this.value;
      r.done = true;
      this.value = undefined;
    }
    return r as IteratorResult<0, T>;
  }

  return(value: T): IteratorResult<0, T> {
    this.state = LeafState.Idle;
    this.value = undefined;
    return { value, done: true };
  }

  throw(e: unknown): IteratorResult<0, T> {
    this.state = LeafState.Idle;
    this.value = undefined;
    throw e;
  }

  /**
   * A one-event kernel call whose step was never taken: called as a plain function, not with
   * `yield*` (a generator called that way does nothing; this one did its work and lost its event).
   */
  private dropped(instead: string, task?: string): never {
    const lost = kindDef(this.stagedKind).name;
    this.state = LeafState.Idle;
    throw new UnyieldedCall(`a kernel call staged a ${lost} event that was never yielded (${instead}): call it with yield*`, task);
  }
}

/**
 * A one-event kernel call made without `yield*` (LeafStep). Found when the next leaf is called, the
 * stack shows the caller; found when the step ends, it names the task (its code has returned).
 */
export class UnyieldedCall extends Error {
  constructor(readonly detail: string, readonly task: string | undefined) {
    super(task === undefined ? detail : `task ${task}: ${detail}`);
    this.name = 'UnyieldedCall';
  }
}

/** %GeneratorFunction.prototype%: the prototype of every generator function. */
const GeneratorFunctionPrototype = Object.getPrototypeOf(function* () {}) as { prototype: Generator };

/** %GeneratorPrototype%.next: the `next` of every generator object. */
const generatorNext = GeneratorFunctionPrototype.prototype.next;

/**
 * `fn` as a generator function: itself if it is one, else one that runs what `fn` returns (a leaf
 * step, a frame). What a frame runs is made one when the frame's function is defined, so that every
 * body a frame steps is a generator object (generatorStep).
 */
export function asGeneratorFunction<A extends unknown[], T>(fn: (...args: A) => Gen<T>): (...args: A) => Gen<T> {
  if (Object.getPrototypeOf(fn) === GeneratorFunctionPrototype) return fn;
  return function* (...args: A): Gen<T> {
    return yield* fn(...args);
  };
}

/**
 * The next step of `gen`, a generator object: its `next()`, called as the one function it is rather
 * than looked up on the object. Each generator function's objects have a map of their own, so a
 * site that resumes the bodies of many functions (a frame's step) sees dozens of maps; V8 makes it
 * megamorphic and looks `next` up in its stub cache at every event. In a system profile of `scale`
 * such loads took 4.5% of the main thread, nearly all of them at the frames' steps
 * (docs/performance.md, "The system profiler's view").
 */
export function generatorStep<T>(gen: Gen<T>): IteratorResult<0, T> {
  return generatorNext.call(gen) as IteratorResult<0, T>;
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
