/**
 * Request pairing: each task's request_begin with its request_end, the request each task has in
 * flight at any event, and what each request returned. A task makes one request at a time, so the
 * tid identifies the open request.
 */
import { hashHex } from '../trace/hash.js';
import { requestId } from '../trace/request-log.js';
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';
import { taskName, type RunNames } from './read-run.js';

export interface RequestRecord {
  /** Identity across runs: task name and per-task request number, e.g. `monitor:3`. */
  id: string;
  task: string;
  op: string;
  addr: number;
  len: number;
  /** The gup_flags it read with (known at its end). */
  flags: number;
  /** Bytes returned, or -errno; null if the request never ended (incomplete run). */
  result: number | null;
  dataHash: string | null;
  data: Uint8Array | null;
  firstSeq: number;
  lastSeq: number | null;
  /** Ticks the task waited during the request (see wait-clock.ts), and on which wait classes. */
  waitTicks: number;
  waitedOn: Record<string, number>;
}

/**
 * What a Requests keeps: every request, with the bytes it returned and their hash (aggregates and
 * the diff report and compare them), or only the requests in flight, without their bytes (the
 * checkers ask which request a task is in and are told of each as it ends: what they keep stays
 * the same size over a run of any length).
 */
export type RequestsKept = 'every' | 'in-flight';

export class Requests implements Reducer {
  readonly kinds = ['request_begin', 'request_end'] as const;
  /** Every request in the order it began (empty when only those in flight are kept). */
  readonly all: RequestRecord[] = [];
  private readonly open = new Map<number, RequestRecord>();
  private readonly beginListeners: ((r: RequestRecord, tid: number) => void)[] = [];
  private readonly endListeners: ((r: RequestRecord, tid: number) => void)[] = [];

  constructor(private readonly names: RunNames, private readonly kept: RequestsKept = 'every') {}

  /** Call `fn` as each request begins. */
  onBegin(fn: (r: RequestRecord, tid: number) => void): void {
    this.beginListeners.push(fn);
  }

  /** Call `fn` as each request ends, after its result is filled in. */
  onEnd(fn: (r: RequestRecord, tid: number) => void): void {
    this.endListeners.push(fn);
  }

  event(e: TraceEvent): void {
    if (e.kind === 'request_begin') {
      const task = taskName(this.names, e.tid);
      const r: RequestRecord = {
        id: requestId(task, e.req), task, op: e.op, addr: e.addr, len: e.len, flags: 0,
        result: null, dataHash: null, data: null, firstSeq: e.seq, lastSeq: null, waitTicks: 0, waitedOn: {},
      };
      this.open.set(e.tid, r);
      if (this.kept === 'every') this.all.push(r);
      for (const fn of this.beginListeners) fn(r, e.tid);
    } else if (e.kind === 'request_end') {
      const r = this.open.get(e.tid);
      if (!r) return;
      this.open.delete(e.tid);
      r.result = e.result;
      r.flags = e.flags;
      if (this.kept === 'every') {
        r.data = e.data ? new Uint8Array(e.data) : new Uint8Array(0);
        r.dataHash = hashHex(e.hash);
      }
      r.lastSeq = e.seq;
      for (const fn of this.endListeners) fn(r, e.tid);
    }
  }

  /** The request `tid` has in flight now. */
  inFlight(tid: number): RequestRecord | undefined {
    return this.open.get(tid);
  }
}
