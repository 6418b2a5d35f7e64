/**
 * sched: the simulator's own events (tasks start, block, wake, sleep, exit, are signalled). Each is a
 * scheduling decision or a change of who may run; none costs virtual time.
 */
import { defineEnum, kind } from './define.js';

/** Signals the model sends (the numbers of x86-64 Linux). */
export const Signal = defineEnum('signals', { SIGBUS: 7, SIGKILL: 9, SIGSEGV: 11 });

/** The wait class of a timer wake-up (sched_wakeup.on of the simulator's own wake-ups is this name's id). */
export const WAIT_TIMER = 'timer';

export const sched = {
  task_start: kind({ code: 1, fields: { name: 'name', pid: 'int' }, cost: 0, doc: 'a task starts running' }),
  task_exit: kind({ code: 2, fields: { code: 'int' }, cost: 0, doc: 'a task exits with a code' }),
  sched_block: kind({
    code: 3, fields: { on: 'id', wait: 'name', killable: 'bool' }, cost: 0,
    doc: 'the task stops being runnable until woken: `on` is the object it waits for, `wait` the wait class; killable: a fatal signal wakes it',
  }),
  sched_wakeup: kind({
    code: 4, fields: { target: 'id', on: 'id' }, cost: 0,
    doc: 'a blocked task becomes runnable (by the simulator itself, tid 0, when a sleep ends)',
  }),
  sched_sleep: kind({
    code: 5, fields: { until: 'int', why: 'name' }, cost: 0,
    doc: 'sleep in virtual time (I/O, msleep): runnable again at tick `until`',
  }),
  signal_send: kind({ code: 6, fields: { target: 'id', sig: Signal }, cost: 0, doc: 'a signal is sent to a task' }),
  sched_idle: kind({
    code: 7, fields: { until: 'int' }, cost: 0,
    doc: 'the idle task ran: every runnable task was held by a directed schedule, so the clock moved on to `until`',
  }),
  force_sig_fault: kind({
    code: 8, fields: { sig: Signal, addr: 'addr' }, cost: 0,
    doc: 'a user-mode fault the kernel could not resolve: force_sig_fault() sends the task `sig` for `addr`',
  }),
} as const;
