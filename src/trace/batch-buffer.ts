/**
 * The batch being filled: the recording hot path. `append()` writes an event into the slot's
 * preallocated Float64Array (row-major) and copies a blob (rare) into the byte arena. Nothing is
 * allocated per event, and nothing is computed: the writer encodes the events and folds them into
 * the run's hash chain (writer-core.ts), on its own thread. (The scheduler's decisions are
 * the events' tids: the writer stores them once, in the chunks.) `take()` hands the filled batch over as a
 * BatchMeta and starts the next one in another slot.
 */
import { STRIDE, type BatchMeta } from './writer-core.js';

/** The buffers of one batch: shared with the writer worker, or plain in process. */
export interface Slot {
  rows: Float64Array;
  blob: Uint8Array;
}

export function makeSlot(batch: number, blobBytes: number, shared: boolean): Slot {
  const B = shared ? SharedArrayBuffer : ArrayBuffer;
  return {
    rows: new Float64Array(new B(batch * STRIDE * 8)),
    blob: new Uint8Array(new B(blobBytes)),
  };
}

export class BatchBuffer {
  private rows: Float64Array;
  private blob: Uint8Array;
  /** events in the batch */
  private n = 0;
  private blobN = 0;
  private lastSeq = 0;
  private names: [number, string][] = [];
  private tasks: [number, string, number][] = [];
  private requests: number[] = [];
  private big: [number, Uint8Array][] = [];
  private snapshots: [number, Uint8Array][] = [];
  private requestSegments: [number, Uint8Array][] = [];

  constructor(slot: Slot, private readonly capacity: number) {
    this.rows = slot.rows;
    this.blob = slot.blob;
  }

  get full(): boolean {
    return this.n === this.capacity;
  }

  /** Events, names, tasks, request pairs or snapshots wait to be handed over. */
  get pending(): boolean {
    return this.n > 0 || this.names.length > 0 || this.tasks.length > 0 || this.requests.length > 0
      || this.snapshots.length > 0 || this.requestSegments.length > 0;
  }

  /** False when `data` would overflow the arena of a batch that already holds events: cut it first. */
  fits(data: Uint8Array): boolean {
    return this.n === 0 || this.blobN + data.length <= this.blob.length || data.length > this.blob.length;
  }

  /** A new run starts. */
  startRun(): void {
    this.lastSeq = 0;
  }

  append(
    seq: number, tick: number, tid: number, kind: number,
    a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    const n = this.n;
    const rows = this.rows;
    const o = n * STRIDE;
    rows[o] = seq;
    rows[o + 1] = tick;
    rows[o + 2] = tid;
    rows[o + 3] = kind;
    rows[o + 4] = a;
    rows[o + 5] = b;
    rows[o + 6] = c;
    rows[o + 7] = d;
    if (data === undefined) rows[o + 8] = -1;
    else this.putBlob(o, n, data);
    this.lastSeq = seq;
    this.n = n + 1;
  }

  name(id: number, text: string): void {
    this.names.push([id, text]);
  }

  task(tid: number, name: string, daemon: boolean): void {
    this.tasks.push([tid, name, daemon ? 1 : 0]);
  }

  /** A request row to insert or replace: its first seq, and its last (-1 while it is open). */
  request(firstSeq: number, lastSeq: number): void {
    this.requests.push(firstSeq, lastSeq);
  }

  snapshot(seq: number, data: Uint8Array): void {
    this.snapshots.push([seq, ownBytes(data)]);
  }

  /** The request log's piece of the snapshot at `seq`. */
  requestSegment(seq: number, data: Uint8Array): void {
    this.requestSegments.push([seq, ownBytes(data)]);
  }

  /** Hand the batch over and start the next one in `next`. */
  take(next: Slot): BatchMeta {
    const meta: BatchMeta = {
      count: this.n, names: this.names, tasks: this.tasks, requests: this.requests,
      big: this.big, snapshots: this.snapshots, requestSegments: this.requestSegments, lastSeq: this.lastSeq,
    };
    this.names = [];
    this.tasks = [];
    this.requests = [];
    this.big = [];
    this.snapshots = [];
    this.requestSegments = [];
    this.n = 0;
    this.blobN = 0;
    this.rows = next.rows;
    this.blob = next.blob;
    return meta;
  }

  /** Store a blob in the arena, or aside when it is larger than the whole arena. */
  private putBlob(o: number, row: number, data: Uint8Array): void {
    const len = data.length;
    if (len > this.blob.length) {
      this.rows[o + 8] = Infinity;
      this.rows[o + 9] = len;
      this.big.push([row, data.slice()]);
      return;
    }
    const off = this.blobN;
    this.blob.set(data, off);
    this.rows[o + 8] = off;
    this.rows[o + 9] = len;
    this.blobN = off + len;
  }
}

/**
 * `data` in a buffer of its own size. msgpackr packs into one large buffer and returns views of it,
 * and posting a view to the writer worker clones its whole backing buffer (a 9 KB snapshot's view
 * measured 61 KB of backing). No change in recording time was measurable; it keeps messages small.
 */
function ownBytes(data: Uint8Array): Uint8Array {
  return data.byteLength === data.buffer.byteLength ? data : data.slice();
}
