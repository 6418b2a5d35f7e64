/**
 * A frame the scheduler resumes directly.
 *
 * A task is a chain of generators joined by `yield*`: every event the innermost function stages
 * passes up through every frame of the chain, and the scheduler's `next()` passes down through all
 * of them again to resume it. Each level costs a generator resume and suspend (about 13 ns), and the
 * chains of the fault, munmap and GUP paths are six to eight levels deep.
 *
 * A Frame cuts that short. When its caller's `yield*` first steps it, it puts itself on its task's
 * `frames`; from then on the scheduler resumes the innermost frame of that list rather than the
 * task's outermost generator, so the levels above it sit still until it finishes. When it does, it
 * takes itself off the list and tells the scheduler, which then resumes the task as usual: the chain
 * above walks down to the frame once more and receives its return value (or its exception) through
 * the ordinary `yield*`. The task sees exactly the events, values and exceptions it would have seen
 * without the shortcut; only the number of frames resumed per event changes.
 *
 * The traced kernel functions (linux/kernel/ftrace.ts) are frames: they are the outer calls of most
 * paths, so the workload loops and the fault entry above them stay suspended. Some untraced
 * functions are frames too (`framed` below): the entries of system calls, user faults and requests,
 * and a few functions of the fault and munmap paths and of the rwsem slow path.
 */
import { current } from './sim.js';
import { asGeneratorFunction, type Gen, generatorStep } from './task.js';

const enum State {
  /** Not yet stepped: its caller's `yield*` makes the first step. */
  Fresh,
  /** On its task's frames: the scheduler makes its steps. */
  Running,
  /** Finished under the scheduler: its caller's chain collects the value (or the exception) next. */
  Returned,
  Threw,
  Done,
}

/** What a frame hands the scheduler when it finishes: the chain above then takes over. */
const FINISHED: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export abstract class Frame<T> implements Gen<T> {
  private state = State.Fresh;
  /** Its task's frames, while it is on them. */
  private frames: Gen<unknown>[] | undefined;
  private returned: T | undefined;
  private thrown: unknown;

  /** One step: an event staged (`done: false`), or the frame's return value (`done: true`). */
  protected abstract step(): IteratorResult<0, T>;

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<0, T> {
    switch (this.state) {
      case State.Running:
        return this.scheduledStep();
      case State.Fresh:
        return this.firstStep();
      case State.Returned:
        this.state = State.Done;
        return { value: this.returned as T, done: true };
      case State.Threw:
        this.state = State.Done;
        throw withCallers(this.thrown);
      default:
        return { value: undefined as T, done: true };
    }
  }

  /**
   * Stepped by the caller's chain. The frame goes on its task's frames first, so frames its first
   * step enters go inside it; one that finishes at once (or throws) leaves again and returns to its
   * caller like any call, and one that stages an event stays for the scheduler.
   */
  private firstStep(): IteratorResult<0, T> {
    const frames = (this.frames = current().frames);
    frames.push(this as Gen<unknown>);
    this.state = State.Running;
    let r: IteratorResult<0, T>;
    try {
      r = this.step();
    } catch (e) {
      this.finishAtOnce();
      throw e;
    }
    if (r.done) this.finishAtOnce();
    return r;
  }

  private finishAtOnce(): void {
    this.leaveTop();
    this.state = State.Done;
  }

  /**
   * Off its task's frames, where a finishing frame is the innermost: a frame above it means a call
   * was stepped without `yield*` and dropped, which the scheduler would otherwise go on running (or
   * spin on, once this frame is done) with no sign of why.
   */
  private leaveTop(): void {
    const frames = this.frames!;
    if (frames[frames.length - 1] !== this) {
      throw new Error('a frame finished under one entered after it: a kernel call was stepped without yield* and dropped');
    }
    frames.pop();
  }

  /**
   * Stepped by the scheduler. On finishing, what it returned or threw waits for the caller's chain:
   * the exception must pass through the callers' frames as it would have without the shortcut.
   */
  private scheduledStep(): IteratorResult<0, T> {
    try {
      const r = this.step();
      if (!r.done) return r;
      this.returned = r.value;
      this.state = State.Returned;
    } catch (e) {
      this.thrown = e;
      this.state = State.Threw;
    }
    this.leaveTop();
    return FINISHED as IteratorResult<0, T>;
  }

  /**
   * Closed by its caller (`return()`, or `throw()` into the chain): the frame leaves its task's
   * frames and closes what it runs (`close`). Nothing in mmtrace closes a task's chain today; a body
   * does not get the chance to catch an exception thrown into it this way.
   */
  return(value: T): IteratorResult<0, T> {
    this.leave();
    return { value, done: true };
  }

  throw(e: unknown): IteratorResult<0, T> {
    this.leave();
    throw e;
  }

  /** Close whatever the frame runs (a traced call's body). */
  protected close(): void {}

  private leave(): void {
    if (this.state === State.Running) this.frames!.splice(this.frames!.indexOf(this as Gen<unknown>), 1);
    this.state = State.Done;
    this.close();
  }
}

/**
 * An exception a frame held, given to its caller's chain with that chain's stack appended. It was
 * thrown while the scheduler ran the frame directly, so its own stack lacks the callers; the module
 * loader finds the line of a module that called a kernel function with nonsense by the module's
 * frame on the stack (modules/stack.ts `userFrame`), as it would without the shortcut.
 */
function withCallers(e: unknown): unknown {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return e;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const callers = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const lines = callers.split('\n').slice(1);
  if (lines.length > 0) e.stack += '\n' + lines.join('\n');
  return e;
}

/** A call of a generator function as a frame (see `framed`). */
class FramedCall<T> extends Frame<T> {
  /** `body`: a generator object (framed() makes its function a generator function). */
  constructor(private readonly body: Gen<T>) {
    super();
  }

  protected override step(): IteratorResult<0, T> {
    return generatorStep(this.body);
  }

  /** As a generator's `return()` does: the body's `finally` blocks run, and the calls inside it close. */
  protected override close(): void {
    this.body.return(undefined as T);
  }
}

/**
 * `fn`, each call of it a frame: for a kernel function deep in a hot path that makes many events
 * per call, so the levels between it and the frame outside it are not resumed for each of them.
 * It costs an object per call, so it pays only where a call makes many events below untraced levels:
 * syscall(), request() and do_user_addr_fault() under the workloads' loops; __handle_mm_fault(),
 * handle_pte_fault(), do_anonymous_page() and map_new_folio() under the fault path;
 * pte_offset_map_lock() under those and under zap and mprotect; zap_pte_range() and tlb_flush_mmu()
 * under munmap; rwsem_wait() under mmap_lock's slow paths, five levels below the fault entry. Whether
 * one more pays is a count (scripts/perf/ir-steady.mjs): framing __folio_put() or
 * spin_lock_contended() as well saved nothing (docs/performance.md).
 */
export function framed<A extends unknown[], T>(fn: (...args: A) => Gen<T>): (...args: A) => Gen<T> {
  const body = asGeneratorFunction(fn);
  return (...args: A) => new FramedCall(body(...args));
}
