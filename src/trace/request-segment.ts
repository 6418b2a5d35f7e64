/**
 * The request log in pieces, one per snapshot (the `request_log` table): the requests that ended
 * since the run's previous snapshot, and those open at this one. The pieces of a run up to a
 * snapshot hold every request begun by then, each once as ended or, in the snapshot's own piece,
 * as open; so a snapshot needs no copy of the log, and the pieces together are as long as the log
 * itself. Columns of numbers, packed with msgpackr.
 */
import { Packr } from 'msgpackr';
import { RequestLog } from './request-log.js';

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

type Columns = { [K in keyof RequestRow]: RequestRow[K][] };

function toColumns(rows: readonly RequestRow[]): Columns {
  return {
    firstSeq: rows.map((r) => r.firstSeq), tid: rows.map((r) => r.tid), req: rows.map((r) => r.req),
    op: rows.map((r) => r.op), addr: rows.map((r) => r.addr), len: rows.map((r) => r.len),
    result: rows.map((r) => r.result), hash: rows.map((r) => r.hash),
  };
}

function fromColumns(c: Columns): RequestRow[] {
  return c.firstSeq.map((firstSeq, i) => ({
    firstSeq, tid: c.tid[i]!, req: c.req[i]!, op: c.op[i]!, addr: c.addr[i]!, len: c.len[i]!, result: c.result[i]!, hash: c.hash[i]!,
  }));
}

export function encodeSegment(s: RequestSegment): Uint8Array {
  return packr.pack({ ended: toColumns(s.ended), open: toColumns(s.open) });
}

export function decodeSegment(data: Uint8Array): RequestSegment {
  const w = packr.unpack(data) as { ended: Columns; open: Columns };
  return { ended: fromColumns(w.ended), open: fromColumns(w.open) };
}

/**
 * The request log after the snapshot at `segments`' last seq: every request those pieces ended,
 * and those open in the last one, in the order they began.
 */
export function logFromSegments(segments: readonly Uint8Array[]): RequestLog {
  const rows: RequestRow[] = [];
  segments.forEach((data, i) => {
    const s = decodeSegment(data);
    rows.push(...s.ended);
    if (i === segments.length - 1) rows.push(...s.open);
  });
  rows.sort((x, y) => x.firstSeq - y.firstSeq);
  const log = new RequestLog();
  for (const r of rows) {
    log.begin(r.tid, r.req, r.op, r.addr, r.len);
    if (r.result !== null) log.endLast(r.result, r.hash ?? 0);
  }
  return log;
}
