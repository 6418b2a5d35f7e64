/**
 * The request log in pieces, one per snapshot (the `request_log` table). A snapshot's piece holds
 * the requests begun since the run's previous snapshot, in the order they began, with the result of
 * those that had ended by this one; and the results of earlier requests that ended since the
 * previous snapshot ("late" results). The pieces up to a snapshot, laid end to end, are the log at
 * that snapshot once the late results are filled in: a snapshot needs no copy of the log, and the
 * pieces together are as long as the log itself. Columns of numbers, packed with msgpackr.
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

/** How a request that began before the previous snapshot ended. */
export interface LateResult {
  firstSeq: number;
  result: number;
  hash: number;
}

export interface RequestSegment {
  begun: RequestRow[];
  late: LateResult[];
}

const packr = new Packr({ useRecords: false });

/** A piece on the wire: the begun requests by column, `op` indexing `ops`; the late results too. */
interface Wire {
  firstSeq: number[];
  tid: number[];
  req: number[];
  ops: string[];
  op: number[];
  addr: number[];
  len: number[];
  result: (number | null)[];
  hash: (number | null)[];
  late: { firstSeq: number[]; result: number[]; hash: number[] };
}

export function encodeSegment(s: RequestSegment): Uint8Array {
  const rows = s.begun;
  const ops = [...new Set(rows.map((r) => r.op))];
  const wire: Wire = {
    firstSeq: rows.map((r) => r.firstSeq), tid: rows.map((r) => r.tid), req: rows.map((r) => r.req),
    ops, op: rows.map((r) => ops.indexOf(r.op)), addr: rows.map((r) => r.addr), len: rows.map((r) => r.len),
    result: rows.map((r) => r.result), hash: rows.map((r) => r.hash),
    late: { firstSeq: s.late.map((l) => l.firstSeq), result: s.late.map((l) => l.result), hash: s.late.map((l) => l.hash) },
  };
  return packr.pack(wire);
}

export function decodeSegment(data: Uint8Array): RequestSegment {
  const w = packr.unpack(data) as Wire;
  return {
    begun: w.firstSeq.map((firstSeq, i) => ({
      firstSeq, tid: w.tid[i]!, req: w.req[i]!, op: w.ops[w.op[i]!]!, addr: w.addr[i]!, len: w.len[i]!, result: w.result[i]!, hash: w.hash[i]!,
    })),
    late: w.late.firstSeq.map((firstSeq, i) => ({ firstSeq, result: w.late.result[i]!, hash: w.late.hash[i]! })),
  };
}

/**
 * The request log after the snapshot of the last of `segments` (a run's pieces up to it, in
 * order). Replay calls this for every snapshot it starts from, on logs of tens of thousands of
 * requests: it appends columns and makes no object per request.
 */
export function logFromSegments(segments: readonly Uint8Array[]): RequestLog {
  const log: RequestLogWire = { tid: [], req: [], op: [], ops: [], addr: [], len: [], result: [], hash: [] };
  const firstSeqs: number[] = [];
  const late: Wire['late'][] = [];
  const opIds = new Map<string, number>();
  for (const data of segments) {
    const w = packr.unpack(data) as Wire;
    const opId = w.ops.map((op) => {
      let id = opIds.get(op);
      if (id === undefined) opIds.set(op, (id = log.ops.push(op) - 1));
      return id;
    });
    for (let i = 0; i < w.firstSeq.length; i++) {
      firstSeqs.push(w.firstSeq[i]!);
      log.tid.push(w.tid[i]!);
      log.req.push(w.req[i]!);
      log.op.push(opId[w.op[i]!]!);
      log.addr.push(w.addr[i]!);
      log.len.push(w.len[i]!);
      log.result.push(w.result[i]!);
      log.hash.push(w.hash[i]!);
    }
    late.push(w.late);
  }
  // the pieces laid end to end are in the order the requests began: first seqs ascend
  for (const l of late) {
    l.firstSeq.forEach((seq, i) => {
      const at = indexOf(firstSeqs, seq);
      log.result[at] = l.result[i]!;
      log.hash[at] = l.hash[i]!;
    });
  }
  return RequestLog.fromWire(log);
}

/** The index of `x` in the ascending `xs` (present: every late result's request began earlier). */
function indexOf(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
