/**
 * The compact chunk format (src/store/chunk.ts): what is recorded reads back exactly, through the
 * JS decoder and through the SQL views, for every built-in workload and for the values the
 * frame-of-reference encoding has edge cases for.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CHUNK_EVENTS, decodeChunk, encodeChunk, makeBlock, RAW_WIDTH, storedFrame, widthOf } from '../src/store/chunk.js';
import { TraceFile } from '../src/store/read.js';
import { openTrace, rowOfBlock, type EventRow } from '../src/trace/reader.js';
import { kindByName } from '../src/trace/vocab/index.js';
import { mergeTraceFiles } from '../src/trace/merge.js';
import { Recorder, type RunHeader } from '../src/trace/recorder.js';
import type { EventSink } from '../src/trace/sink.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { WORKLOADS, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import { allDecisions } from './helpers/rows.js';

const dir = mkdtempSync(join(tmpdir(), 'mmtrace-chunks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const tmpFile = (): string => join(dir, `t${++fileNo}.db`);

/** Every event a sink is handed, as the row the store should give back. */
class CollectSink implements EventSink {
  rows: EventRow[] = [];
  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data?: Uint8Array): void {
    this.rows.push([seq, tick, tid, kind, a, b, c, d, data ? Buffer.from(data) : null]);
  }
  name(): void {}
  task(): void {}
}

/**
 * The rows with each event's data as hex: the same comparison as toEqual on the rows, but vitest's
 * deep equality walks a Buffer byte by byte as an object, which took 8 s for the 2 MiB a
 * khugepaged-collapse run copies.
 */
const comparable = (rows: EventRow[]) => rows.map((r) => [...r.slice(0, 8), r[8] === null ? null : Buffer.from(r[8]).toString('hex')]);

/** Both sinks at once: the recorder and the collector see the same calls. */
function tee(a: EventSink, b: EventSink): EventSink {
  return {
    event: (...args: Parameters<EventSink['event']>) => { a.event(...args); b.event(...args); },
    name: (id, text) => { a.name(id, text); b.name(id, text); },
    task: (...args: Parameters<EventSink['task']>) => { a.task(...args); b.task(...args); },
    ...(a.snapshot ? { snapshot: (...args: Parameters<NonNullable<EventSink['snapshot']>>) => a.snapshot!(...args) } : {}),
  } as EventSink;
}

function header(name: string, workload = 'synthetic'): RunHeader {
  return { name, workload, params: {}, path: 'gup', variant: [], seed: 1, strategy: 'random', config: {}, codeVersion: 'test' };
}

async function readAll(file: string, run: number): Promise<EventRow[]> {
  const trace = await openTrace(file);
  try {
    return [...trace.events(run)];
  } finally {
    trace.close();
  }
}

/** The events as SQL's `events` view decodes them, in seq order. */
function sqlRows(file: string, run: number): EventRow[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT seq, tick, tid, kind, a, b, c, d, data FROM events WHERE run = ? ORDER BY seq').raw().all(run) as EventRow[];
  } finally {
    db.close();
  }
}

/** 300 events of five kinds: negative values, 2^47 addresses, constants, raw doubles, every width. */
function mixedRows(): { rows: Float64Array; n: number } {
  const values = [0, 1, -1, -(2 ** 40), 2 ** 47, 2 ** 47 + 4095, 255, 256, 65535, 2 ** 32, Number.MAX_SAFE_INTEGER, 0.5, 7];
  const n = 300;
  const rows = new Float64Array(n * 8);
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    rows.set([100 + i, 1000 + 7 * i, i % 3, kind,
      kind === 0 ? 42 : values[i % values.length]!,
      kind === 1 ? 2 ** 47 + i : i === 0 ? 0 : -i,
      kind === 2 ? values[(i * 7) % values.length]! : i * 1000,
      kind === 3 ? (i % 2) : 0], i * 8);
  }
  return { rows, n };
}

/** A full chunk as the recorder stages it (ten doubles an event): addresses, bools, counts, 40 kinds. */
function recorderRows(): { rows: Float64Array; n: number } {
  const n = CHUNK_EVENTS;
  const rows = new Float64Array(n * 10);
  for (let i = 0; i < n; i++) {
    rows.set([1 + i, 5 * i + (i % 7), 1 + (i % 9), (i * 31) % 40,
      0x7f00_0000_0000 + (i % 300) * 4096, i % 2, (i * 7919) % 70000, i % 40 === 0 ? 2 ** 33 : 3], i * 10);
  }
  return { rows, n };
}

