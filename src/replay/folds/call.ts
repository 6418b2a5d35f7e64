/** Emulated kernel calls: each task's stack. */
import type { Folds } from '../model-types.js';

export const callFolds: Folds = {
  call_enter(m, e) {
    m.tasks.get(e.tid)?.stack.push(e.fn);
  },
  call_exit(m, e) {
    m.tasks.get(e.tid)?.stack.pop();
  },
};
