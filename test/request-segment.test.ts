/**
 * The request log's pieces in the trace file (trace/request-segment.ts): version 2 is the columns'
 * bytes, copied whole into the log's typed columns; pieces of version 1 (msgpack, files recorded
 * before) still read, alone or beside version 2 pieces, into the same log.
 */
import { describe, expect, it } from 'vitest';
import { RequestLog } from '../src/trace/request-log.js';
import { decodeSegment, encodeSegment, logFromSegments, type RequestSegment } from '../src/trace/request-segment.js';
import { encodeVersion1 } from './helpers/request-piece-v1.js';

// Three snapshots' pieces: requests of two ops, one left open across two snapshots (ended late, in
// the third piece), one still open at the last, an -errno result and a hash above 2^31.
const PIECES: RequestSegment[] = [
  {
    begun: [
      { firstSeq: 3, tid: 2, req: 1, op: 'cmdline', addr: 0x7ffd0000, len: 4096, result: 57, hash: 0xdeadbeef },
      { firstSeq: 9, tid: 3, req: 1, op: 'peek', addr: 0x400000, len: 8, result: null, hash: null },
    ],
    late: [],
  },
  { begun: [{ firstSeq: 40, tid: 2, req: 2, op: 'cmdline', addr: 0x7ffd0000, len: 4096, result: -14, hash: 0x811c9dc5 }], late: [] },
  {
    begun: [{ firstSeq: 77, tid: 2, req: 3, op: 'cmdline', addr: 0x7ffd1000, len: 16, result: null, hash: null }],
    late: [{ firstSeq: 9, result: 8, hash: 0x12345678 }],
  },
];

/** The log those pieces stand for, made as the kernel and the fold make it. */
function logAsFolded(): RequestLog {
  const log = new RequestLog();
  log.begin(2, 1, 'cmdline', 0x7ffd0000, 4096);
  log.end(2, 1, 57, 0xdeadbeef);
  log.begin(3, 1, 'peek', 0x400000, 8);
  log.begin(2, 2, 'cmdline', 0x7ffd0000, 4096);
  log.end(2, 2, -14, 0x811c9dc5);
  log.end(3, 1, 8, 0x12345678);
  log.begin(2, 3, 'cmdline', 0x7ffd1000, 16);
  return log;
}

describe('the request log pieces', () => {
  it('of version 2 decode to the requests and late results they were written from', () => {
    for (const piece of PIECES) expect(decodeSegment(encodeSegment(piece))).toEqual(piece);
  });

  it('rebuild the log the fold makes, late results filled in and open requests left open', () => {
    const log = logFromSegments(PIECES.map(encodeSegment));
    expect(log.toWire()).toEqual(logAsFolded().toWire());
    expect(log.resultAt(3)).toBeNull();
    expect(log.at(1)).toEqual({ tid: 3, req: 1, op: 'peek', addr: 0x400000, len: 8, result: 8, hash: 0x12345678 });
  });

  it('of version 1, from files recorded before, read into the same log, alone or beside version 2', () => {
    expect(decodeSegment(encodeVersion1(PIECES[2]!))).toEqual(PIECES[2]);
    expect(logFromSegments(PIECES.map(encodeVersion1)).toWire()).toEqual(logAsFolded().toWire());
    const mixed = [encodeVersion1(PIECES[0]!), encodeSegment(PIECES[1]!), encodeVersion1(PIECES[2]!)];
    expect(logFromSegments(mixed).toWire()).toEqual(logAsFolded().toWire());
  });

  it('rebuild a log the fold can go on with: it begins and ends requests past the rebuilt ones', () => {
    const log = logFromSegments(PIECES.map(encodeSegment));
    const folded = logAsFolded();
    for (const l of [log, folded]) {
      for (let req = 4; req < 2000; req++) l.begin(2, req, req % 2 ? 'peek' : 'write', req * 4096, 8);
      l.end(2, 3, 16, 1);
      l.end(2, 1999, 8, 2);
    }
    expect(log.length).toBe(4 + 1996); // past the room a rebuilt log keeps: it grew
    expect(log.toWire()).toEqual(folded.toWire());
    expect(log.clone().toWire()).toEqual(folded.toWire());
    expect(RequestLog.fromWire(log.toWire()).toWire()).toEqual(folded.toWire());
  });

  it('list only the requests in flight for the browser panel', () => {
    const open = logFromSegments(PIECES.map(encodeSegment)).inFlight();
    expect(Array.from({ length: open.length }, (_, i) => open.at(i))).toEqual([
      { tid: 2, req: 3, op: 'cmdline', addr: 0x7ffd1000, len: 16, result: null, hash: null },
    ]);
  });
});
