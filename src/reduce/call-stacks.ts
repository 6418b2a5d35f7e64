/**
 * Each task's emulated call stack (the traced kernel functions it is inside), from call_enter and
 * call_exit: what a lockdep splat or a checker's report shows as "where".
 *
 * A stack is a chain of immutable frames, so taking the stack at an event (every lock acquisition
 * keeps one) is keeping a reference, not copying an array; stackOf() spells it out when a report
 * needs it. Frames are shared: a call from the same stack reuses the frame made the first time, so
 * a run allocates one per distinct call path, not one per call.
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

export interface Frame {
  readonly fn: string;
  readonly caller: Frame | null;
  /** The frames of calls made from this one, by function. */
  readonly callees: Map<string, Frame>;
}

/** A stack as a list of function names, outermost first. */
export function stackOf(frame: Frame | null): string[] {
  const out: string[] = [];
  for (let f = frame; f !== null; f = f.caller) out.push(f.fn);
  return out.reverse();
}

export class CallStacks implements Reducer {
  readonly kinds = ['call_enter', 'call_exit', 'task_exit'] as const;
  /** Per tid (small integers: an array), its innermost frame. */
  private readonly top: (Frame | null | undefined)[] = [];
  /** Outermost frames, by function. */
  private readonly roots = new Map<string, Frame>();

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'call_enter':
        this.top[e.tid] = this.callee(this.frame(e.tid), e.fn);
        break;
      case 'call_exit': {
        // A call exits the innermost frame of its name (calls nest; a stack cut short is tolerated).
        let f = this.frame(e.tid);
        while (f !== null && f.fn !== e.fn) f = f.caller;
        if (f !== null) this.top[e.tid] = f.caller;
        break;
      }
      case 'task_exit':
        this.top[e.tid] = undefined;
        break;
    }
  }

  /** The frame of a call of `fn` from `caller`: the one made before, or a new one. */
  private callee(caller: Frame | null, fn: string): Frame {
    const siblings = caller === null ? this.roots : caller.callees;
    let f = siblings.get(fn);
    if (f === undefined) siblings.set(fn, (f = { fn, caller, callees: new Map() }));
    return f;
  }

  /** The task's innermost frame now (null: outside every traced call). */
  frame(tid: number): Frame | null {
    return this.top[tid] ?? null;
  }

  /** The task's stack now, outermost first. */
  of(tid: number): string[] {
    return stackOf(this.frame(tid));
  }

  /** Is the task inside a call of `fn` now? */
  inside(tid: number, fn: string): boolean {
    for (let f = this.frame(tid); f !== null; f = f.caller) if (f.fn === fn) return true;
    return false;
  }
}
