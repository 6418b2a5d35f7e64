/** What the model's own checks reported: counted, as the state document shows them. */
import type { Folds } from '../model-types.js';

export const checkFolds: Folds = {
  warn(m) {
    m.checks.warnings++;
  },
  use_after_free(m) {
    m.checks.useAfterFree++;
  },
  kernel_fault(m) {
    m.checks.kernelFaults++;
  },
  deadlock(m) {
    m.checks.deadlock = true;
  },
};
