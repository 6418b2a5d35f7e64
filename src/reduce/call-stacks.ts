/**
 * Each task's emulated call stack (the traced kernel functions it is inside), from call_enter and
 * call_exit: what a lockdep splat or a checker's report shows as "where".
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

export class CallStacks implements Reducer {
  readonly kinds = ['call_enter', 'call_exit', 'task_exit'] as const;
  private readonly stacks = new Map<number, string[]>();

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'call_enter':
        this.live(e.tid).push(e.fn);
        break;
      case 'call_exit': {
        // A call exits the innermost frame of its name (calls nest; a stack cut short is tolerated).
        const stack = this.live(e.tid);
        const at = stack.lastIndexOf(e.fn);
        if (at >= 0) stack.length = at;
        break;
      }
      case 'task_exit':
        this.stacks.delete(e.tid);
        break;
    }
  }

  /** A copy of the task's stack now, outermost first. */
  of(tid: number): string[] {
    return [...(this.stacks.get(tid) ?? [])];
  }

  /** Is the task inside a call of `fn` now? */
  inside(tid: number, fn: string): boolean {
    return this.stacks.get(tid)?.includes(fn) ?? false;
  }

  private live(tid: number): string[] {
    let stack = this.stacks.get(tid);
    if (!stack) this.stacks.set(tid, (stack = []));
    return stack;
  }
}
