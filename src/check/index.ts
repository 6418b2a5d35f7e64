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
import { CHECKER_NAMES, type CheckerName, type Violation } from './violation.js';
import { didYouMean, errors } from '../errors.js';

export { CheckContext, DEFAULT_STARVATION_TICKS, type CheckOptions } from './context.js';
export { CHECKER_NAMES, type CheckerName, type Severity, type Violation, type Witness } from './violation.js';

const CHECKERS: Readonly<Record<CheckerName, (ctx: CheckContext) => Reducer>> = {
  'lockdep': (ctx) => new Lockdep(ctx),
  'lock-context': lockContext,
  'refcount': refcount,
  'use-after-free': useAfterFree,
  'mixed-vmas': mixedVmas,
  'foll-anon': follAnon,
  'aging': aging,
  'deadlock': deadlock,
};

/** The checkers `ctx.options` selects (all by default), after the shared reducers they read: the list to feed, in order. */
export function checkReducers(ctx: CheckContext): Reducer[] {
  const names = ctx.options.checkers ?? CHECKER_NAMES;
  return [...ctx.reducers(), ...names.map((name) => CHECKERS[name](ctx))];
}

/** `--checkers=a,b`: the names, checked (a usage error names the known ones). */
export function parseCheckers(text: string): CheckerName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(CHECKER_NAMES as readonly string[]).includes(n)) throw errors.usage(`unknown checker '${n}'${didYouMean(n, CHECKER_NAMES)} (checkers: ${CHECKER_NAMES.join(', ')})`);
  }
  if (names.length === 0) throw errors.usage(`--checkers needs at least one of: ${CHECKER_NAMES.join(', ')}`);
  return names as CheckerName[];
}

/** The violations of a recorded run: one readRun() pass. */
export function checkRun(trace: Trace, run: RunInfo, options?: CheckOptions): Violation[] {
  const ctx = new CheckContext(runNames(trace, run.id), options);
  readRun(trace, run, checkReducers(ctx));
  return ctx.violations;
}
