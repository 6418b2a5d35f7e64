/**
 * The deterministic scheduler.
 *
 * Every task is a generator; every `yield emit.KIND({...})` is one event and one preemption point (a
 * function of a single event stages it and returns `one_event(value)`, which yields it the same way). A step is:
 * the strategy picks a runnable task, the task runs until its next yield, and the event it staged is
 * stamped (seq, tick, tid) and handed to the sink. So the sequence of tids of task events is the
 * sequence of scheduling decisions, and re-running with those decisions reproduces the run.
 *
 * Model of concurrency: every task runs on a CPU of its own (no run-queue contention), memory is
 * sequentially consistent, and one global virtual clock advances by each event's cost.
 */
import { emit, KIND_BYTE_COST_SLOT, KIND_COST, staged, WAIT_TIMER } from '../trace/vocab/index.js';
import type { EventSink } from '../trace/sink.js';
import type { Strategy } from './strategy.js';
import { type Gen, IDLE_TID, LeafState, type LeafStep, Task, TaskState } from './task.js';

let active: Sim | undefined;

/** The simulation whose step is running (the kernel's `current` lives here). */
export function sim(): Sim {
  return active!;
}

/** The task making the current step. */
export function current(): Task {
  return active!.running!;
}

/**
 * End a kernel function's step with the event it has just staged, returning `value` to its caller
 * once the task runs again: `return one_event(v)` in a plain function is
 * `function* () { ...; yield emit.x(...); return v }` without a generator (LeafStep in task.ts says
 * why). Only for a function that makes exactly one event, staged right before this call.
 */
export function one_event<T>(value: T): Gen<T> {
  return (active!.running!.leafStep as LeafStep<T>).withEvent(value, staged.kind);
}

/**
 * Return `value` to the caller's `yield*` without an event: `return no_event(v)` in a plain function
 * is `function* () { return v }` without a generator (LeafStep in task.ts), for the paths of a
 * kernel function that stage nothing (an assertion that holds, a fault level that falls back)
 * while its other paths make one event or return a callee's steps.
 */
export function no_event<T>(value: T): Gen<T> {
  return (active!.running!.leafStep as LeafStep<T>).withoutEvent(value);
}

/**
 * A name interned per run (function names, wait classes, files). Ids are dense from 1 in first-use
 * order within a run, so they are deterministic; the cache makes repeated use one comparison.
 */
export class Name {
  private owner: Sim | undefined;
  private cached = 0;

  constructor(readonly text: string) {}

  get id(): number {
    const s = active!;
    if (this.owner !== s) {
      this.cached = s.intern(this.text);
      this.owner = s;
    }
    return this.cached;
  }
}

const nameCache = new Map<string, Name>();

/** The shared Name object for a text (use at module level: `const W_RWSEM = name('rwsem')`). */
export function name(text: string): Name {
  let n = nameCache.get(text);
  if (!n) nameCache.set(text, (n = new Name(text)));
  return n;
}

export interface SimOptions {
  sink: EventSink;
  strategy: Strategy;
  /** Stop (with an event_limit check event) after this many events. */
  maxEvents?: number;
  /** Called every `progressEvery` events with the current seq (for progress bars). */
  onProgress?: (seq: number) => void;
  progressEvery?: number;
  /** Called after every `snapshotEvery`-th event, between steps (for state snapshots). */
  onSnapshot?: (seq: number) => void;
  snapshotEvery?: number;
  /** Stop right after this event (replay --until); the run ends with outcome 'stopped'. */
  stopAfter?: number;
}

export interface SimResult {
  events: number;
  ticks: number;
  /** 'done': every non-daemon task exited; 'deadlock': every live task was blocked; 'limit';
   *  'stopped': stopped at `stopAfter`. */
  outcome: 'done' | 'deadlock' | 'limit' | 'stopped';
}

const W_TIMER = name(WAIT_TIMER);

export class Sim {
  seq = 0;
  tick = 0;
  /** The task of the last event (0: the simulator itself). */
  lastTid = 0;
  running: Task | undefined;
  readonly tasks: Task[] = [];
  /** Kernel-wide state (the emulated kernel stores itself here). */
  ctx: unknown;

