/**
 * The compact event format: a run's events in chunks of at most CHUNK_EVENTS consecutive events, one
 * row each in `chunks`, plus one row per (chunk, kind present) in `chunk_kinds`.
 *
 * Every number is stored frame-of-reference: a base (the minimum over the group) and, per value, its
 * distance from the base in the fewest little-endian bytes that hold the group's largest distance
 * (0 bytes when every value of the group is equal: an unused slot costs nothing). The groups are the
 * chunk for tick and tid, and (chunk, kind, slot) for the fields a..d: the addresses one kind names
 * within a few thousand events cluster, so they take 2..6 bytes instead of 8, and enums, bools and
 * small counts one. The widths come from the values themselves, not from the vocabulary's field
 * types: a bool field that is always true costs 0 bytes, an int that stays below 256 one.
 *
 * A chunk's columns (each of the first four `count` entries of its fixed width):
 *   ticks    tick - tick_base, tick_w bytes each
 *   tids     tid - tid_base, tid_w bytes each
 *   kinds    the kind number, 1 byte each
 *   offs     where the event's record starts in recs, off_w bytes each
 *   recs     per event, its slots a..d at the widths of its kind in this chunk
 * Five columns rather than one body: SQLite copies a blob each time an expression reads it, so the
 * SQL decoder reads the smallest blob that holds what it needs.
 * Seq is implicit: the events of a run are dense, so event i of a chunk is first_seq + i.
 *
 * Fixed widths per section make every event addressable without decoding the ones before it: the
 * SQL views (chunk-sql.ts) decode any single event with substr and a lookup, and a reader asking for
 * one event decodes one record. Blobs (rare) are stored aside in `event_data`, keyed by seq.
 *
 * A value that is not a safe integer (or a group whose spread is not one) is stored in width 8 as a
 * raw IEEE-754 double with base 0: the JS decoder reads it back exactly; the SQL views show NULL.
 */
import type { ChunksTable } from './schema.js';

/** runs.format: how a run's events are stored. */
export const FORMAT_ROWS = 1;
export const FORMAT_CHUNKS = 2;

/**
 * The most events a chunk of any file holds (chunk_ords numbers that many): a seq lives in the
 * chunk whose first_seq is in [seq - MAX_CHUNK_EVENTS + 1, seq]. Fixed by migration 0005.
 */
export const MAX_CHUNK_EVENTS = 4096;

/**
 * The events per chunk the writer cuts. Smaller chunks cost more per event in `chunk_kinds` rows;
 * larger ones cost the SQL decoder more, since SQLite copies a whole blob each time it reads a byte
 * of it (measured on 1.1M events: 1024 made a full SQL decode 1.6x faster and the file 1.3
 * bytes/event larger).
 */
export const CHUNK_EVENTS = 4096;

/** Width that holds a raw double (for values frame-of-reference cannot hold exactly). */
export const RAW_WIDTH = 8;

/** The per-chunk numbers of one kind's slots a..d. */
export interface KindFrame {
  kind: number;
  base: [number, number, number, number];
  width: [number, number, number, number];
}

/** One encoded chunk: the row of `chunks` and the rows of `chunk_kinds` that belong to it. */
export interface EncodedChunk {
  firstSeq: number;
  count: number;
  tickBase: number;
  tickW: number;
  tidBase: number;
  tidW: number;
  offW: number;
  ticks: Buffer;
  tids: Buffer;
  kindBytes: Buffer;
  offs: Buffer;
  recs: Buffer;
  kinds: KindFrame[];
}

/**
 * A decoded run of consecutive events, columnar: event i has seq firstSeq + i. Slot values and
 * ticks are doubles (addresses need 47 bits); a blob, when the event has one, is in `data`.
 */
export interface EventBlock {
  firstSeq: number;
  count: number;
  tick: Float64Array;
  tid: Float64Array;
  kind: Uint8Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  d: Float64Array;
  /** blobs by index within the block */
  data: Map<number, Uint8Array>;
}

const TWO32 = 2 ** 32;

