/**
 * The alignment as side-by-side rows (src/diff/rows.ts), what the tui's diff view pages, and where
 * a task's stream events are in its run (src/diff/stream-index.ts): rows pair the events as the
 * alignment's edit script does, agree with `mmtrace diff`'s hunks, and page the same across page
 * boundaries and checkpoints.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diffTracesForBrowsing, type BrowsableDiff } from '../src/diff/diff.js';
import { alignTask, type Hunk } from '../src/diff/hunks.js';
import { alignTokens } from '../src/diff/myers.js';
import { AlignedRows, type AlignedRow } from '../src/diff/rows.js';
import { eventsOfRows, StreamIndex } from '../src/diff/stream-index.js';
import { Interner, tokenStreams, type TokenStream } from '../src/diff/tokens.js';
import { openTrace, type Trace } from '../src/trace/reader.js';
import { mmtrace, tempDir } from './helpers/cli.js';

/** A stream of these tokens (seqs 10, 20, ...; no requests). */
function stream(tokens: number[]): TokenStream {
  return {
    tokens: Int32Array.from(tokens), seqs: Int32Array.from(tokens, (_, i) => 10 * (i + 1)),
    requests: [],
  };
}

/** A deterministic token sequence with some repeats. */
function tokensOf(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + seed) % 13);
}

function rowsOf(a: number[], b: number[], maxD?: number): { rows: AlignedRows; hunks: Hunk[] } {
  const texts = Array.from({ length: 13 }, (_, i) => `t${i}`);
  const r = alignTask('t', stream(a), stream(b), texts, maxD);
  return { rows: new AlignedRows([r.streams], r.hunks), hunks: r.hunks };
}

/** What the edit script says the rows are: equal events paired, a deletion beside a gap, an insertion likewise. */
function rowsOfEditScript(a: number[], b: number[]): [string, number | null, number | null][] {
  const out: [string, number | null, number | null][] = [];
  let [i, j] = [0, 0];
  for (const e of alignTokens(a, b)!) {
    while (i < e.ai) out.push([' ', i++, j++]);
    if (e.op === '-') out.push(['-', i++, null]);
    else out.push(['+', null, j++]);
  }
  while (i < a.length) out.push([' ', i++, j++]);
  return out;
}

const triple = (r: AlignedRow): [string, number | null, number | null] => [r.op, r.a, r.b];

describe('aligned rows (pure)', () => {
  test('rows pair the events as the edit script does: matched side by side, a deleted or inserted event beside a gap', () => {
    const a = tokensOf(200, 1);
    const b = [...a.slice(0, 40), 99, 98, ...a.slice(45, 120), ...a.slice(121, 190), 97, ...a.slice(190)];
    const { rows, hunks } = rowsOf(a, b);
    expect(hunks.length).toBeGreaterThan(1);
    const all = rows.slice(0, rows.count).map(triple);
    expect(all).toEqual(rowsOfEditScript(a, b));
    // matched rows hold equal events; every event of each run is on exactly one row, in order
    for (const [op, i, j] of all) if (op === ' ') expect(a[i!]).toBe(b[j!]);
    expect(all.flatMap(([, i]) => (i === null ? [] : [i]))).toEqual(a.map((_, i) => i));
    expect(all.flatMap(([, , j]) => (j === null ? [] : [j]))).toEqual(b.map((_, j) => j));
  });

  test('a row found by index is the row found by walking, and each event leads back to its row', () => {
    const a = tokensOf(300, 2);
    const b = [...a.slice(0, 10), ...a.slice(14, 200), 50, 51, 52, ...a.slice(200, 290)];
    const { rows } = rowsOf(a, b);
    const walked = rows.slice(0, rows.count);
    for (let r = 0; r < rows.count; r++) {
      expect(rows.at(r)).toEqual(walked[r]);
      const { a: i, b: j } = walked[r]!;
      if (i !== null) expect(rows.rowOf('a', 't', i)).toBe(r);
      if (j !== null) expect(rows.rowOf('b', 't', j)).toBe(r);
    }
    // pages cut anywhere are the same rows
    for (const size of [1, 7, 23, 64]) {
      const paged: AlignedRow[] = [];
      for (let from = 0; from < rows.count; from += size) paged.push(...rows.slice(from, size));
      expect(paged).toEqual(walked);
    }
  });

  test('at a gap, a side is at its next event (the event before it is where its column rests)', () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    const b = [1, 2, 3, 9, 9, 4, 5, 6, 7, 8];
    const { rows } = rowsOf(a, b);
    const inserted = rows.slice(0, rows.count).filter((r) => r.op === '+');
    expect(inserted.map((r) => [r.aAt, r.b])).toEqual([[3, 3], [3, 4]]);
  });

  test('each divergence is at the row of its hunk\'s first changed event', () => {
    const a = tokensOf(120, 3);
    const b = [...a.slice(0, 30), 77, ...a.slice(30, 90), ...a.slice(92)];
    const { rows, hunks } = rowsOf(a, b);
    expect(rows.divergences.map((d) => d.hunk)).toEqual(hunks.map((_, i) => i));
    for (const d of rows.divergences) {
      const h = hunks[d.hunk]!;
      const firstChange = h.lines.findIndex((l) => l.op !== ' ');
      expect(triple(rows.at(d.row))[0]).toBe(h.lines[firstChange]!.op);
    }
  });

  test('the rest of a task the diff gave up aligning is drawn unpaired, side by side, after the equal context', () => {
    const a = [1, 2, 3, 4, 5, ...tokensOf(40, 4)];
    const b = [1, 2, 3, 4, 5, ...tokensOf(30, 9).map((t) => t + 20)];
    const { rows, hunks } = rowsOf(a, b, 5);
    expect(hunks.at(-1)!.note).toMatch(/diverge too much/);
    const all = rows.slice(0, rows.count);
    expect(all.slice(0, 5).map(triple)).toEqual([0, 1, 2, 3, 4].map((i) => [' ', i, i]));
    expect(all.slice(5).every((r) => r.op === '~')).toBe(true);
    expect(all).toHaveLength(5 + 40);
    expect(all.slice(5).map((r) => r.a)).toEqual(a.slice(5).map((_, i) => 5 + i));
    expect(all.slice(5).map((r) => r.b)).toEqual([...b.slice(5).map((_, i) => 5 + i), ...new Array(10).fill(null)]);
    expect(rows.divergences.map((d) => d.row)).toEqual([5]);
  });

  test('hunks whose lines do not walk both streams in lockstep are refused, not drawn misaligned', () => {
    const { hunks } = rowsOf([1, 2, 3, 4], [1, 9, 3, 4]);
    const task = { task: 't', aEvents: 4, bEvents: 5, edits: 2, firstDivergence: null };
    expect(() => new AlignedRows([task], hunks)).toThrow(/lockstep/);
  });
});

