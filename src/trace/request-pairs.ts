/**
 * Pairs each request_begin with the request_end of the same task and request number, for the
 * `requests` table: a begun request is stored open (last seq -1, no result) and replaced once it
 * ends. Each row carries what both events say, so the table alone is the run's request log.
 */
import { decode, K } from './vocab/index.js';

/** One row of the `requests` table. */
export interface RequestRow {
  firstSeq: number;
  /** -1 while the request is open. */
  lastSeq: number;
  tid: number;
  req: number;
  op: string;
  addr: number;
  len: number;
  /** Bytes returned or -errno, and the FNV-1a of the bytes; null while the request is open. */
  result: number | null;
  hash: number | null;
}

export class RequestPairs {
  private readonly open = new Map<string, RequestRow>();
  /** The run's interned names so far, by id (a request's op is one). */
  private readonly names: string[] = [];

  /** Is an event of this kind number a request boundary (the only ones `note` needs to see)? */
  static concerns(kind: number): boolean {
    return kind === K.request_begin || kind === K.request_end;
  }

  clear(): void {
    this.open.clear();
    this.names.length = 0;
  }

  /** A name the run interned (the recorder sees each before the events that use it). */
  name(id: number, text: string): void {
    this.names[id] = text;
  }

  /**
   * Note a request boundary; `store(row)` receives the row to write. A request_end without its
   * begin is left out.
   */
  note(
    seq: number, tid: number, kind: number, a: number, b: number, c: number, d: number,
    store: (row: RequestRow) => void,
  ): void {
    const e = decode([seq, 0, tid, kind, a, b, c, d, undefined], this.names);
    if (e.kind === 'request_begin') {
      const row: RequestRow = { firstSeq: seq, lastSeq: -1, tid, req: e.req, op: e.op, addr: e.addr, len: e.len, result: null, hash: null };
      this.open.set(`${tid}:${e.req}`, row);
      store(row);
    } else if (e.kind === 'request_end') {
      const key = `${tid}:${e.req}`;
      const begun = this.open.get(key);
      if (begun === undefined) return;
      this.open.delete(key);
      store({ ...begun, lastSeq: seq, result: e.result, hash: e.hash >>> 0 });
    }
  }
}