/** Bytes that hold every distance up to `spread` (0 for none). */
export function widthOf(spread: number): number {
  if (spread === 0) return 0;
  if (!Number.isSafeInteger(spread)) return RAW_WIDTH;
  if (spread < 0x100) return 1;
  if (spread < 0x10000) return 2;
  if (spread < 0x1000000) return 3;
  if (spread < TWO32) return 4;
  if (spread < 2 ** 40) return 5;
  if (spread < 2 ** 48) return 6;
  return 7;
}

/** The frame of a group of values: base and width, a raw double width when they are not all safe integers. */
function frame(min: number, max: number, integral: boolean): [number, number] {
  if (!integral || !Number.isSafeInteger(min) || !Number.isSafeInteger(max)) return [0, RAW_WIDTH];
  const w = widthOf(max - min);
  return w === RAW_WIDTH ? [0, RAW_WIDTH] : [min, w];
}

/**
 * Store `value` (0 <= value, below 2^(8 * width) unless raw) in `width` bytes at `at`. The widths up
 * to four, nearly every store (ticks, tids, offsets, most fields), are one 32-bit word's bytes
 * without a loop; a typed array keeps the low byte of what it is given.
 */
function put(out: Buffer, at: number, value: number, width: number): void {
  if (width > 4) {
    putWide(out, at, value, width);
    return;
  }
  if (width === 0) return;
  const word = value >>> 0;
  out[at] = word;
  if (width === 1) return;
  out[at + 1] = word >>> 8;
  if (width === 2) return;
  out[at + 2] = word >>> 16;
  if (width === 3) return;
  out[at + 3] = word >>> 24;
}

/** `put` of five to seven bytes (addresses), or a raw double. */
function putWide(out: Buffer, at: number, value: number, width: number): void {
  if (width === RAW_WIDTH) {
    out.writeDoubleLE(value, at);
    return;
  }
  let lo = value >>> 0;
  let hi = (value - lo) / TWO32;
  for (let j = 0; j < width; j++) {
    if (j < 4) {
      out[at + j] = lo & 0xff;
      lo >>>= 8;
    } else {
      out[at + j] = hi & 0xff;
      hi = Math.floor(hi / 256);
    }
  }
}

/**
 * An unsigned little-endian integer of `width` bytes (below RAW_WIDTH), for the decode loops: small
 * enough to be inlined there, so a value past the small-integer range (an address: 6 bytes) stays
 * a raw double on its way into a column, where a call to get() returns it boxed in a new heap
 * number, one per value decoded. Exact: a stored value is below 2^53, and so is every prefix.
 */
function unsignedLE(body: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let j = width - 1; j >= 0; j--) v = v * 256 + body[at + j]!;
  return v;
}

/** A stored value of `width` bytes: a raw double, or an unsigned little-endian integer. */
function get(body: Uint8Array, at: number, width: number): number {
  if (width === RAW_WIDTH) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).readDoubleLE(at);
  return unsignedLE(body, at, width);
}

/** Scratch for one chunk's per-(kind, slot) extremes: 256 kinds x 4 slots. */
const MIN = new Float64Array(256 * 4);
const MAX = new Float64Array(256 * 4);
const INTEGRAL = new Uint8Array(256 * 4);
const SEEN = new Uint8Array(256);
/**
 * Each kind's stored slots in this chunk, the ones of non-zero width, in slot order: how many
 * (STORED), and for the j-th of them which of the four slots it is (STORED_SLOT), its base and its
 * width, at `(kind << 2) + j`. The second pass loops over these rather than over all four slots
 * and their widths.
 */
const STORED = new Uint8Array(256);
const STORED_BASE = new Float64Array(256 * 4);
const STORED_WIDTH = new Uint8Array(256 * 4);
const STORED_SLOT = new Uint8Array(256 * 4);
const RECORD = new Uint8Array(256);
/** Events of each kind in the chunk: with RECORD, how long `recs` is and where its last record starts. */
const EVENTS = new Uint32Array(256);

/**
 * The kind of the event at offset `o` of rows, as a small integer (every index built from it then
 * stays an integer: a kind read as a double made each table lookup convert it). Throws for a kind
 * outside 0..255, which is never recorded.
 */
function kindAt(rows: Float64Array, o: number): number {
  const value = rows[o + 3]!;
  const kind = value & 0xff;
  if (kind !== value) throw new Error(`kind ${value} does not fit a byte`);
  return kind;
}

