/** The idle task's tid (swapper): its steps are the clock moving on while every task is held. */
export const IDLE_TID = 0xffff;

/** A simulated task: a generator that yields once per event. */
export type Gen<T = void> = Generator<0, T, void>;

export const enum TaskState {
  Runnable = 0,
  Blocked = 1,
  Sleeping = 2,
  Done = 3,
}

export class Task {
  state: TaskState = TaskState.Runnable;
  started = false;
  /** PCT priority (higher runs first). */
  priority = 0;
  /** What the task is blocked on: an object id and an interned wait class. */
  blockedOn = 0;
  waitClass = 0;
  blockedSince = 0;
  killableWait = false;
  /** Total virtual ticks spent blocked until woken; timed sleeps are not waits (src/reduce/wait-clock.ts). */
  waitTicks = 0;
  wakeAt = 0;
  /** A fatal signal is pending (SIGKILL): killable waits give up with -EINTR. */
  fatalSignal = false;
  exitCode = 0;
  /** The kernel's per-task state (task_struct), opaque to the simulator. */
  data: unknown = undefined;

  constructor(
    readonly tid: number,
    readonly name: string,
    readonly daemon: boolean,
    readonly gen: Gen,
  ) {}
}
