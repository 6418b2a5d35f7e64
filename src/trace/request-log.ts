/**
 * Every request of a run so far, in the order they began, stored by column: a run can have tens of
 * thousands of requests, the kernel keeps this log, and replay rebuilds it from the trace file for
 * every snapshot it starts from (request-segment.ts), so it must cost a few numbers per request and
 * no objects.
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

export class RequestLog {
  constructor(private readonly w: RequestLogWire = {
    tid: [], req: [], op: [], ops: [], addr: [], len: [], result: [], hash: [],
  }) {}

  get length(): number {
    return this.w.tid.length;
  }

  begin(tid: number, req: number, op: string, addr: number, len: number): void {
    let o = this.w.ops.indexOf(op);
    if (o < 0) o = this.w.ops.push(op) - 1;
    this.w.tid.push(tid);
    this.w.req.push(req);
    this.w.op.push(o);
    this.w.addr.push(addr);
    this.w.len.push(len);
    this.w.result.push(null);
    this.w.hash.push(null);
  }

  /** The request `req` of task `tid` ended (requests are numbered per task). */
  end(tid: number, req: number, result: number, hash: number): void {
    for (let i = this.w.tid.length - 1; i >= 0; i--) {
      if (this.w.tid[i] === tid && this.w.req[i] === req) {
        this.w.result[i] = result;
        this.w.hash[i] = hash >>> 0;
        return;
      }
    }
  }

  /** The result of request i: bytes returned or -errno, null while it is in flight. */
  resultAt(i: number): number | null {
    return this.w.result[i] ?? null;
  }

  at(i: number) {
    const w = this.w;
    return { tid: w.tid[i]!, req: w.req[i]!, op: w.ops[w.op[i]!]!, addr: w.addr[i]!, len: w.len[i]!, result: w.result[i]!, hash: w.hash[i]! };
  }

  /** A copy (arrays of numbers copy fast). */
  clone(): RequestLog {
    const w = this.w;
    return new RequestLog({
      tid: w.tid.slice(), req: w.req.slice(), op: w.op.slice(), ops: w.ops.slice(), addr: w.addr.slice(),
      len: w.len.slice(), result: w.result.slice(), hash: w.hash.slice(),
    });
  }

  toWire(): RequestLogWire {
    return this.w;
  }

  static fromWire(w: RequestLogWire): RequestLog {
    return new RequestLog(w);
  }
}