/** A kind's slot `at` (its index in MIN/MAX/INTEGRAL) takes value `v` of one more event. */
function widen(at: number, v: number): void {
  if (v < MIN[at]!) MIN[at] = v;
  if (v > MAX[at]!) MAX[at] = v;
  if (!Number.isInteger(v)) INTEGRAL[at] = 0;
}

/** The first event of a kind in the chunk: its slots' extremes start empty. */
function firstOfKind(k4: number): void {
  for (let s = 0; s < 4; s++) {
    MIN[k4 + s] = Infinity;
    MAX[k4 + s] = -Infinity;
    INTEGRAL[k4 + s] = 1;
  }
}

/**
 * Encode `count` consecutive events from `rows` (row-major, `stride` doubles per event, the first
 * eight being seq, tick, tid, kind, a, b, c, d), starting at row `start`. Throws on a seq gap or a
 * kind outside 0..255: neither is ever recorded.
 *
 * This runs in the writer worker for every event recorded (about a third of the worker's time), so
 * its loops are written out: the four slots of the first pass one by one, and the second pass only
 * over the slots a kind stores in this chunk (most kinds store two or three of the four). On 64k
 * events of `scale`, alternating with the loops over all four slots in one process: 57-59 ns an
 * event against 61-65.
 */
export function encodeChunk(rows: Float64Array, stride: number, start: number, count: number): EncodedChunk {
  if (count < 1 || count > MAX_CHUNK_EVENTS) throw new Error(`chunk of ${count} events`);
  const o0 = start * stride;
  const firstSeq = rows[o0]!;
  SEEN.fill(0);
  let tickMin = Infinity, tickMax = -Infinity, tidMin = Infinity, tidMax = -Infinity, ticksIntegral = true, tidsIntegral = true;
  for (let i = 0, o = o0; i < count; i++, o += stride) {
    if (rows[o] !== firstSeq + i) throw new Error(`events not dense: seq ${rows[o]} after ${firstSeq + i - 1}`);
    const tick = rows[o + 1]!, tid = rows[o + 2]!;
    if (tick < tickMin) tickMin = tick;
    if (tick > tickMax) tickMax = tick;
    if (!Number.isInteger(tick)) ticksIntegral = false;
    if (tid < tidMin) tidMin = tid;
    if (tid > tidMax) tidMax = tid;
    if (!Number.isInteger(tid)) tidsIntegral = false;
    const kind = kindAt(rows, o);
    const k4 = kind << 2;
    if (SEEN[kind] === 0) {
      SEEN[kind] = 1;
      EVENTS[kind] = 0;
      firstOfKind(k4);
    }
    EVENTS[kind]++;
    widen(k4, rows[o + 4]!);
    widen(k4 + 1, rows[o + 5]!);
    widen(k4 + 2, rows[o + 6]!);
    widen(k4 + 3, rows[o + 7]!);
  }
  const [tickBase, tickW] = frame(tickMin, tickMax, ticksIntegral);
  const [tidBase, tidW] = frame(tidMin, tidMax, tidsIntegral);
  const kinds: KindFrame[] = [];
  let records = 0;
  for (let kind = 0; kind < 256; kind++) {
    if (SEEN[kind] === 0) continue;
    kinds.push(kindFrame(kind));
    records += RECORD[kind]! * EVENTS[kind]!;
  }
  // the largest offset is the last event's: every record but its own lies before it
  const offW = widthOf(records - RECORD[kindAt(rows, o0 + (count - 1) * stride)]!);
  const ticks = Buffer.alloc(count * tickW), tids = Buffer.alloc(count * tidW), kindBytes = Buffer.alloc(count);
  const offs = Buffer.alloc(count * offW), recs = Buffer.alloc(records);
  let pos = 0;
  for (let i = 0, o = o0; i < count; i++, o += stride) {
    const kind = rows[o + 3]! & 0xff; // checked by kindAt in the first pass
    put(ticks, i * tickW, rows[o + 1]! - tickBase, tickW);
    put(tids, i * tidW, rows[o + 2]! - tidBase, tidW);
    kindBytes[i] = kind;
    put(offs, i * offW, pos, offW);
    const k4 = kind << 2;
    const stored = STORED[kind]!;
    for (let j = 0; j < stored; j++) {
      const w = STORED_WIDTH[k4 + j]!;
      put(recs, pos, rows[o + 4 + STORED_SLOT[k4 + j]!]! - STORED_BASE[k4 + j]!, w);
      pos += w;
    }
  }
  return { firstSeq, count, tickBase, tickW, tidBase, tidW, offW, ticks, tids, kindBytes, offs, recs, kinds };
}

