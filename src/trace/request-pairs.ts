/**
 * Pairs each request_begin with the request_end of the same task and request number, for the
 * `requests` table: a begun request is stored open (last seq -1) and replaced once it ends. It also
 * gathers the request log's piece for each snapshot (request-segment.ts).
 */
import type { RequestRow, RequestSegment } from './request-segment.js';
import { decode, K } from './vocab/index.js';

export class RequestPairs {
  private readonly open = new Map<string, RequestRow>();
  /** Requests ended since the last snapshot's piece was taken. */
  private ended: RequestRow[] = [];
  /** The run's interned names so far, by id (a request's op is one). */
  private readonly names: string[] = [];

  /** Is an event of this kind number a request boundary (the only ones `note` needs to see)? */
  static concerns(kind: number): boolean {
    return kind === K.request_begin || kind === K.request_end;
  }

  clear(): void {
    this.open.clear();
    this.ended = [];
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
      this.open.set(`${tid}:${e.req}`, { firstSeq: seq, tid, req: e.req, op: e.op, addr: e.addr, len: e.len, result: null, hash: null });
      store(seq, -1);
    } else if (e.kind === 'request_end') {
      const key = `${tid}:${e.req}`;
      const begun = this.open.get(key);
      if (begun === undefined) return;
      this.open.delete(key);
      this.ended.push({ ...begun, result: e.result, hash: e.hash >>> 0 });
      store(begun.firstSeq, seq);
    }
  }

  /** The piece of the request log for a snapshot now: ended since the last piece, and open now. */
  takeSegment(): RequestSegment {
    const segment = { ended: this.ended, open: [...this.open.values()] };
    this.ended = [];
    return segment;
  }
}