/** Every byte and number of an encoded chunk, in a short digest. */
function digestOf(c: ReturnType<typeof encodeChunk>): string {
  const h = createHash('sha256');
  for (const column of [c.ticks, c.tids, c.kindBytes, c.offs, c.recs]) h.update(column);
  h.update(JSON.stringify([c.firstSeq, c.count, c.tickBase, c.tickW, c.tidBase, c.tidW, c.offW, c.kinds]));
  return h.digest('hex').slice(0, 16);
}

describe('encodeChunk / decodeChunk', () => {
  it('round-trips negative values, 2^47 addresses, constants, raw doubles and every width', () => {
    const { rows, n } = mixedRows();
    const c = encodeChunk(rows, 8, 0, n);
    expect(c.kinds.find((k) => k.kind === 0)!.width[0]).toBe(0); // a constant costs nothing
    expect(c.kinds.find((k) => k.kind === 3)!.width[3]).toBe(1); // a bool one byte
    const stored = { first_seq: c.firstSeq, count: c.count, blobs: 0, tick_base: c.tickBase, tick_w: c.tickW, tid_base: c.tidBase,
      tid_w: c.tidW, off_w: c.offW, ticks: c.ticks, tids: c.tids, kinds: c.kindBytes, offs: c.offs, recs: c.recs };
    const out = makeBlock(n);
    decodeChunk(stored, c.kinds.map(storedFrame), 0, n - 1, out, 0);
    out.firstSeq = 100;
    out.count = n;
    for (let i = 0; i < n; i++) expect(rowOfBlock(out, i).slice(0, 8)).toEqual([...rows.subarray(i * 8, i * 8 + 8)]);
    // a part of the chunk decodes alone
    const part = makeBlock(10);
    decodeChunk(stored, c.kinds.map(storedFrame), 200, 209, part, 0);
    expect([...part.b]).toEqual([...out.b.subarray(200, 210)]);
  });

  it('writes the bytes every file so far was written with', () => {
    // Decoding cannot tell one valid encoding from another: these digests pin the format's bytes
    // (a faster encoder must leave them alone; a new format changes them and the file version).
    const mixed = mixedRows();
    const full = recorderRows();
    expect([digestOf(encodeChunk(mixed.rows, 8, 0, mixed.n)), digestOf(encodeChunk(full.rows, 10, 0, full.n))])
      .toEqual(['af7f87a8bd2a40f8', 'ae798fcffff5ef07']);
  });

  it('keeps a fractional tid exactly, as a raw double', () => {
    const rows = new Float64Array([1, 0, 1, 0, 0, 0, 0, 0, 2, 0, 1.5, 0, 0, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 0]);
    const c = encodeChunk(rows, 8, 0, 3);
    expect(c.tidW).toBe(RAW_WIDTH);
    const out = makeBlock(3);
    decodeChunk({ first_seq: 1, count: 3, blobs: 0, tick_base: c.tickBase, tick_w: c.tickW, tid_base: c.tidBase,
      tid_w: c.tidW, off_w: c.offW, ticks: c.ticks, tids: c.tids, kinds: c.kindBytes, offs: c.offs, recs: c.recs }, c.kinds.map(storedFrame), 0, 2, out, 0);
    expect([...out.tid]).toEqual([1, 1.5, 2]);
  });

  it("sizes the offsets by the last event's offset, which the records of every event before it make", () => {
    // kind 0's record is one byte (slot a varies), kind 1's none (all its slots constant)
    const chunkOf = (kinds: number[]) => {
      const rows = new Float64Array(kinds.length * 8);
      kinds.forEach((kind, i) => rows.set([1 + i, i, 1, kind, kind === 0 ? i % 2 : 5, 0, 0, 0], i * 8));
      return encodeChunk(rows, 8, 0, kinds.length);
    };
    const zeros = (n: number) => Array<number>(n).fill(0);
    // 256 one-byte records: the last starts at 255, one byte, though the records take 256
    expect([chunkOf(zeros(256)).offW, chunkOf(zeros(256)).recs.length]).toEqual([1, 256]);
    // an empty record after them starts at 256: two bytes
    expect(chunkOf([...zeros(256), 1]).offW).toBe(2);
    // and one before them moves nothing
    expect(chunkOf([1, ...zeros(256)]).offW).toBe(1);
    const c = chunkOf([1, ...zeros(256), 1]);
    const out = makeBlock(c.count);
    decodeChunk({ first_seq: 1, count: c.count, blobs: 0, tick_base: c.tickBase, tick_w: c.tickW, tid_base: c.tidBase,
      tid_w: c.tidW, off_w: c.offW, ticks: c.ticks, tids: c.tids, kinds: c.kindBytes, offs: c.offs, recs: c.recs }, c.kinds.map(storedFrame), 0, c.count - 1, out, 0);
    expect([...out.a]).toEqual([5, ...zeros(256).map((_, i) => (i + 1) % 2), 5]);
  });

  it('takes the fewest bytes for a spread, and a raw double beyond 2^53', () => {
    expect([0, 1, 255, 256, 65535, 65536, 2 ** 32, 2 ** 47, 2 ** 53 - 1].map(widthOf)).toEqual([0, 1, 1, 2, 2, 3, 5, 6, 7]);
    expect(widthOf(2 ** 54)).toBe(RAW_WIDTH);
  });

  it('refuses a seq gap and a kind that is not a byte (neither is ever recorded)', () => {
    expect(encodeChunk(new Float64Array([1, 0, 0, 255, 0, 0, 0, 0]), 8, 0, 1).kindBytes[0]).toBe(255);
    expect(encodeChunk(new Float64Array([1, 0, 0, -0, 0, 0, 0, 0]), 8, 0, 1).kindBytes[0]).toBe(0);
    expect(() => encodeChunk(new Float64Array([1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]), 8, 0, 2)).toThrow(/not dense/);
    expect(() => encodeChunk(new Float64Array([1, 0, 0, 256, 0, 0, 0, 0]), 8, 0, 1)).toThrow(/byte/);
    expect(() => encodeChunk(new Float64Array([1, 0, 0, -1, 0, 0, 0, 0]), 8, 0, 1)).toThrow(/byte/);
    expect(() => encodeChunk(new Float64Array([1, 0, 0, 2.5, 0, 0, 0, 0]), 8, 0, 1)).toThrow(/byte/);
    expect(() => encodeChunk(new Float64Array([1, 0, 0, NaN, 0, 0, 0, 0]), 8, 0, 1)).toThrow(/byte/);
    expect(() => encodeChunk(new Float64Array(8), 8, 0, CHUNK_EVENTS + 1)).toThrow(/chunk/);
  });
});