/**
 * The frame of a kind seen in the chunk, from its slots' extremes; fills its STORED entries and its
 * RECORD (bytes an event of it takes in `recs`).
 */
function kindFrame(kind: number): KindFrame {
  const f: KindFrame = { kind, base: [0, 0, 0, 0], width: [0, 0, 0, 0] };
  const k4 = kind << 2;
  let record = 0;
  let stored = 0;
  for (let s = 0; s < 4; s++) {
    const [base, width] = frame(MIN[k4 + s]!, MAX[k4 + s]!, INTEGRAL[k4 + s] === 1);
    f.base[s] = base;
    f.width[s] = width;
    record += width;
    if (width === 0) continue; // a slot equal in every event of its kind here
    STORED_SLOT[k4 + stored] = s;
    STORED_BASE[k4 + stored] = base;
    STORED_WIDTH[k4 + stored] = width;
    stored++;
  }
  STORED[kind] = stored;
  RECORD[kind] = record;
  return f;
}

/**
 * A stored chunk as `decodeChunk` needs it: the columns of a `chunks` row but its run, with any
 * byte array for the encoded columns (better-sqlite3 gives Buffers).
 */
export type StoredChunk = Omit<ChunksTable, 'run' | EncodedColumn> & Record<EncodedColumn, Uint8Array>;
type EncodedColumn = 'ticks' | 'tids' | 'kinds' | 'offs' | 'recs';

/**
 * A `chunk_kinds` row as `decodeChunk` needs it: its columns after run and first_seq, in table
 * order (kind, a_base, a_w, b_base, b_w, c_base, c_w, d_base, d_w), and after them whatever else
 * the query selected (the reader adds first_seq, to group a fetch's frames by chunk). A tuple
 * rather than an object: the reader fetches a dozen per chunk, and SQLite hands over raw rows at
 * half the cost of objects (measured: 11 vs 25 ms for the frames of a 1M-event run).
 */
export type StoredKindFrame = readonly [
  kind: number, aBase: number, aW: number, bBase: number, bW: number, cBase: number, cW: number, dBase: number, dW: number,
  ...more: number[],
];

/** The `chunk_kinds` row of a kind frame (without run and first_seq). */
export function storedFrame(f: KindFrame): StoredKindFrame {
  return [f.kind, f.base[0], f.width[0], f.base[1], f.width[1], f.base[2], f.width[2], f.base[3], f.width[3]];
}

/** A block for up to `capacity` events: one buffer under all its arrays. */
export function makeBlock(capacity: number): EventBlock {
  const buf = new ArrayBuffer(capacity * 8 * 6 + capacity);
  const f64 = (k: number) => new Float64Array(buf, k * capacity * 8, capacity);
  return {
    firstSeq: 0, count: 0,
    tick: f64(0), tid: f64(1), a: f64(2), b: f64(3), c: f64(4), d: f64(5),
    kind: new Uint8Array(buf, capacity * 8 * 6, capacity),
    data: new Map(),
  };
}

/** The value in slot `slot` (0..3: a..d) of event i of a block: where a kind's field `slot` is stored. */
export function slotAt(b: EventBlock, i: number, slot: number): number {
  switch (slot) {
    case 0: return b.a[i]!;
    case 1: return b.b[i]!;
    case 2: return b.c[i]!;
    default: return b.d[i]!;
  }
}

/** The event at index i of a block, as a row [seq, tick, tid, kind, a, b, c, d, data]. */
export function rowOfBlock(b: EventBlock, i: number): [number, number, number, number, number, number, number, number, Uint8Array | null] {
  return [b.firstSeq + i, b.tick[i]!, b.tid[i]!, b.kind[i]!, b.a[i]!, b.b[i]!, b.c[i]!, b.d[i]!, b.data.get(i) ?? null];
}

