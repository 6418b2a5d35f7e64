/** Tasks: start, exit, block, sleep, wake, and the fatal signal that wakes a killable wait. */
import type { Folds, Model } from '../model-types.js';

/**
 * A blocked or sleeping task becomes runnable: its wait ends here, and the ticks it waited join
 * its total. A task that is not waiting (a wakeup that raced with its own) is left alone.
 */
export function wakeTask(m: Model, tid: number, tick: number): void {
  const t = m.tasks.get(tid);
  if (!t || (t.state !== 'blocked' && t.state !== 'sleeping')) return;
  t.waitTicks += tick - t.since;
  t.state = 'runnable';
  t.on = 0;
  t.wait = '';
  t.killable = false;
  t.wakeAt = 0;
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
  sched_wakeup(m, e) {
    wakeTask(m, e.target, e.tick);
  },
  signal_send(m, e) {
    // Only a killable wait ends on a signal; the woken task sees the signal and gives up its wait.
    const target = m.tasks.get(e.target);
    if (target?.state === 'blocked' && target.killable) wakeTask(m, e.target, e.tick);
  },
};
