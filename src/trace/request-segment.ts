/**
 * The request log in pieces, one per snapshot (the `request_log` table). A snapshot's piece holds
 * the requests begun since the run's previous snapshot, in the order they began, with the result of
 * those that had ended by this one; and the results of earlier requests that ended since the
 * previous snapshot ("late" results). The pieces up to a snapshot, laid end to end, are the log at
 * that snapshot once the late results are filled in: a snapshot needs no copy of the log, and the
 * pieces together are as long as the log itself. Columns of numbers (PIECE_V2 below).
 */
import { Packr } from 'msgpackr';
import { orInFlight, orNull, RequestLog, requestColumns } from './request-log.js';

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

/**
 * How a piece is written. Version 1 (files recorded before it) is msgpack columns of numbers:
 * rebuilding a log of 22,500 requests from those cost ~7 ms of unpacking and pushing per
 * projection. Version 2 is the columns' bytes, which the rebuild copies whole into the log's typed
 * columns (RequestColumns). Both read; a version 2 piece starts with a byte msgpack never uses, a
 * version 1 piece with a msgpack map.
 *
 * Version 2, little-endian: the marker; at byte 4 the count of begun requests n, at 8 the count of
 * late results m, at 12 the byte length of the op names (UTF-8, joined by newlines) that follow at
 * 16; then, from the next multiple of 8, the columns: firstSeq, addr, len, result, hash (float64 x
 * n, result and hash NaN while in flight), the late firstSeq, result, hash (float64 x m), tid, req
 * (int32 x n), op (uint16 x n, indexing the piece's op names).
 */
const PIECE_V2 = 0xc1;
const HEADER = 16;

const packr = new Packr({ useRecords: false });