  private readonly runnable: Task[] = [];
  private readonly sleepers: Task[] = [];
  /** The earliest wakeAt among the sleepers (Infinity: none), so most steps skip the timer scan. */
  private nextWake = Infinity;
  private liveUserTasks = 0;
  private step = 0;
  private readonly nameIds = new Map<string, number>();
  private readonly nameTable: string[] = [''];
  private readonly kindCounts = new Int32Array(256);
  private readonly sink: EventSink;
  private readonly strategy: Strategy;
  private readonly observe: Strategy['observe'];
  private readonly onProgress: ((seq: number) => void) | undefined;
  private readonly progressEvery: number;
  private readonly onSnapshot: ((seq: number) => void) | undefined;
  private readonly snapshotEvery: number;
  /** The run ends with an event_limit event once it has this many events. */
  private maxEvents: number;

  constructor(private readonly opts: SimOptions) {
    this.maxEvents = opts.maxEvents ?? Number.MAX_SAFE_INTEGER;
    this.sink = opts.sink;
    this.strategy = opts.strategy;
    this.observe = opts.strategy.observe?.bind(opts.strategy);
    this.onProgress = opts.onProgress;
    this.progressEvery = opts.progressEvery ?? 65536;
    this.onSnapshot = opts.onSnapshot;
    this.snapshotEvery = opts.snapshotEvery ?? 0;
  }

  /**
   * Move the event limit while running (a recording bounded by its file's size learns the limit
   * as it goes). A limit already passed ends the run at its next step, at the current event; the
   * run then reads as if that limit had been given from the start.
   */
  cutAt(limit: number): void {
    this.maxEvents = Math.max(limit, this.seq);
  }

  intern(text: string): number {
    let id = this.nameIds.get(text);
    if (id === undefined) {
      id = this.nameIds.size + 1;
      this.nameIds.set(text, id);
      this.nameTable.push(text);
      this.sink.name(id, text);
    }
    return id;
  }

  /** The text of an interned name. */
  nameOf(id: number): string {
    return this.nameTable[id] ?? '';
  }

  /** The run's names interned so far, by id (0 is ''): the table a Decoder of its events reads. */
  get names(): readonly string[] {
    return this.nameTable;
  }

  /** How many events of this kind the run has had so far. */
  kindCount(kind: number): number {
    return this.kindCounts[kind]!;
  }

  /** Create a task; it becomes runnable at once and its first step is its task_start event. */
  spawn(taskName: string, body: () => Gen, opts: { daemon?: boolean; data?: unknown } = {}): Task {
    const task = new Task(this.tasks.length + 1, taskName, opts.daemon ?? false, body());
    task.data = opts.data;
    this.tasks.push(task);
    this.sink.task(task.tid, taskName, task.daemon);
    this.strategy.spawned(task);
    this.insertRunnable(task);
    if (!task.daemon) this.liveUserTasks++;
    return task;
  }

  /** Run `fn` as if inside a step (kernel globals reachable), e.g. to read state after a run. */
  inside<T>(fn: () => T): T {
    const prev = active;
    active = this;
    try {
      return fn();
    } finally {
      active = prev;
    }
  }

  /** Run to the end. */
  run(): SimResult {
    const prev = active;
    active = this;
    try {
      return this.loop();
    } finally {
      active = prev;
    }
  }