function sameBytes(x: Uint8Array | null | undefined, y: Uint8Array | null | undefined): boolean {
  if (!x || x.length === 0) return !y || y.length === 0;
  if (!y || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Whether event i of a block is, column for column, the raw event given (verify's comparison of a
 * re-executed event with the logged one; no row is built per event).
 */
export function blockHoldsRaw(
  blk: EventBlock, i: number, seq: number, tick: number, tid: number, kind: number,
  a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
): boolean {
  return blk.firstSeq + i === seq && blk.tick[i] === tick && blk.tid[i] === tid && blk.kind[i] === kind
    && blk.a[i] === a && blk.b[i] === b && blk.c[i] === c && blk.d[i] === d && sameBytes(blk.data.get(i), data);
}

const FRAME_BASE = new Float64Array(256 * 4);
const FRAME_WIDTH = new Uint8Array(256 * 4);

/** Decode n fixed-width numbers from `src` (from index `from`) into out[at..], each plus `base`. */
function decodeColumn(src: Uint8Array, width: number, base: number, from: number, n: number, out: Float64Array, at: number): void {
  let p = from * width;
  switch (width) {
    case 0: out.fill(base, at, at + n); return;
    case 1: for (let j = 0; j < n; j++) out[at + j] = base + src[p + j]!; return;
    case 2: for (let j = 0; j < n; j++, p += 2) out[at + j] = base + (src[p]! | (src[p + 1]! << 8)); return;
    case RAW_WIDTH: for (let j = 0; j < n; j++, p += width) out[at + j] = base + get(src, p, width); return;
    default: for (let j = 0; j < n; j++, p += width) out[at + j] = base + unsignedLE(src, p, width);
  }
}

/** The tids of a stored chunk (its tids column alone), into out[0, count). */
export function decodeChunkTids(c: Pick<StoredChunk, 'count' | 'tid_base' | 'tid_w' | 'tids'>, out: Float64Array): void {
  decodeColumn(c.tids, c.tid_w, c.tid_base, 0, c.count, out, 0);
}

/** A slot's distance from its base: every width inline (see unsignedLE) but a raw double's. */
function slotValue(recs: Uint8Array, p: number, w: number): number {
  if (w === 0) return 0;
  if (w === 1) return recs[p]!;
  if (w === 2) return recs[p]! | (recs[p + 1]! << 8);
  return w === RAW_WIDTH ? get(recs, p, w) : unsignedLE(recs, p, w);
}

/**
 * Decode events [from, to] (indexes within the chunk, inclusive) of a stored chunk into `out`,
 * starting at out index `at`. Returns the number decoded. Blobs are not touched (see event_data).
 */
export function decodeChunk(c: StoredChunk, frames: readonly StoredKindFrame[], from: number, to: number,
  out: EventBlock, at: number): number {
  for (const f of frames) {
    const k4 = f[0] * 4;
    for (let s = 0; s < 4; s++) {
      FRAME_BASE[k4 + s] = f[1 + 2 * s]!;
      FRAME_WIDTH[k4 + s] = f[2 + 2 * s]!;
    }
  }
  const n = to - from + 1;
  decodeColumn(c.ticks, c.tick_w, c.tick_base, from, n, out.tick, at);
  decodeColumn(c.tids, c.tid_w, c.tid_base, from, n, out.tid, at);
  out.kind.set(c.kinds.subarray(from, to + 1), at);
  const { offs, recs, off_w: offW } = c;
  const { kind, a, b, c: cc, d } = out;
  for (let i = from, j = at; i <= to; i++, j++) {
    const k4 = kind[j]! * 4;
    let p = offW === 2 ? offs[i * 2]! | (offs[i * 2 + 1]! << 8) : get(offs, i * offW, offW);
    let w = FRAME_WIDTH[k4]!;
    a[j] = FRAME_BASE[k4]! + slotValue(recs, p, w);
    p += w;
    w = FRAME_WIDTH[k4 + 1]!;
    b[j] = FRAME_BASE[k4 + 1]! + slotValue(recs, p, w);
    p += w;
    w = FRAME_WIDTH[k4 + 2]!;
    cc[j] = FRAME_BASE[k4 + 2]! + slotValue(recs, p, w);
    p += w;
    w = FRAME_WIDTH[k4 + 3]!;
    d[j] = FRAME_BASE[k4 + 3]! + slotValue(recs, p, w);
  }
  return n;
}
