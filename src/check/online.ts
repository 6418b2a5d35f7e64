/**
 * The checkers as an event sink: the simulator's events go through the same decoding and reducers
 * as a recorded run's, as they happen. Nothing is stored. `stopAtFirst` ends the simulation at the
 * first violation by throwing StopRun out of the sink (explore's "stop at the first").
 */
import { Dispatch } from '../reduce/dispatch.js';
import type { RunNames } from '../reduce/read-run.js';
import type { EventSink } from '../trace/sink.js';
import { KINDS } from '../trace/vocab/index.js';
import { checkReducers } from './index.js';
import { CheckContext, type CheckOptions } from './context.js';
import type { Violation } from './violation.js';

/** Thrown out of the simulation to stop it once a violation is found. */
export class StopRun extends Error {
  constructor(readonly violation: Violation) {
    super(`stopped at a ${violation.checker} violation`);
  }
}

export class CheckingSink implements EventSink {
  readonly ctx: CheckContext;
  private readonly names: string[] = [''];
  private readonly dispatch: Dispatch;
  events = 0;
  /** By kind code: does any checker or shared reducer fold it? */
  private readonly wanted: boolean[] = [];

  constructor(options?: CheckOptions, stopAtFirst = false) {
    const runNames: RunNames = { names: this.names, taskNames: new Map() };
    this.ctx = new CheckContext(runNames, options);
    this.dispatch = new Dispatch(checkReducers(this.ctx), this.names);
    for (const k of KINDS) this.wanted[k.kind] = this.dispatch.wants(k.kind);
    if (stopAtFirst) {
      this.ctx.onReport((v) => {
        throw new StopRun(v);
      });
    }
  }

  get violations(): readonly Violation[] {
    return this.ctx.violations;
  }

  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined): void {
    this.events++;
    if (!this.wanted[kind]) return;
    this.dispatch.event(seq, tick, tid, kind, a, b, c, d, data);
  }

  name(id: number, text: string): void {
    this.names[id] = text;
  }

  task(tid: number, name: string): void {
    (this.ctx.names.taskNames as Map<number, string>).set(tid, name);
  }
}