  /** One event per iteration (a timer wake-up or a task's step), then the hooks. */
  private loop(): SimResult {
    const stopAfter = this.opts.stopAfter ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      if (this.seq >= stopAfter) return { events: this.seq, ticks: this.tick, outcome: 'stopped' };
      // A timer due at the limit does not fire: the limit's event is the run's next and last.
      if (this.nextWake <= this.tick && this.seq < this.maxEvents && this.fireOneTimer()) {
        this.afterEvent();
        continue;
      }
      if (this.liveUserTasks === 0 && this.runnable.length === 0) {
        return { events: this.seq, ticks: this.tick, outcome: 'done' };
      }
      if (this.seq >= this.maxEvents) return this.endAtLimit();
      if (this.runnable.length === 0) {
        if (this.sleepers.length > 0) {
          this.tick = this.earliestWake();
          continue;
        }
        if (this.liveUserTasks === 0) return { events: this.seq, ticks: this.tick, outcome: 'done' };
        this.reportDeadlock();
        return { events: this.seq, ticks: this.tick, outcome: 'deadlock' };
      }
      this.step++;
      const task = this.strategy.pick(this.runnable, this.step, this.sleepers.length > 0);
      if (task === undefined) {
        // The idle task's step: the clock moves to the next wake-up.
        const until = this.earliestWake();
        this.tick = Math.max(this.tick, until);
        emit.sched_idle({ until });
        this.stampStaged(IDLE_TID);
        this.afterEvent();
        continue;
      }
      this.running = task;
      this.runStep(task);
      // A leaf's event staged and never yielded (LeafStep). Tested here rather than in runStep,
      // which then stays small enough to be inlined into this loop: about 7 ns an event otherwise.
      if (task.leafStep.state === LeafState.Staged) task.leafStep.stagedAtStepEnd(staged.kind, task.name);
      this.running = undefined;
      this.afterEvent();
    }
  }

  /** The run has its limit's events: one event_limit event says so, and it ends. */
  private endAtLimit(): SimResult {
    emit.event_limit({ limit: this.maxEvents });
    this.stampStaged(0);
    return { events: this.seq, ticks: this.tick, outcome: 'limit' };
  }

  private afterEvent(): void {
    if (this.onProgress !== undefined && this.seq % this.progressEvery === 0) this.onProgress(this.seq);
    if (this.onSnapshot !== undefined && this.seq % this.snapshotEvery === 0) this.onSnapshot(this.seq);
  }

  private runStep(task: Task): void {
    if (!task.started) {
      task.started = true;
      emit.task_start({ name: this.intern(task.name), pid: task.tid });
      this.stampStaged(task.tid);
      return;
    }
    staged.kind = 0;
    const r = resume(task);
    if (r.done) {
      this.exitTask(task);
      return;
    }
    if (staged.kind === 0) throw new Error(`task ${task.name} yielded without staging an event`);
    this.stampStaged(task.tid);
  }

  private exitTask(task: Task): void {
    task.state = TaskState.Done;
    this.removeRunnable(task);
    if (!task.daemon) this.liveUserTasks--;
    emit.task_exit({ code: task.exitCode });
    this.stampStaged(task.tid);
  }

  /** Stamp the staged event (seq, tick, tid), charge its cost and hand it to the sink. */
  private stampStaged(tid: number): void {
    const { kind, a, b, c, d, data } = staged;
    let cost = KIND_COST[kind]!;
    const byteSlot = KIND_BYTE_COST_SLOT[kind]!;
    if (byteSlot >= 0) cost += (byteSlot === 0 ? a : byteSlot === 1 ? b : byteSlot === 2 ? c : d) >>> 3;
    this.tick += cost;
    this.lastTid = tid;
    this.kindCounts[kind]++;
    this.sink.event(++this.seq, this.tick, tid, kind, a, b, c, d, data);
    if (this.observe !== undefined) this.observe([this.seq, this.tick, tid, kind, a, b, c, d, data], this.nameTable);
  }

  // --- blocking and waking --------------------------------------------------------------------------

  /**
   * Block the current task until `wake()`. The caller has checked its condition in this same step,
   * so no wake-up can be lost. `killable`: a fatal signal wakes the task (it must then re-check
   * `fatalSignal` and leave whatever queue it is on).
   */
  block(on: number, waitClass: Name, killable = false): Gen {
    const task = this.running!;
    task.state = TaskState.Blocked;
    task.blockedOn = on;
    task.waitClass = waitClass.id;
    task.blockedSince = this.tick;
    task.killableWait = killable;
    this.removeRunnable(task);
    emit.sched_block({ on, wait: task.waitClass, killable });
    return one_event(undefined);
  }

  /** Make a blocked task runnable; the waker's step records it. */
  *wake(task: Task): Gen {
    if (!this.makeRunnable(task)) return;
    yield emit.sched_wakeup({ target: task.tid, on: task.blockedOn });
  }

  /**
   * The event the caller has just staged, then wake `task` (with its sched_wakeup event): for a
   * one-event leaf (one_event) whose event is followed by a wake-up only sometimes (spin_unlock with
   * a waiter). The first resume yields the staged event.
   */
  *stagedThenWake(task: Task): Gen {
    yield 0;
    yield* this.wake(task);
  }

  /** Wake without an event of its own (for wakes inside a step that already emits one). */
  makeRunnable(task: Task): boolean {
    if (task.state !== TaskState.Blocked) return false;
    task.waitTicks += this.tick - task.blockedSince;
    task.state = TaskState.Runnable;
    this.insertRunnable(task);
    return true;
  }

  /** Sleep in virtual time: runnable again once the clock reaches now + ticks. */
  *sleep(ticks: number, why: Name): Gen {
    const task = this.running!;
    task.state = TaskState.Sleeping;
    task.wakeAt = this.tick + ticks;
    task.blockedSince = this.tick;
    this.removeRunnable(task);
    this.sleepers.push(task);
    if (task.wakeAt < this.nextWake) this.nextWake = task.wakeAt;
    yield emit.sched_sleep({ until: task.wakeAt, why: why.id });
  }

  /** Deliver SIGKILL: sets the pending fatal signal and wakes a killable wait. */
  *sendFatalSignal(target: Task): Gen {
    target.fatalSignal = true;
    if (target.state === TaskState.Blocked && target.killableWait) this.makeRunnable(target);
    yield emit.signal_send({ target: target.tid, sig: 'SIGKILL' });
  }

  /** Wake the first sleeper whose time has come (in sleep order); true if one was woken. */
  private fireOneTimer(): boolean {
    const sleepers = this.sleepers;
    let i = 0;
    while (i < sleepers.length && sleepers[i]!.wakeAt > this.tick) i++;
    if (i === sleepers.length) return false;
    const t = sleepers[i]!;
    removeAt(sleepers, i);
    this.nextWake = this.earliestWake();
    t.state = TaskState.Runnable;
    this.insertRunnable(t);
    emit.sched_wakeup({ target: t.tid, on: W_TIMER.id });
    this.stampStaged(0);
    return true;
  }

  private earliestWake(): number {
    const sleepers = this.sleepers;
    let min = Infinity;
    for (let i = 0; i < sleepers.length; i++) if (sleepers[i]!.wakeAt < min) min = sleepers[i]!.wakeAt;
    return min;
  }

  private reportDeadlock(): void {
    const blocked = this.tasks
      .filter((t) => t.state === TaskState.Blocked)
      .map((t) => [t.tid, t.blockedOn, t.waitClass]);
    emit.deadlock({ blocked: blocked.length, tasks: blocked.flat() });
    this.stampStaged(0);
  }

  /** Keep runnable ordered by tid so strategies see a canonical order. */
  private insertRunnable(task: Task): void {
    const r = this.runnable;
    let i = r.length;
    r.push(task);
    for (; i > 0 && r[i - 1]!.tid > task.tid; i--) r[i] = r[i - 1]!;
    r[i] = task;
  }

  private removeRunnable(task: Task): void {
    const i = this.runnable.indexOf(task);
    if (i >= 0) removeAt(this.runnable, i);
  }
}

/**
 * Run a task to its next event: its innermost frame if it has one (frame.ts), else its generator.
 * A frame that finishes hands the step on to the one outside it, or to the task's generator, whose
 * chain then collects the frame's value; done only when the task itself has returned.
 */
function resume(task: Task): IteratorResult<0, unknown> {
  const frames = task.frames;
  while (frames.length > 0) {
    const r = frames[frames.length - 1]!.next();
    if (!r.done) return r;
  }
  return task.gen.next();
}

/** Remove list[i], keeping the order (splice without the array of removed elements it returns). */
function removeAt<T>(list: T[], i: number): void {
  for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j]!;
  list.length--;
}
