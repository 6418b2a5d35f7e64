/**
 * `mmtrace diff` aligned event streams (issue 5, item 6): the Myers alignment is minimal and linear
 * on similar streams; hunks say what only one run did; `--strict` counts any stream difference.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { alignTask, alignTokens, Interner, myers, tokenStreams, type Edit, type Hunk, type TokenStream } from '../src/diff/align.js';
import { openTrace } from '../src/trace/reader.js';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';

const FIXES = 'singleVmaOnly,checkFollAnon,touch';
const FIXED = `fast+${FIXES.split(',').join('+')}`;

function record(workload: string, seed = 1): string {
  const file = join(tempDir(), `${workload}.db`);
  expect(mmtrace(['record', workload, '--path=gup,fast', `--seed=${seed}`, `--out=${file}`]).status).toBe(0);
  expect(mmtrace(['record', workload, '--path=fast', `--variant=${FIXES}`, `--seed=${seed}`, `--out=${file}`]).status).toBe(0);
  return file;
}

/** Apply an edit script to a: the result must be b. */
function applyEdits(a: number[], b: number[], edits: Edit[]): number[] {
  const out: number[] = [];
  let i = 0;
  for (const e of edits) {
    while (i < e.ai) out.push(a[i++]!);
    if (e.op === '-') i++;
    else out.push(b[e.bj]!);
  }
  while (i < a.length) out.push(a[i++]!);
  return out;
}

/** Minimal edits by the quadratic LCS table: n + m - 2·LCS. */
function minimalEdits(a: number[], b: number[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]!);
      diag = up;
    }
  }
  return a.length + b.length - 2 * row[b.length]!;
}

/** A small deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('Myers alignment (pure)', () => {
  test('the classic example needs 5 edits, and the script turns a into b', () => {
    const a = [...'ABCABBA'].map((c) => c.charCodeAt(0));
    const b = [...'CBABAC'].map((c) => c.charCodeAt(0));
    const edits = myers(a, 0, a.length, b, 0, b.length, 100)!;
    expect(edits).toHaveLength(5);
    expect(applyEdits(a, b, edits)).toEqual(b);
    expect(alignTokens(a, b)).toHaveLength(5);
  });

  test('random small sequences: the edit count equals the LCS minimum', () => {
    const rnd = lcg(42);
    for (let t = 0; t < 200; t++) {
      const a = Array.from({ length: Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 4));
      const b = Array.from({ length: Math.floor(rnd() * 30) }, () => Math.floor(rnd() * 4));
      const edits = alignTokens(a, b, 1000)!;
      expect(edits.length).toBe(minimalEdits(a, b));
      expect(applyEdits(a, b, edits)).toEqual(b);
    }
  });

  test('identical sequences need no edit; beyond the cap the alignment gives up', () => {
    expect(alignTokens([1, 2, 3], [1, 2, 3])).toEqual([]);
    expect(alignTokens([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], 5)).toBeNull();
  });

  test('200k tokens with 10 edits: exactly 10 edits', () => {
    const n = 200_000;
    const a = Array.from({ length: n }, (_, i) => i);
    const deleted = new Set([1000, 40_000, 80_001, 120_000, 199_000]);
    const insertedBefore = new Set([20_000, 60_000, 100_000, 150_000, 190_000]);
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      if (insertedBefore.has(i)) b.push(1_000_000 + i);
      if (!deleted.has(i)) b.push(i);
    }
    const edits = alignTokens(Int32Array.from(a), Int32Array.from(b))!;
    expect(edits).toHaveLength(10);
    expect(edits.filter((e) => e.op === '-').map((e) => e.ai)).toEqual([...deleted]);
    expect(applyEdits(a, b, edits)).toEqual(b);
  });

  test('hunks: 3 lines of context, nearby edits share a hunk, a diverging pair is one noted hunk', () => {
    const texts = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const stream = (xs: number[]): TokenStream => ({
      tokens: Int32Array.from(xs), seqs: Int32Array.from(xs, (_, i) => i + 1), requests: new Int32Array(xs.length).fill(-1),
    });
    const a = Array.from({ length: 40 }, (_, i) => i);
    const b = a.filter((x) => x !== 10 && x !== 14 && x !== 30);
    const { streams, hunks } = alignTask('t', stream(a), stream(b), texts);
    expect(streams.edits).toBe(3);
    expect(streams.firstDivergence).toEqual({ index: 10, a: { seq: 11, text: 't10' }, b: { seq: 11, text: 't11' } });
    expect(hunks.map((h) => [h.aStart, h.aLen, h.bStart, h.bLen])).toEqual([[7, 11, 7, 9], [27, 7, 25, 6]]);
    expect(hunks[0]!.lines.filter((l) => l.op === '-').map((l) => l.text)).toEqual(['t10', 't14']);
    const far = alignTask('t', stream([0, 1, 2, 3, 4, 5]), stream([0, 1, 9, 8, 7, 6]), texts, 2);
    expect(far.streams.edits).toBeNull();
    expect(far.hunks).toHaveLength(1);
    expect(far.hunks[0]!.note).toMatch(/diverge too much to align beyond event 2/);
  });
});

/** Check every hunk line against the raw token streams: ' ' in both, '-' in a, '+' in b, at its seq. */
function checkHunk(h: Hunk, A: TokenStream, B: TokenStream, texts: string[]): void {
  let i = h.aStart;
  let j = h.bStart;
  for (const l of h.lines) {
    if (l.op !== '+') {
      expect(texts[A.tokens[i]!]).toBe(l.text);
      expect(A.seqs[i]).toBe(l.seqA);
    }
    if (l.op !== '-') {
      expect(texts[B.tokens[j]!]).toBe(l.text);
      expect(B.seqs[j]).toBe(l.seqB);
    }
    if (l.op === '-') expect(l.seqB).toBeUndefined();
    if (l.op === '+') expect(l.seqA).toBeUndefined();
    if (l.op !== '+') i++;
    if (l.op !== '-') j++;
  }
  expect(i - h.aStart).toBe(h.aLen);
  expect(j - h.bStart).toBe(h.bLen);
}