describe('a recorded run reads back exactly', () => {
  // Small parameters so every workload runs in a test; each still crosses several chunks.
  const SMALL: Record<string, Record<string, string>> = {
    'stuck-writer': { pages: '64' },
    scale: { iterations: '20', reads: '40' },
  };

  for (const w of WORKLOADS) {
    it(`${w.name}: the JS decoder gives the sink's events, and so does SQL`, async () => {
      const file = tmpFile();
      const rec = await Recorder.open(file, { writer: 'sync' });
      const run = rec.beginRun(header(w.name, w.name));
      const collect = new CollectSink();
      runWorkload({
        workload: w, params: resolveParams(w, SMALL[w.name] ?? {}), path: 'gup', variant: [], seed: 3,
        strategy: new RandomStrategy(3), sink: tee(rec, collect),
      });
      rec.finish();
      rec.close();
      expect(collect.rows.length).toBeGreaterThan(0);
      const sunk = comparable(collect.rows);
      expect(comparable(await readAll(file, run))).toEqual(sunk);
      expect(comparable(sqlRows(file, run))).toEqual(sunk);
    }, 120_000);
  }

  it('blobs larger than the arena, blobs of every size, an empty run, with the worker writer', async () => {
    const file = tmpFile();
    const rec = await Recorder.open(file, { writer: 'worker', blobBytes: 1024, batch: 1000 });
    const empty = rec.beginRun(header('empty'));
    rec.finish();
    const run = rec.beginRun(header('blobs'));
    const rows: EventRow[] = [];
    for (let seq = 1; seq <= 3 * CHUNK_EVENTS + 17; seq++) {
      const data = seq % 97 === 0 ? Buffer.alloc(seq % 3 === 0 ? 5000 : seq % 50, seq & 255) : undefined;
      const row: EventRow = [seq, seq * 3, seq % 4, 2, -seq, 2 ** 47 - seq, seq % 2, 0, data ?? null];
      rec.event(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], data);
      rows.push(row);
    }
    rec.finish();
    rec.close();
    expect(await readAll(file, empty)).toEqual([]);
    expect(comparable(await readAll(file, run))).toEqual(comparable(rows));
    expect(comparable(sqlRows(file, run))).toEqual(comparable(rows));
  });
});

