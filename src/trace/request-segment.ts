/**
 * The request log in pieces, one per snapshot (the `request_log` table): the requests that ended
 * since the run's previous snapshot, and those open at this one. The pieces of a run up to a
 * snapshot hold every request begun by then, each once as ended or, in the snapshot's own piece,
 * as open; so a snapshot needs no copy of the log, and the pieces together are as long as the log
 * itself. Columns of numbers, packed with msgpackr.
 */
import { Packr } from 'msgpackr';
import { RequestLog, type RequestLogWire } from './request-log.js';

/** One request as its request_begin (and request_end, once it ended) say. */
export interface RequestRow {
  firstSeq: number;
  tid: number;
  req: number;
  op: string;
  addr: number;
  len: number;
  /** Bytes returned or -errno, and the FNV-1a of the bytes; null while the request is open. */
  result: number | null;
  hash: number | null;
}

export interface RequestSegment {
  ended: RequestRow[];
  open: RequestRow[];
}

const packr = new Packr({ useRecords: false });

/** Requests by column; `op` indexes `ops` (a piece names each op once). */
interface Columns {
  firstSeq: number[];
  tid: number[];
  req: number[];
  ops: string[];
  op: number[];
  addr: number[];
  len: number[];
  result: (number | null)[];
  hash: (number | null)[];
}

function toColumns(rows: readonly RequestRow[]): Columns {
  const ops = [...new Set(rows.map((r) => r.op))];
  return {
    firstSeq: rows.map((r) => r.firstSeq), tid: rows.map((r) => r.tid), req: rows.map((r) => r.req),
    ops, op: rows.map((r) => ops.indexOf(r.op)), addr: rows.map((r) => r.addr), len: rows.map((r) => r.len),
    result: rows.map((r) => r.result), hash: rows.map((r) => r.hash),
  };
}

function fromColumns(c: Columns): RequestRow[] {
  return c.firstSeq.map((firstSeq, i) => ({
    firstSeq, tid: c.tid[i]!, req: c.req[i]!, op: c.ops[c.op[i]!]!, addr: c.addr[i]!, len: c.len[i]!, result: c.result[i]!, hash: c.hash[i]!,
  }));
}

type Wire = { ended: Columns; open: Columns };

export function encodeSegment(s: RequestSegment): Uint8Array {
  const wire: Wire = { ended: toColumns(s.ended), open: toColumns(s.open) };
  return packr.pack(wire);
}

export function decodeSegment(data: Uint8Array): RequestSegment {
  const w = packr.unpack(data) as Wire;
  return { ended: fromColumns(w.ended), open: fromColumns(w.open) };
}

/**
 * The request log after the snapshot at `segments`' last seq: every request those pieces ended,
 * and those open in the last one, in the order they began. Replay calls this for every snapshot it
 * starts from, on logs of tens of thousands of requests: it works on the columns, making no object
 * per request.
 */
export function logFromSegments(segments: readonly Uint8Array[]): RequestLog {
  const parts: Columns[] = [];
  segments.forEach((data, i) => {
    const w = packr.unpack(data) as Wire;
    parts.push(w.ended);
    if (i === segments.length - 1) parts.push(w.open);
  });
  const n = parts.reduce((sum, c) => sum + c.firstSeq.length, 0);
  // where the k-th request of all parts is: its part, its row there, and the event it began at
  const partOf = new Int32Array(n);
  const rowOf = new Int32Array(n);
  const firstSeq = new Float64Array(n);
  let k = 0;
  parts.forEach((c, p) => {
    for (let r = 0; r < c.firstSeq.length; r++, k++) {
      partOf[k] = p;
      rowOf[k] = r;
      firstSeq[k] = c.firstSeq[r]!;
    }
  });
  // each request begins at an event of its own, so first seqs order the requests as they began
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => firstSeq[x]! - firstSeq[y]!);
  const wire: RequestLogWire = {
    tid: new Array(n), req: new Array(n), op: new Array(n), ops: [], addr: new Array(n), len: new Array(n),
    result: new Array(n), hash: new Array(n),
  };
  const opIds = new Map<string, number>();
  order.forEach((from, to) => {
    const c = parts[partOf[from]!]!;
    const r = rowOf[from]!;
    const op = c.ops[c.op[r]!]!;
    let id = opIds.get(op);
    if (id === undefined) opIds.set(op, (id = wire.ops.push(op) - 1));
    wire.tid[to] = c.tid[r]!;
    wire.req[to] = c.req[r]!;
    wire.op[to] = id;
    wire.addr[to] = c.addr[r]!;
    wire.len[to] = c.len[r]!;
    wire.result[to] = c.result[r]!;
    wire.hash[to] = c.hash[r]!;
  });
  return RequestLog.fromWire(wire);
}