describe('mmtrace diff: EVENT STREAMS', () => {
  test('a run against itself has no hunks', () => {
    const file = record('cross-vma-race');
    const self = mmtraceJson(['diff', `${file}#gup`, `${file}#gup`]);
    expect(self.hunks).toEqual([]);
    expect(self.streams.length).toBeGreaterThan(0);
    expect(self.streams.every((t: { firstDivergence: unknown }) => t.firstDivergence === null)).toBe(true);
  });

  test('cross-vma-race gup vs fast: the reader diverges at a named event; hunk lines match the raw streams', async () => {
    const file = record('cross-vma-race');
    const r = mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.hunks.length).toBeGreaterThan(0);
    const reader = doc.streams.find((t: { task: string }) => t.task === 'reader');
    expect(reader.firstDivergence).not.toBeNull();

    const trace = await openTrace(file);
    try {
      const kindNames = new Set(trace.kinds().map((k) => k.name));
      const fd = reader.firstDivergence;
      expect(kindNames.has(fd.a.text.split(' ')[0])).toBe(true);
      expect(kindNames.has(fd.b.text.split(' ')[0])).toBe(true);
      expect(fd.a.text).not.toBe(fd.b.text);
      // The fast path enters access_remote_vm_fast where mainline takes mmap_lock.
      expect(fd.b.text).toBe('call_enter fn=access_remote_vm_fast');

      const interner = new Interner();
      const A = tokenStreams(trace, trace.resolveRun('gup'), interner).get('reader')!;
      const B = tokenStreams(trace, trace.resolveRun('fast'), interner).get('reader')!;
      expect(fd.a.seq).toBe(A.seqs[fd.index]);
      expect(fd.b.seq).toBe(B.seqs[fd.index]);
      const hunks = (doc.hunks as Hunk[]).filter((h) => h.task === 'reader');
      expect(hunks.length).toBeGreaterThan(0);
      expect(hunks[0]!.request).toBe('reader:1');
      for (const h of hunks) checkHunk(h, A, B, interner.texts);
      // '-' and '+' counts add up to the task's edit count.
      const changed = hunks.flatMap((h) => h.lines).filter((l) => l.op !== ' ').length;
      expect(changed).toBe(reader.edits);
    } finally {
      trace.close();
    }

    const text = mmtrace(['diff', `${file}#gup`, `${file}#fast`]);
    expect(text.stdout).toMatch(/EVENT STREAMS/);
    expect(text.stdout).toMatch(/reader: \d+ vs \d+ events, \d+ edit\(s\); first divergence at event \d+/);
    expect(text.stdout).toMatch(/@@ -\d+,\d+ \+\d+,\d+ @@ request reader:1/);
  });

  test('--strict: gup vs itself and vs a second recording are equivalent; the fixed fast path is not', () => {
    const file = record('cross-vma-race');
    const again = record('cross-vma-race');
    expect(mmtrace(['diff', `${file}#gup`, `${file}#gup`, '--strict']).status).toBe(0);
    expect(mmtrace(['diff', `${file}#gup`, `${again}#gup`, '--strict']).status).toBe(0);
    // Without --strict the fixed fast path is equivalent; with it, its other events are a difference.
    expect(mmtrace(['diff', `${file}#gup`, `${file}#${FIXED}`]).status).toBe(0);
    const strict = mmtrace(['diff', `${file}#gup`, `${file}#${FIXED}`, '--strict', '--json']);
    expect(strict.status).toBe(1);
    const doc = JSON.parse(strict.stdout);
    expect(doc.verdict).toBe('different');
    expect(doc.differences).toContain('event-stream');
    expect(doc.findings.some((f: { kind: string; severity: string }) => f.kind === 'event-stream' && f.severity === 'behaviour')).toBe(true);
  });

  test('--help lists --strict, the report\'s sections and an example that works', () => {
    const help = mmtrace(['diff', '--help']).stdout;
    expect(help).toMatch(/--strict/);
    expect(help).toMatch(/VERDICT.*FINDINGS.*REQUESTS.*NOTES.*AGGREGATES.*EVENT STREAMS/s);
    const example = [...help.matchAll(/^ {2}mmtrace (.*)$/gm)].map((m) => m[1]!.split(' '));
    expect(example.map((c) => c[0])).toEqual(['record', 'diff']);
    const dir = tempDir();
    const at = (args: string[]) => args.map((x) => x.replace(/^(--out=)?race\.db/, (_m, o = '') => `${o}${join(dir, 'race.db')}`));
    expect(mmtrace(at(example[0]!)).status).toBe(0);
    expect(mmtrace(at(example[1]!)).status).toBe(1);
  });
});