describe('the SQL views decode what the JS decoder does', () => {
  it('events_v of a mixed run: every event, every field, both paths', async () => {
    const file = tmpFile();
    const rec = await Recorder.open(file, { writer: 'sync' });
    const w = WORKLOADS.find((x) => x.name === 'mixed')!;
    const runs: number[] = [];
    for (const path of ['gup', 'fast'] as const) {
      runs.push(rec.beginRun({ ...header(path, 'mixed'), path }));
      runWorkload({ workload: w, params: resolveParams(w, {}), path, variant: [], seed: 5, strategy: new RandomStrategy(5), sink: rec });
      rec.finish();
    }
    rec.close();
    const trace = await openTrace(file);
    const db = new Database(file, { readonly: true });
    try {
      for (const run of runs) {
        const name = trace.run(run).name;
        const js = [...trace.events(run)];
        const sql = db.prepare('SELECT seq, tick, tid, kind FROM events_v WHERE run = ? ORDER BY seq').raw().all(name) as unknown[][];
        const kinds = new Map(trace.kinds().map((k) => [k.kind, k.name]));
        expect(sql).toEqual(js.map((r) => [r[0], r[1], r[2], kinds.get(r[3])]));
        expect(sqlRows(file, run)).toEqual(js);
        expect(allDecisions(trace.decisions(run)), 'the scheduler decisions replay follows').toEqual(js.map((e) => e[2]).filter((tid) => tid !== 0));
      }
    } finally {
      db.close();
      trace.close();
    }
  }, 120_000);
});

/** Record a cross-vma-race run named `name` into `file` (created, or appended to); its run id. */
async function recordRace(file: string, name: string): Promise<number> {
  const rec = await Recorder.open(file, { writer: 'sync' });
  const w = WORKLOADS.find((x) => x.name === 'cross-vma-race')!;
  const added = rec.beginRun({ ...header(name, w.name) });
  runWorkload({ workload: w, params: resolveParams(w, {}), path: 'gup', variant: [], seed: 2, strategy: new RandomStrategy(2), sink: rec });
  rec.finish();
  rec.close();
  return added;
}

/** The SQL of a view as the file stores it. */
function viewSql(file: string, name: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?").get(name) as { sql: string }).sql;
  } finally {
    db.close();
  }
}

/** The views over events: one SELECT each for a file of chunks alone, a UNION ALL with the rows. */
const EVENT_VIEWS = ['events', 'events_v', 'requests_v', 'fallbacks_v', 'waits_v', 'lock_waits_v', 'vma_spans_v', 'copies_v'];

describe('a file holding runs of both formats', () => {
  it('reads the row-format runs of 0.1.0 and a new chunk run beside them, in JS and in every view', async () => {
    const file = tmpFile();
    copyFileSync(join(import.meta.dirname, 'fixtures/v0.1.0-cross-vma-race.db'), file);
    const added = await recordRace(file, 'new');
    for (const view of EVENT_VIEWS) expect(viewSql(file, view), view).toMatch(/\bevent_rows\b[\s\S]*UNION ALL/);
    const db = new Database(file, { readonly: true });
    const trace = await openTrace(file);
    try {
      const formats = db.prepare('SELECT id, format FROM runs ORDER BY id').raw().all() as [number, number][];
      expect(formats.filter(([, f]) => f === 1).length).toBeGreaterThan(0);
      expect(formats.find(([id]) => id === added)![1]).toBe(2);
      for (const [run] of formats) {
        const js = [...trace.events(run)];
        expect(js.length).toBe(trace.run(run).events);
        expect(sqlRows(file, run)).toEqual(js);
        expect(allDecisions(trace.decisions(run)), 'the scheduler decisions replay follows').toEqual(js.map((e) => e[2]).filter((tid) => tid !== 0));
        const name = trace.run(run).name;
        const requests = (db.prepare('SELECT count(*) AS n FROM requests WHERE run = ?').get(run) as { n: number }).n;
        expect(requests).toBeGreaterThan(0);
        expect((db.prepare('SELECT count(*) AS n FROM requests_v WHERE run = ? AND op IS NOT NULL').get(name) as { n: number }).n).toBe(requests);
        expect((db.prepare('SELECT count(*) AS n FROM events_v WHERE run = ?').get(name) as { n: number }).n).toBe(js.length);
      }
    } finally {
      trace.close();
      db.close();
    }
  }, 120_000);
});

