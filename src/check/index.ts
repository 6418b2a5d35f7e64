/**
 * The checkers: reducers over decoded events that report violations in kernel terms. The same code
 * runs offline over a recorded run (checkRun) and online as the simulator produces events
 * (CheckingSink), which is how `mmtrace explore` judges schedules without recording them.
 */
import { readRun, runNames } from '../reduce/read-run.js';
import type { Reducer } from '../reduce/reducer.js';
import type { RunInfo, Trace } from '../trace/reader.js';
import { aging } from './aging.js';
import { CheckContext, type CheckOptions } from './context.js';
import { deadlock } from './deadlock.js';
import { follAnon } from './foll-anon.js';
import { lockContext } from './lock-context.js';
import { Lockdep } from './lockdep.js';
import { mixedVmas } from './mixed-vmas.js';
import { refcount } from './refcount.js';
import { useAfterFree } from './use-after-free.js';
import type { Violation } from './violation.js';

export { CheckContext, DEFAULT_STARVATION_TICKS, type CheckOptions } from './context.js';
export { CHECKER_NAMES, type CheckerName, type Severity, type Violation, type Witness } from './violation.js';

/** Every checker over `ctx`, after the shared reducers they read: the list to feed, in order. */
export function checkReducers(ctx: CheckContext): Reducer[] {
  return [
    ...ctx.reducers(),
    new Lockdep(ctx), lockContext(ctx), refcount(ctx), useAfterFree(ctx), mixedVmas(ctx), follAnon(ctx), aging(ctx), deadlock(ctx),
  ];
}

/** The violations of a recorded run: one readRun() pass. */
export function checkRun(trace: Trace, run: RunInfo, options?: CheckOptions): Violation[] {
  const ctx = new CheckContext(runNames(trace, run.id), options);
  readRun(trace, run, checkReducers(ctx));
  return ctx.violations;
}
