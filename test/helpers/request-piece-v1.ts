/** Request log pieces as files recorded before version 2 hold them (trace/request-segment.ts). */
import { Packr } from 'msgpackr';
import type { RequestSegment } from '../../src/trace/request-segment.js';

/** A piece of version 1: msgpack columns of numbers, the op column indexing the piece's op names. */
export function encodeVersion1(s: RequestSegment): Uint8Array {
  const rows = s.begun;
  const ops = [...new Set(rows.map((r) => r.op))];
  return new Packr({ useRecords: false }).pack({
    firstSeq: rows.map((r) => r.firstSeq), tid: rows.map((r) => r.tid), req: rows.map((r) => r.req),
    ops, op: rows.map((r) => ops.indexOf(r.op)), addr: rows.map((r) => r.addr), len: rows.map((r) => r.len),
    result: rows.map((r) => r.result), hash: rows.map((r) => r.hash),
    late: { firstSeq: s.late.map((l) => l.firstSeq), result: s.late.map((l) => l.result), hash: s.late.map((l) => l.hash) },
  });
}
