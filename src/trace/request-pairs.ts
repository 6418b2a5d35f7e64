/**
 * Pairs each request_begin with the request_end of the same task and request number, for the
 * `requests` table: a begun request is stored open (last seq -1) and replaced once it ends.
 */
import { decode, K } from './vocab/index.js';

const NO_NAMES: readonly string[] = [];

export class RequestPairs {
  private readonly open = new Map<string, number>();

  /** Is an event of this kind number a request boundary (the only ones `note` needs to see)? */
  static concerns(kind: number): boolean {
    return kind === K.request_begin || kind === K.request_end;
  }

  clear(): void {
    this.open.clear();
  }

  /**
   * Note a request boundary; `store(firstSeq, lastSeq)` receives the row to write (lastSeq -1 while
   * the request is open). A request_end without its begin is left out.
   */
  note(
    seq: number, tid: number, kind: number, a: number, b: number, c: number, d: number,
    store: (firstSeq: number, lastSeq: number) => void,
  ): void {
    const e = decode([seq, 0, tid, kind, a, b, c, d, undefined], NO_NAMES);
    if (e.kind === 'request_begin') {
      this.open.set(`${tid}:${e.req}`, seq);
      store(seq, -1);
    } else if (e.kind === 'request_end') {
      const key = `${tid}:${e.req}`;
      const firstSeq = this.open.get(key);
      if (firstSeq === undefined) return;
      this.open.delete(key);
      store(firstSeq, seq);
    }
  }
}
