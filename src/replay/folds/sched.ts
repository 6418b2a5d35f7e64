/** Tasks: start, exit, block, sleep, wake, and the fatal signal that wakes a killable wait. */
import { waitsEndedBy } from '../../reduce/wait-clock.js';
import type { TraceEvent } from '../../trace/vocab/index.js';
import type { Folds, Model } from '../model-types.js';

/**
 * A blocked or sleeping task becomes runnable. A blocked task's wait ends here and joins its total;
 * a timed sleep is not a wait (src/reduce/wait-clock.ts has the one definition). A task that is not
 * waiting (a wakeup that raced with its own) is left alone.
 */
function wakeTask(m: Model, tid: number, tick: number): void {
  const t = m.tasks.get(tid);
  if (!t || (t.state !== 'blocked' && t.state !== 'sleeping')) return;
  if (t.state === 'blocked') t.waitTicks += tick - t.since;
  t.state = 'runnable';
  t.on = 0;
  t.wait = '';
  t.killable = false;
  t.wakeAt = 0;
}

/** Wake every task whose wait `e` ends, by the wait clock's rule. */
export function endWaits(m: Model, e: TraceEvent): void {
  const inKillableWait = (tid: number) => {
    const t = m.tasks.get(tid);
    return t?.state === 'blocked' && t.killable;
  };
  for (const tid of waitsEndedBy(e, inKillableWait)) wakeTask(m, tid, e.tick);
}

export const schedFolds: Folds = {
  task_start(m, e, ctx) {
    m.tasks.set(e.tid, {
      tid: e.tid, name: ctx.taskNames.get(e.tid) ?? e.name, state: 'runnable', on: 0, wait: '', since: 0,
      killable: false, wakeAt: 0, stack: [], request: null, waitTicks: 0, rcuNesting: 0, irqsOff: 0,
    });
  },
  task_exit(m, e) {
    const task = m.tasks.get(e.tid);
    if (task) task.state = 'done';
  },
  sched_block(m, e) {
    const task = m.tasks.get(e.tid);
    if (task) Object.assign(task, { state: 'blocked', on: e.on, wait: e.wait, since: e.tick, killable: e.killable });
  },
  sched_sleep(m, e) {
    const task = m.tasks.get(e.tid);
    if (task) Object.assign(task, { state: 'sleeping', since: e.tick, wakeAt: e.until });
  },
  sched_wakeup: endWaits,
  // Only a killable wait ends on a signal; the woken task sees the signal and gives up its wait.
  signal_send: endWaits,
};
