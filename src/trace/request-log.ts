/**
 * Every request of a run so far, in the order they began, stored by column: a run can have tens of
 * thousands of requests, the kernel keeps this log, and replay rebuilds it from the trace file for
 * every snapshot it starts from (request-segment.ts), so it must cost a few numbers per request and
 * no objects: typed columns (RequestColumns).
 */
/**
 * A request's identity across runs: the task's name and its per-task request number, `monitor:3`
 * (two runs of one workload match requests by it, never by seq).
 */
export function requestId(task: string, n: number): string {
  return `${task}:${n}`;
}

export interface RequestLogWire {
  tid: number[];
  req: number[];
  op: number[];
  ops: string[];
  addr: number[];
  len: number[];
  /** Bytes returned or -errno; null while in flight. */
  result: (number | null)[];
  /** FNV-1a of the returned bytes; null while in flight. */
  hash: (number | null)[];
}

/** A result or hash column's value for a request still in flight (the wire's null). */
const IN_FLIGHT = NaN;

/** Room for requests a log has before it grows (doubling) to take more. */
const FIRST_CAPACITY = 64;

/**
 * The columns of a log, typed: replay rebuilds a log of tens of thousands of requests for every
 * snapshot it starts from, and copying typed columns from the pieces in the trace file
 * (request-segment.ts) costs a memcpy per piece and column where arrays of numbers cost a push per
 * request and column, and garbage. Result and hash hold IN_FLIGHT while the request is open.
 */
export interface RequestColumns {
  tid: Int32Array;
  req: Int32Array;
  op: Uint16Array;
  addr: Float64Array;
  len: Float64Array;
  result: Float64Array;
  hash: Float64Array;
}

/** Columns with room for `capacity` requests, the first `keep` copied from `from`. */
export function requestColumns(capacity: number, from?: RequestColumns, keep = 0): RequestColumns {
  const c: RequestColumns = {
    tid: new Int32Array(capacity), req: new Int32Array(capacity), op: new Uint16Array(capacity),
    addr: new Float64Array(capacity), len: new Float64Array(capacity),
    result: new Float64Array(capacity), hash: new Float64Array(capacity),
  };
  if (from) for (const k of Object.keys(c) as (keyof RequestColumns)[]) c[k].set(from[k].subarray(0, keep) as never);
  return c;
}

/** A result or hash column's value as the wire gives it: null while the request is in flight. */
export const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
/** A wire value (null: in flight) as a result or hash column holds it. */
export const orInFlight = (x: number | null): number => x ?? IN_FLIGHT;

export class RequestLog {
  private n: number;
  private c: RequestColumns;

  /** A log of the first `length` requests of `columns`, op codes indexing `ops`. */
  constructor(private readonly ops: string[] = [], columns?: RequestColumns, length = 0) {
    this.c = columns ?? requestColumns(FIRST_CAPACITY);
    this.n = length;
  }

  get length(): number {
    return this.n;
  }

  begin(tid: number, req: number, op: string, addr: number, len: number): void {
    let o = this.ops.indexOf(op);
    if (o < 0) o = this.ops.push(op) - 1;
    if (this.n === this.c.tid.length) this.c = requestColumns(2 * this.n, this.c, this.n);
    const c = this.c;
    const i = this.n++;
    c.tid[i] = tid;
    c.req[i] = req;
    c.op[i] = o;
    c.addr[i] = addr;
    c.len[i] = len;
    c.result[i] = IN_FLIGHT;
    c.hash[i] = IN_FLIGHT;
  }

  /** The request `req` of task `tid` ended (requests are numbered per task). */
  end(tid: number, req: number, result: number, hash: number): void {
    const c = this.c;
    for (let i = this.n - 1; i >= 0; i--) {
      if (c.tid[i] === tid && c.req[i] === req) {
        c.result[i] = result;
        c.hash[i] = hash >>> 0;
        return;
      }
    }
  }

  /** The result of request i: bytes returned or -errno, null while it is in flight. */
  resultAt(i: number): number | null {
    return i < this.n ? orNull(this.c.result[i]!) : null;
  }

  at(i: number) {
    const c = this.c;
    return {
      tid: c.tid[i]!, req: c.req[i]!, op: this.ops[c.op[i]!]!, addr: c.addr[i]!, len: c.len[i]!,
      result: orNull(c.result[i]!), hash: orNull(c.hash[i]!),
    };
  }

  /** The requests still in flight, in the order they began (what the browser's panel lists). */
  inFlight(): RequestLog {
    const open = new RequestLog(this.ops.slice());
    for (let i = 0; i < this.n; i++) {
      if (this.resultAt(i) !== null) continue;
      const r = this.at(i);
      open.begin(r.tid, r.req, r.op, r.addr, r.len);
    }
    return open;
  }

  /** A copy (typed columns copy fast). */
  clone(): RequestLog {
    return new RequestLog(this.ops.slice(), requestColumns(Math.max(this.n, FIRST_CAPACITY), this.c, this.n), this.n);
  }

  /** The log as arrays of numbers (a checkpoint's encoding, and what tests compare). */
  toWire(): RequestLogWire {
    const c = this.c;
    const n = this.n;
    const column = (xs: ArrayLike<number>) => Array.from({ length: n }, (_, i) => xs[i]!);
    return {
      tid: column(c.tid), req: column(c.req), op: column(c.op), ops: this.ops.slice(), addr: column(c.addr),
      len: column(c.len), result: column(c.result).map(orNull), hash: column(c.hash).map(orNull),
    };
  }

  static fromWire(w: RequestLogWire): RequestLog {
    const n = w.tid.length;
    const c = requestColumns(Math.max(n, FIRST_CAPACITY));
    c.tid.set(w.tid);
    c.req.set(w.req);
    c.op.set(w.op);
    c.addr.set(w.addr);
    c.len.set(w.len);
    c.result.set(w.result.map(orInFlight));
    c.hash.set(w.hash.map(orInFlight));
    return new RequestLog(w.ops.slice(), c, n);
  }
}