describe('aligned rows of two recorded runs', () => {
  let file: string;
  let trace: Trace;
  let d: BrowsableDiff;

  beforeAll(async () => {
    file = join(tempDir(), 'sw.db');
    expect(mmtrace(['record', 'stuck-writer', '--path=gup,fast', `--out=${file}`]).status).toBe(0);
    trace = await openTrace(file);
    d = await diffTracesForBrowsing(trace, trace.resolveRun('gup'), trace, trace.resolveRun('fast'));
  });

  afterAll(() => trace.close());

  const seqOf = (e: unknown[] | null) => (e ? (e[0] as number) : null);

  test('every line of `mmtrace diff`\'s hunks is a row holding the same events', () => {
    const r = mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']);
    expect(r.status).toBe(1); // the runs differ: aging
    const json = JSON.parse(r.stdout) as { hunks: Hunk[] };
    expect(json.hunks.length).toBeGreaterThan(0);
    expect(d.rows.divergences).toHaveLength(json.hunks.length);
    for (const [k, h] of json.hunks.entries()) {
      const anchor = h.lines[0]!;
      const start = anchor.seqA !== undefined ? d.a.locate(anchor.seqA) : d.b.locate(anchor.seqB!);
      const row = d.rows.rowOf(anchor.seqA !== undefined ? 'a' : 'b', h.task, start!.index)!;
      const rows = d.rows.slice(row, h.lines.length);
      const [a, b] = [eventsOfRows(rows, 'a', d.a), eventsOfRows(rows, 'b', d.b)];
      expect(rows.map((r, i) => [r.op, seqOf(a[i]!), seqOf(b[i]!)]), `hunk ${k}`)
        .toEqual(h.lines.map((l) => [l.op, l.seqA ?? null, l.seqB ?? null]));
    }
  });

  test('rows cover every event of each run once, and a row of equal events holds events of one kind', () => {
    const count = (side: 'a' | 'b') => d.rows.slice(0, d.rows.count).filter((r) => r[side] !== null).length;
    expect(count('a')).toBe(trace.resolveRun('gup').events);
    expect(count('b')).toBe(trace.resolveRun('fast').events);
    const page = d.rows.slice(0, 400);
    const [a, b] = [eventsOfRows(page, 'a', d.a), eventsOfRows(page, 'b', d.b)];
    page.forEach((r, i) => {
      if (r.op === ' ') expect(a[i]![3]).toBe(b[i]![3]); // the kind column
    });
  });

  test('stream index to event and back, across checkpoints (every 16 events of a task, or 100 of the run)', async () => {
    const run = trace.resolveRun('gup');
    const streams = tokenStreams(trace, run, new Interner());
    const index = StreamIndex.of(trace, run, streams, 16, 100);
    for (const [task, s] of streams) {
      expect(index.length(task)).toBe(s.seqs.length);
      // pages of several sizes, cut across checkpoints, give the stream's seqs
      for (const size of [13, 37]) {
        const seqs: number[] = [];
        for (let i = 0; i < s.seqs.length; i += size) seqs.push(...index.events(task, i, size).map((e) => e[0]));
        expect(seqs, `${task} in pages of ${size}`).toEqual([...s.seqs]);
      }
      const some = s.seqs.length > 400 ? [...Array(400).keys()].map((k) => Math.floor((k * s.seqs.length) / 400)) : [...s.seqs.keys()];
      for (const i of some) expect(index.locate(s.seqs[i]!)).toEqual({ task, index: i });
    }
  });
});
