/**
 * What the simulator hands its events to. The recorder (SQLite), the verifier of a re-execution and
 * the in-memory collector of the tests all implement it; the simulator knows nothing of storage.
 */
export interface EventSink {
  /** One stamped event; `data` is the encoded blob of the kind, if it has one. */
  event(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void;
  /** A name was interned: ids are dense from 1 within a run, in first-use order. */
  name(id: number, text: string): void;
  /** A task was created (before its first event). */
  task(tid: number, name: string, daemon: boolean): void;
  /**
   * A snapshot of the emulated state right after event `seq` (an encoded replay model). Stored
   * with the batch that holds event `seq`, or, when `seq` ended a batch already sent, with the
   * next batch of the same run: never committed before its event.
   */
  snapshot?(seq: number, data: Uint8Array): void;
}

/** A sink that keeps nothing: for measuring the simulation alone. */
export const NULL_SINK: EventSink = {
  event() {},
  name() {},
  task() {},
};
