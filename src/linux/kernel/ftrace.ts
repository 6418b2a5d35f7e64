/**
 * The function tracer: wraps a kernel function so its entry and exit are events (`call_enter`,
 * `call_exit`), which gives every task an emulated call stack in replay and lets the differ align
 * two runs per call. Only functions a developer wants to see in a stack are traced.
 */
import { emit } from '../../trace/vocab/index.js';
import { name, type Name } from '../../sim/sim.js';
import { Frame } from '../../sim/frame.js';
import { asGeneratorFunction, type Gen, generatorStep } from '../../sim/task.js';
import { current_task } from './sched.js';

/** What a return value shows in the trace: numbers as they are, objects by their id, null as 0. */
function retval(r: unknown): number {
  if (typeof r === 'number') return r;
  if (typeof r === 'boolean') return r ? 1 : 0;
  if (r !== null && typeof r === 'object' && 'id' in r && typeof r.id === 'number') return r.id;
  return 0;
}

/** The first numeric argument (usually the address), which the call_enter event shows; 0 if none. */
function firstNumber(args: readonly unknown[]): number {
  for (let i = 0; i < args.length; i++) {
    const x = args[i];
    if (typeof x === 'number') return x;
  }
  return 0;
}

const enum Phase {
  Enter,
  Body,
  Exit,
}

/** What every step of a traced call but the last hands up: an event was staged. */
const STAGED: IteratorYieldResult<0> = Object.freeze({ value: 0, done: false });

/**
 * One call of a traced function: call_enter, every step of the body, call_exit, then the body's
 * return value. It behaves as the generator
 *
 *   push fn; yield call_enter; r = yield* body(...args); pop fn; yield call_exit; return r
 *
 * but is a Frame (sim/frame.ts): the scheduler resumes the innermost traced call of a task directly,
 * so the frames above it (the workload's loop, the syscall or fault entry, outer traced calls) are
 * not resumed for every event of its body. Traced functions are the outer calls of most paths (GUP,
 * faults, munmap, mprotect), which is what makes them the places to cut the chain.
 */
class TracedCall<A extends unknown[], T> extends Frame<T> {
  private phase = Phase.Enter;
  /** The task's traced-call stack (its task_struct's), once the call has entered. */
  private stack: string[] | undefined;
  private inner: Gen<T> | undefined;
  private result: T | undefined;

  constructor(
    private readonly fnName: string,
    private readonly fn: Name,
    private readonly body: (...args: A) => Gen<T>,
    private readonly args: A,
  ) {
    super();
  }

  protected override step(): IteratorResult<0, T> {
    switch (this.phase) {
      case Phase.Enter:
        this.stack = current_task().stack;
        this.stack.push(this.fnName);
        emit.call_enter({ fn: this.fn.id, arg: firstNumber(this.args) });
        this.phase = Phase.Body;
        return STAGED;
      case Phase.Body:
        this.inner ??= this.body(...this.args);
        return this.bodyStep(generatorStep(this.inner));
      default:
        return { value: this.result as T, done: true };
    }
  }

  /** Closing the call closes the body (a generator's `return()` runs the body's `finally` blocks). */
  protected override close(): void {
    this.inner?.return(undefined as T);
  }

  /** A step of the body handed up as it is; its return is the call's, after the call_exit event. */
  private bodyStep(step: IteratorResult<0, T>): IteratorResult<0, T> {
    if (!step.done) return step;
    this.result = step.value;
    this.stack!.pop();
    emit.call_exit({ fn: this.fn.id, ret: retval(step.value) });
    this.phase = Phase.Exit;
    return STAGED;
  }
}

export function traced<A extends unknown[], T>(
  fnName: string,
  body: (...args: A) => Gen<T>,
): (...args: A) => Gen<T> {
  const fn = name(fnName);
  const generator = asGeneratorFunction(body); // what TracedCall steps is a generator object
  const wrapper = (...args: A): Gen<T> => new TracedCall(fnName, fn, generator, args);
  Object.defineProperty(wrapper, 'name', { value: fnName });
  return wrapper;
}
