/**
 * The function tracer: wraps a kernel function so its entry and exit are events (`call_enter`,
 * `call_exit`), which gives every task an emulated call stack in replay and lets the differ align
 * two runs per call. Only functions a developer wants to see in a stack are traced.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
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

export function traced<A extends unknown[], T>(
  fnName: string,
  body: (...args: A) => Gen<T>,
): (...args: A) => Gen<T> {
  const fn = name(fnName);
  const wrapper = function* (...args: A): Gen<T> {
    const stack = current_task().stack;
    stack.push(fnName);
    yield emit.call_enter({ fn: fn.id, arg: firstNumber(args) });
    const r = yield* body(...args);
    stack.pop();
    yield emit.call_exit({ fn: fn.id, ret: retval(r) });
    return r;
  };
  Object.defineProperty(wrapper, 'name', { value: fnName });
  return wrapper;
}
