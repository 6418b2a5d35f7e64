/**
 * Pairs each request_begin with the request_end of the same task and request number, for the
 * `requests` table: a begun request is stored open (last seq -1) and replaced once it ends. It also
 * gathers the request log's piece for each snapshot (request-segment.ts).
 */
import type { LateResult, RequestRow, RequestSegment } from './request-segment.js';
import { decode, K } from './vocab/index.js';

export class RequestPairs {
  private readonly open = new Map<string, RequestRow>();
  /** Requests begun since the last piece was taken (a row is completed in place if it ends before the next). */
  private begun: RequestRow[] = [];
  /** Results of requests begun before the last piece that ended since. */
  private late: LateResult[] = [];
  /** The event the last piece was taken at. */
  private lastPieceSeq = 0;
  /** The run's interned names so far, by id (a request's op is one). */
  private readonly names: string[] = [];

  /** Is an event of this kind number a request boundary (the only ones `note` needs to see)? */
  static concerns(kind: number): boolean {
    return kind === K.request_begin || kind === K.request_end;
  }

  clear(): void {
    this.open.clear();
    this.begun = [];
    this.late = [];
    this.lastPieceSeq = 0;
    this.names.length = 0;
  }

  /** A name the run interned (the recorder sees each before the events that use it). */
  name(id: number, text: string): void {
    this.names[id] = text;
  }

  /**
   * Note a request boundary; `store(firstSeq, lastSeq)` receives the row to write (lastSeq -1 while
   * the request is open). A request_end without its begin is left out.
   */
  note(
    seq: number, tid: number, kind: number, a: number, b: number, c: number, d: number,
    store: (firstSeq: number, lastSeq: number) => void,
  ): void {
    const e = decode([seq, 0, tid, kind, a, b, c, d, undefined], this.names);
    if (e.kind === 'request_begin') {
      const row: RequestRow = { firstSeq: seq, tid, req: e.req, op: e.op, addr: e.addr, len: e.len, result: null, hash: null };
      this.open.set(`${tid}:${e.req}`, row);
      this.begun.push(row);
      store(seq, -1);
    } else if (e.kind === 'request_end') {
      const key = `${tid}:${e.req}`;
      const begun = this.open.get(key);
      if (begun === undefined) return;
      this.open.delete(key);
      const hash = e.hash >>> 0;
      if (begun.firstSeq > this.lastPieceSeq) {
        begun.result = e.result;
        begun.hash = hash;
      } else {
        this.late.push({ firstSeq: begun.firstSeq, result: e.result, hash });
      }
      store(begun.firstSeq, seq);
    }
  }

  /** The piece of the request log for a snapshot after event `seq` (request-segment.ts). */
  takeSegment(seq: number): RequestSegment {
    const segment = { begun: this.begun, late: this.late };
    this.begun = [];
    this.late = [];
    this.lastPieceSeq = seq;
    return segment;
  }
}