/** A version 1 piece on the wire: the begun requests by column, `op` indexing `ops`; the late results too. */
interface WireV1 {
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

/** Where a version 2 piece keeps each column (byte offsets into it), and its op names. */
interface PieceLayout {
  n: number;
  m: number;
  ops: string[];
  firstSeq: number;
  addr: number;
  len: number;
  result: number;
  hash: number;
  lateFirstSeq: number;
  lateResult: number;
  lateHash: number;
  tid: number;
  req: number;
  op: number;
}

function layoutOf(n: number, m: number, ops: string[], opsBytes: number): PieceLayout {
  const firstSeq = Math.ceil((HEADER + opsBytes) / 8) * 8;
  const f64 = (k: number) => firstSeq + 8 * k;
  const afterF64 = f64(5 * n + 3 * m);
  return {
    n, m, ops, firstSeq, addr: f64(n), len: f64(2 * n), result: f64(3 * n), hash: f64(4 * n),
    lateFirstSeq: f64(5 * n), lateResult: f64(5 * n + m), lateHash: f64(5 * n + 2 * m),
    tid: afterF64, req: afterF64 + 4 * n, op: afterF64 + 8 * n,
  };
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeSegment(s: RequestSegment): Uint8Array {
  const rows = s.begun;
  const ops = [...new Set(rows.map((r) => r.op))];
  const opNames = utf8.encode(ops.join('\n'));
  const at = layoutOf(rows.length, s.late.length, ops, opNames.length);
  const bytes = new Uint8Array(at.op + 2 * rows.length);
  const v = new DataView(bytes.buffer);
  bytes[0] = PIECE_V2;
  v.setUint32(4, at.n, true);
  v.setUint32(8, at.m, true);
  v.setUint32(12, opNames.length, true);
  bytes.set(opNames, HEADER);
  const f64 = (base: number, i: number, x: number | null) => v.setFloat64(base + 8 * i, orInFlight(x), true);
  rows.forEach((r, i) => {
    f64(at.firstSeq, i, r.firstSeq);
    f64(at.addr, i, r.addr);
    f64(at.len, i, r.len);
    f64(at.result, i, r.result);
    f64(at.hash, i, r.hash);
    v.setInt32(at.tid + 4 * i, r.tid, true);
    v.setInt32(at.req + 4 * i, r.req, true);
    v.setUint16(at.op + 2 * i, ops.indexOf(r.op), true);
  });
  s.late.forEach((l, i) => {
    f64(at.lateFirstSeq, i, l.firstSeq);
    f64(at.lateResult, i, l.result);
    f64(at.lateHash, i, l.hash);
  });
  return bytes;
}

function isVersion2(data: Uint8Array): boolean {
  return data[0] === PIECE_V2;
}

function layoutOfPiece(data: Uint8Array): PieceLayout {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const opsBytes = v.getUint32(12, true);
  const names = fromUtf8.decode(data.subarray(HEADER, HEADER + opsBytes));
  return layoutOf(v.getUint32(4, true), v.getUint32(8, true), names === '' ? [] : names.split('\n'), opsBytes);
}

function decodeVersion1(data: Uint8Array): RequestSegment {
  const w = packr.unpack(data) as WireV1;
  return {
    begun: w.firstSeq.map((firstSeq, i) => ({
      firstSeq, tid: w.tid[i]!, req: w.req[i]!, op: w.ops[w.op[i]!]!, addr: w.addr[i]!, len: w.len[i]!, result: w.result[i]!, hash: w.hash[i]!,
    })),
    late: w.late.firstSeq.map((firstSeq, i) => ({ firstSeq, result: w.late.result[i]!, hash: w.late.hash[i]! })),
  };
}

export function decodeSegment(data: Uint8Array): RequestSegment {
  if (!isVersion2(data)) return decodeVersion1(data);
  const at = layoutOfPiece(data);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const f64 = (base: number, i: number) => v.getFloat64(base + 8 * i, true);
  return {
    begun: Array.from({ length: at.n }, (_, i) => ({
      firstSeq: f64(at.firstSeq, i), tid: v.getInt32(at.tid + 4 * i, true), req: v.getInt32(at.req + 4 * i, true),
      op: at.ops[v.getUint16(at.op + 2 * i, true)]!, addr: f64(at.addr, i), len: f64(at.len, i),
      result: orNull(f64(at.result, i)), hash: orNull(f64(at.hash, i)),
    })),
    late: Array.from({ length: at.m }, (_, i) => ({ firstSeq: f64(at.lateFirstSeq, i), result: f64(at.lateResult, i), hash: f64(at.lateHash, i) })),
  };
}

/**
 * Room a rebuilt log keeps for the requests the fold begins after its snapshot (a few dozen per
 * snapshot interval on the scale workload): growing the log would copy every column once more.
 */
const ROOM_TO_FOLD = 1024;

/**
 * Copy `count` elements of a piece's column, at byte `from` of `data`, into `into` from element
 * `at`: byte for byte, so the piece (little-endian) must match the host's byte order, as on every
 * platform Node supports (x86-64, arm64).
 */
function copyColumn(into: ArrayBufferView & { BYTES_PER_ELEMENT: number }, at: number, data: Uint8Array, from: number, count: number): void {
  const each = into.BYTES_PER_ELEMENT;
  new Uint8Array(into.buffer, into.byteOffset + at * each, count * each).set(data.subarray(from, from + count * each));
}

/**
 * The request log after the snapshot of the last of `segments` (a run's pieces up to it, in
 * order). Replay calls this for every snapshot it starts from, on logs of tens of thousands of
 * requests: each version 2 piece's columns are copied into the log's whole (a piece of version 1
 * is written as version 2 first), and no object is made per request.
 */
export function logFromSegments(segments: readonly Uint8Array[]): RequestLog {
  const pieces = segments.map((data) => (isVersion2(data) ? data : encodeSegment(decodeVersion1(data))));
  const layouts = pieces.map(layoutOfPiece);
  const total = layouts.reduce((n, at) => n + at.n, 0);
  const c = requestColumns(total + ROOM_TO_FOLD);
  const firstSeqs = new Float64Array(total);
  const ops: string[] = [];
  let at = 0;
  pieces.forEach((data, p) => {
    const piece = layouts[p]!;
    copyColumn(firstSeqs, at, data, piece.firstSeq, piece.n);
    copyColumn(c.addr, at, data, piece.addr, piece.n);
    copyColumn(c.len, at, data, piece.len, piece.n);
    copyColumn(c.result, at, data, piece.result, piece.n);
    copyColumn(c.hash, at, data, piece.hash, piece.n);
    copyColumn(c.tid, at, data, piece.tid, piece.n);
    copyColumn(c.req, at, data, piece.req, piece.n);
    copyColumn(c.op, at, data, piece.op, piece.n);
    // the piece's op codes index its own names: make them index the log's
    const opId = piece.ops.map((op) => (ops.includes(op) ? ops.indexOf(op) : ops.push(op) - 1));
    for (let i = at; i < at + piece.n; i++) c.op[i] = opId[c.op[i]!]!;
    at += piece.n;
  });
  // the pieces laid end to end are in the order the requests began: first seqs ascend
  pieces.forEach((data, p) => {
    const piece = layouts[p]!;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < piece.m; i++) {
      const begun = indexOf(firstSeqs, v.getFloat64(piece.lateFirstSeq + 8 * i, true));
      c.result[begun] = v.getFloat64(piece.lateResult + 8 * i, true);
      c.hash[begun] = v.getFloat64(piece.lateHash + 8 * i, true);
    }
  });
  return new RequestLog(ops, c, total);
}

/** The index of `x` in the ascending `xs` (present: every late result's request began earlier). */
function indexOf(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