describe('finding events in a chunk run', () => {
  it('reads only the chunks that hold the kinds looked for, and none past the seq ranges, with the answers a full read gives', async () => {
    const file = tmpFile();
    const rec = await Recorder.open(file, { writer: 'sync' });
    const run = rec.beginRun(header('stuck-writer', 'stuck-writer'));
    const collect = new CollectSink();
    const w = WORKLOADS.find((x) => x.name === 'stuck-writer')!;
    runWorkload({ workload: w, params: resolveParams(w, {}), path: 'gup', variant: [], seed: 1, strategy: new RandomStrategy(1), sink: tee(rec, collect) });
    rec.finish();
    rec.close();
    const rows = collect.rows;
    const chunks = Math.ceil(rows.length / CHUNK_EVENTS);
    expect(chunks).toBeGreaterThan(3);
    const t = await openTrace(file);
    try {
      const kindOf = (name: string) => kindByName(name)!.kind;
      const decoded = vi.spyOn(TraceFile.prototype as unknown as { decodeRange: () => unknown }, 'decodeRange');
      const chunkOf = (seq: number) => Math.floor((seq - 1) / CHUNK_EVENTS);
      // request_end: a few events, in the last chunks only
      const ends = rows.filter((r) => r[3] === kindOf('request_end')).map((r) => r[0]);
      decoded.mockClear();
      const found = t.matchingEvents(run, { kinds: ['request_end'] }, 1, 100, 'forward').map((r) => r[0]);
      expect(found).toEqual(ends);
      expect(decoded.mock.results.filter((r) => r.value !== undefined).length).toBe(new Set(ends.map(chunkOf)).size);
      decoded.mockClear();
      expect(t.matchingEvents(run, { kinds: ['request_end'] }, rows.length, 100, 'backward').map((r) => r[0])).toEqual([...ends].reverse());
      expect(decoded.mock.results.filter((r) => r.value !== undefined).length).toBe(new Set(ends.map(chunkOf)).size);
      // a seq range in the first chunk: the scan ends with it, though the limit is not reached
      decoded.mockClear();
      const inRange = t.matchingEvents(run, { seqRanges: [[10, 20]], tids: [1] }, 1, 100, 'forward').map((r) => r[0]);
      expect(inRange).toEqual(rows.filter((r) => r[0] >= 10 && r[0] <= 20 && r[2] === 1).map((r) => r[0]));
      expect(decoded.mock.results.filter((r) => r.value !== undefined).length).toBe(1);
      expect(t.findEvent(run, { kinds: ['request_end'] }, 2)).toBe(ends[1]);
      decoded.mockRestore();
    } finally {
      t.close();
    }
  }, 120_000);
});

// An older SQLite (3.40, Debian 12's sqlite3) runs an aggregate over a UNION ALL view as a
// co-routine that decodes every column of every event: `count(*) ... WHERE kind = 'pgtable_read'`
// took 99 s on a 1M-event run. A file without row-format runs has no rows to union.
describe('a file of chunk runs alone', () => {
  it('has views over the chunks alone, one SELECT each (no UNION ALL, no event_rows)', async () => {
    const file = tmpFile();
    const run = await recordRace(file, 'gup');
    for (const view of EVENT_VIEWS) {
      expect(viewSql(file, view), view).not.toMatch(/UNION ALL\s+SELECT \* FROM|\bevent_rows\b/);
    }
    const db = new Database(file, { readonly: true });
    try {
      const events = (await readAll(file, run)).length;
      expect(db.prepare("SELECT count(*) FROM events_v WHERE run = 'gup'").pluck().get()).toBe(events);
      expect(db.prepare('SELECT count(*) FROM events WHERE run = ?').pluck().get(run)).toBe(events);
    } finally {
      db.close();
    }
  }, 120_000);

  it('gets views over both formats when a row-format run is merged in', async () => {
    const old = tmpFile();
    copyFileSync(join(import.meta.dirname, 'fixtures/v0.1.0-cross-vma-race.db'), old);
    await recordRace(old, 'new'); // brings the old file's kinds table to this build's
    const file = tmpFile();
    await recordRace(file, 'here');
    await mergeTraceFiles(file, [old]);
    for (const view of EVENT_VIEWS) expect(viewSql(file, view), view).toMatch(/\bevent_rows\b[\s\S]*UNION ALL/);
    const db = new Database(file, { readonly: true });
    const trace = await openTrace(file);
    try {
      const rowRuns = db.prepare('SELECT id, name, events FROM runs WHERE format = 1').all() as { id: number; name: string; events: number }[];
      expect(rowRuns.length).toBeGreaterThan(0);
      for (const r of rowRuns) {
        expect(db.prepare('SELECT count(*) FROM events_v WHERE run = ?').pluck().get(r.name)).toBe(r.events);
        expect(sqlRows(file, r.id)).toEqual([...trace.events(r.id)]);
      }
    } finally {
      trace.close();
      db.close();
    }
  }, 120_000);
});
