/**
 * `mmtrace diff` aligned event streams (issue 5, item 6): the Myers alignment is minimal and linear
 * on similar streams; hunks say what only one run did; `--strict` counts any stream difference.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { alignTask, type Hunk } from '../src/diff/hunks.js';
import { alignTokens, myers, type Edit } from '../src/diff/myers.js';
import { grownCapacity, Interner, StreamBuilder, tokenStreams, type RequestSpan, type TokenStream } from '../src/diff/tokens.js';
import { VmaMap } from '../src/reduce/vma-map.js';
import { makeBlock, openTrace, rowOfBlock, type RunInfo, type Trace } from '../src/trace/reader.js';
import { Decoder, kindByName, type TraceEvent } from '../src/trace/vocab/index.js';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';
import { FIXED, recordHere, recordWithFixes } from './helpers/record.js';

const record = (workload: string, seed = 1) => recordWithFixes(workload, join(tempDir(), `${workload}.db`), seed);

/**
 * An event's token text as the diff's rules say (src/diff/tokens.ts), from the decoded event: the
 * kind, then each name field's text, a VMA as its range as the map has it now (`?` for one it never
 * saw), and level, req, mode and write as stored (an enum's code, a bool as 0 or 1).
 */
function symbolicText(e: TraceEvent, vmas: VmaMap): string {
  const def = kindByName(e.kind)!;
  let text = e.kind;
  def.fields.forEach((field, i) => {
    const type = def.types[i]!;
    const value = (e as unknown as Record<string, unknown>)[field];
    if (type === 'name') text += ` ${field}=${value as string}`;
    else if (field === 'vma') {
      const r = vmas.get(value as number);
      text += ` vma=${r ? `${r.start.toString(16)}-${r.end.toString(16)}` : '?'}`;
    } else if (['level', 'req', 'mode', 'write'].includes(field)) {
      const stored = typeof type === 'object' && type.kind === 'enum' ? type.codes[value as string] : type === 'bool' ? (value ? 1 : 0) : value;
      text += ` ${field}=${String(stored)}`;
    }
  });
  return text;
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
      tokens: Int32Array.from(xs), seqs: Int32Array.from(xs, (_, i) => i + 1), requests: [],
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
  test('a run against itself has no hunks', async () => {
    const file = await record('cross-vma-race');
    const self = mmtraceJson(['diff', `${file}#gup`, `${file}#gup`]);
    expect(self.hunks).toEqual([]);
    expect(self.streams.length).toBeGreaterThan(0);
    expect(self.streams.every((t: { firstDivergence: unknown }) => t.firstDivergence === null)).toBe(true);
  });

  test('cross-vma-race gup vs fast: the reader diverges at a named event; hunk lines match the raw streams', async () => {
    const file = await record('cross-vma-race');
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

  test('--strict: gup vs itself and vs a second recording are equivalent; the fixed fast path is not', async () => {
    const file = await record('cross-vma-race');
    const again = await record('cross-vma-race');
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
    // Printed as `npx mmtrace ...`, runnable as printed after `npm install`.
    const example = [...help.matchAll(/^ {2}npx mmtrace (.*)$/gm)].map((m) => m[1]!.split(' '));
    expect(example.map((c) => c[0])).toEqual(['record', 'diff']);
    const dir = tempDir();
    const at = (args: string[]) => args.map((x) => x.replace(/^(--out=)?race\.db/, (_m, o = '') => `${o}${join(dir, 'race.db')}`));
    expect(mmtrace(at(example[0]!)).status).toBe(0);
    expect(mmtrace(at(example[1]!)).status).toBe(1);
  });
});

/** A task's stream from (token, request in flight or -1) pairs; seqs count from 1. */
function taskStream(events: [number, number][]): TokenStream {
  const requests: RequestSpan[] = [];
  events.forEach(([, r], i) => {
    const last = requests.at(-1);
    if (r < 0) return;
    if (last && last.req === r && last.hi === i) last.hi = i + 1;
    else requests.push({ req: r, lo: i, hi: i + 1 });
  });
  return { tokens: Int32Array.from(events, ([t]) => t), seqs: Int32Array.from(events, (_, i) => i + 1), requests };
}

/** Request n's events: its tokens, all with request n in flight. */
const req = (n: number, tokens: number[]): [number, number][] => tokens.map((t) => [t, n]);
const between = (tokens: number[]): [number, number][] => tokens.map((t) => [t, -1]);

describe('alignment request by request', () => {
  const texts = Array.from({ length: 300 }, (_, i) => `t${i}`);
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  test('a request is aligned with the same request only, and lists where it first diverges', () => {
    // Request 2 of a and request 2 of b share no events with each other, but b's request 2 is
    // a's request 3: a whole-stream alignment would match them across requests.
    const A = taskStream([...req(1, [1, 2, 3]), ...between([9]), ...req(2, [4, 5]), ...between([9]), ...req(3, [6, 7])]);
    const B = taskStream([...req(1, [1, 2, 3]), ...between([9]), ...req(2, [6, 7]), ...between([9]), ...req(3, [6, 7])]);
    const { streams, requests, hunks } = alignTask('m', A, B, texts);
    expect(streams.edits).toBe(4); // request 2: -4 -5 +6 +7
    expect(requests).toEqual([{ request: 'm:2', aEvents: 2, bEvents: 2, firstDivergence: { index: 0, a: { seq: 5, text: 't4' }, b: { seq: 5, text: 't6' } } }]);
    expect(hunks).toHaveLength(1);
    expect(hunks[0]!.request).toBe('m:2');
    for (const h of hunks) checkHunk(h, A, B, texts);
  });

  test('the edit budget is spent in stream order: requests before one too different to align keep their hunks', () => {
    // Request 1 differs by one event; request 2 shares nothing over 40 events (80 edits > 50).
    const A = taskStream([...req(1, range(0, 10)), ...between([99]), ...req(2, range(100, 40)), ...between([99]), ...req(3, [1, 2])]);
    const B = taskStream([...req(1, range(0, 10).filter((x) => x !== 5)), ...between([99]), ...req(2, range(200, 40)), ...between([99]), ...req(3, [1, 3])]);
    const { streams, requests, hunks } = alignTask('m', A, B, texts, 50);
    expect(streams.edits).toBeNull();
    // Every differing request is listed, also those past the budget.
    expect(requests.map((r) => [r.request, r.firstDivergence!.index])).toEqual([['m:1', 5], ['m:2', 0], ['m:3', 1]]);
    expect(hunks.map((h) => [h.request, h.note ?? null])).toEqual([
      ['m:1', null],
      ['m:2', expect.stringMatching(/diverge too much to align beyond event 11: the task's edits would exceed 50$/)],
    ]);
    expect(hunks[0]!.lines.filter((l) => l.op !== ' ').map((l) => `${l.op}${l.text}`)).toEqual(['-t5']);
    // The noted hunk starts with the equal events before request 2, down to the previous hunk's
    // end (a[9], the 99 between the requests), then each run's first event of request 2.
    expect(hunks[1]!.lines.map((l) => `${l.op}${l.text}`)).toEqual([' t9', ' t99', '-t100', '+t200']);
    expect([hunks[1]!.aStart, hunks[1]!.bStart]).toEqual([9, 8]);
    for (const h of hunks.slice(0, 1)) checkHunk(h, A, B, texts);
  });

  test('a request in one run only is all inserts, matched by number, not by position', () => {
    const A = taskStream([...req(1, [1, 2]), ...req(3, [5, 6])]);
    const B = taskStream([...req(1, [1, 2]), ...req(2, [3, 4]), ...req(3, [5, 6])]);
    const { streams, requests, hunks } = alignTask('m', A, B, texts);
    expect(streams.edits).toBe(2);
    expect(requests).toEqual([{ request: 'm:2', aEvents: 0, bEvents: 2, firstDivergence: { index: 0, a: null, b: { seq: 3, text: 't3' } } }]);
    expect(hunks.flatMap((h) => h.lines).filter((l) => l.op !== ' ').map((l) => `${l.op}${l.text}`)).toEqual(['+t3', '+t4']);
    for (const h of hunks) checkHunk(h, A, B, texts);
  });

  test('cmdline-poll gup vs fast: every hunk matches the raw streams, edits add up, every differing request is listed', async () => {
    const file = await record('cmdline-poll');
    const doc = JSON.parse(mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']).stdout);
    const trace = await openTrace(file);
    try {
      const interner = new Interner();
      const A = tokenStreams(trace, trace.resolveRun('gup'), interner);
      const B = tokenStreams(trace, trace.resolveRun('fast'), interner);
      const monitor = (doc.requestStreams as { request: string }[]).filter((r) => r.request.startsWith('monitor:'));
      // The fast path takes other locks for every read: all 20 of the monitor's reads differ.
      expect(monitor.map((r) => r.request)).toEqual(Array.from({ length: 20 }, (_, i) => `monitor:${i + 1}`));
      for (const t of doc.streams as { task: string; edits: number | null }[]) {
        const hunks = (doc.hunks as Hunk[]).filter((h) => h.task === t.task);
        for (const h of hunks) if (!h.note) checkHunk(h, A.get(t.task)!, B.get(t.task)!, interner.texts);
        if (t.edits !== null) expect(hunks.flatMap((h) => h.lines).filter((l) => l.op !== ' ').length, t.task).toBe(t.edits);
      }
    } finally {
      trace.close();
    }
    const text = mmtrace(['diff', `${file}#gup`, `${file}#fast`]).stdout;
    expect(text).toMatch(/^ {4}request monitor:1: \d+ vs \d+ events, first divergence at its event \d+: a #\d+ .* \| b #\d+ /m);
    expect(text).toMatch(/\.\.\. 15 more request\(s\) differ \(--json has them all, under requestStreams\)/);
  });
});

describe('token streams', () => {
  test('a request spans its task\'s events from its request_begin to its request_end; one in flight when the run stops spans the rest', async () => {
    const file = await record('cmdline-poll');
    // the same run cut a few events into the monitor's third request
    const trace = await openTrace(file);
    const interner = new Interner();
    const whole = tokenStreams(trace, trace.resolveRun('gup'), interner).get('monitor')!;
    trace.close();
    const third = whole.requests[2]!;
    expect(third.hi - third.lo).toBeGreaterThan(4);
    const cutAt = whole.seqs[third.lo + 3]!;
    await recordHere('cmdline-poll', ['--path=gup', '--name=cut', `--max-events=${cutAt}`, `--out=${file}`]);
    const again = await openTrace(file);
    try {
      const cut = tokenStreams(again, again.resolveRun('cut'), interner).get('monitor')!;
      const text = (s: TokenStream, i: number) => interner.texts[s.tokens[i]!]!;
      for (const s of [whole, cut]) {
        let after = 0;
        for (const span of s.requests) {
          expect(text(s, span.lo)).toMatch(new RegExp(`^request_begin req=${span.req}\\b`));
          // between requests nothing of one
          for (let i = after; i < span.lo; i++) expect(text(s, i)).not.toMatch(/^request_/);
          after = span.hi;
        }
      }
      for (const span of whole.requests) expect(text(whole, span.hi - 1)).toMatch(new RegExp(`^request_end req=${span.req}\\b`));
      expect(cut.requests.map((r) => r.req)).toEqual([1, 2, 3]);
      expect(cut.requests[2]).toEqual({ req: 3, lo: third.lo, hi: cut.tokens.length });
      expect(cut.tokens.length).toBe(third.lo + 4);
    } finally {
      again.close();
    }
  });

  test('read from the columns, each event\'s token says what its decoded event says: kind, names, VMA ranges, level, req, mode, write', async () => {
    const file = await record('cross-vma-race');
    const trace = await openTrace(file);
    try {
      for (const name of ['gup', 'fast']) {
        const run = trace.resolveRun(name);
        // the token of each event, by seq, from the decoded event and the VMA map as of that event
        const decoder = new Decoder(trace.names(run.id));
        const vmas = new VmaMap();
        const expected = new Map<number, { tid: number; text: string }>();
        for (const b of trace.eventBlocks(run.id)) {
          for (let i = 0; i < b.count; i++) {
            const e = decoder.decode(rowOfBlock(b, i));
            vmas.event(e);
            expected.set(e.seq, { tid: e.tid, text: symbolicText(e, vmas) });
          }
        }
        const interner = new Interner();
        const streams = tokenStreams(trace, run, interner);
        let tokens = 0;
        for (const [task, s] of streams) {
          const tids = new Set<number>();
          for (let i = 0; i < s.tokens.length; i++) {
            const want = expected.get(s.seqs[i]!)!;
            expect(interner.texts[s.tokens[i]!], `${name} ${task} #${s.seqs[i]}`).toBe(want.text);
            tids.add(want.tid);
          }
          expect(tids.size, `${name} ${task}: one task's events`).toBe(1);
          tokens += s.tokens.length;
        }
        expect(tokens).toBe(run.events);
        // every kind of field that takes part appears
        const texts = interner.texts.join('\n');
        for (const field of ['fn=', 'class=', 'vma=', 'level=', 'req=', 'mode=']) expect(texts, field).toContain(` ${field}`);
      }
    } finally {
      trace.close();
    }
  });

  test('a stored value a field cannot hold keys no real token: ids past the names, unknown enum codes, fractions, bools not 0 or 1', () => {
    // a run as another version, or a corrupt file, might store it: names ['', 'mmap_lock']
    const trace = { names: () => ['', 'mmap_lock'], tasks: () => [{ tid: 1, name: 't', daemon: 0 }] } as unknown as Trace;
    const interner = new Interner();
    const builder = new StreamBuilder(trace, { id: 1, events: 8 } as RunInfo, interner, new VmaMap());
    const block = makeBlock(8);
    const events: [string, Record<string, number>][] = [
      ['rwsem_acquire', { class: 1, mode: 1 }], // a real write acquisition of mmap_lock
      ['rwsem_acquire', { class: 2 ** 32 + 1, mode: 2 ** 32 + 1 }], // truncated to 1 by an Int32Array
      ['rwsem_acquire', { class: 1.5, mode: 1.5 }],
      ['rwsem_acquire', { class: 7, mode: 77 }],
      ['mmap_lock_start_locking', { write: 1 }],
      ['mmap_lock_start_locking', { write: 2 }],
      ['mmap_lock_start_locking', { write: 2 ** 40 }],
    ];
    events.forEach(([kind, fields], i) => {
      block.kind[i] = kindByName(kind)!.kind;
      block.tid[i] = 1;
      const columns = [block.a, block.b, block.c, block.d];
      for (const [field, value] of Object.entries(fields)) columns[kindByName(kind)!.fields.indexOf(field)]![i] = value;
    });
    block.firstSeq = 1;
    block.count = events.length;
    for (let i = 0; i < events.length; i++) builder.column(block, i, block.kind[i]!);
    const s = builder.streams().get('t')!;
    const texts = [...s.tokens].map((t) => interner.texts[t]!);
    expect(texts).toEqual([
      'rwsem_acquire class=mmap_lock mode=1',
      'rwsem_acquire class= mode=-1',
      'rwsem_acquire class= mode=-1',
      'rwsem_acquire class= mode=-1',
      'mmap_lock_start_locking write=1',
      'mmap_lock_start_locking write=1',
      'mmap_lock_start_locking write=1',
    ]);
    expect(s.tokens[1]).not.toBe(s.tokens[0]);
  });

  test('a task\'s lists grow to its share of the run: a task with a steady quarter of it grows once', () => {
    const total = 1_000_000;
    let [capacity, length, growths] = [1024, 0, 0];
    for (let seen = 1; seen <= total; seen++) {
      if (seen % 4 !== 0) continue;
      if (length === capacity) {
        capacity = grownCapacity(length, seen, total);
        growths++;
      }
      length++;
    }
    expect(growths).toBe(1);
    expect(capacity).toBeGreaterThanOrEqual(total / 4);
    expect(capacity).toBeLessThanOrEqual(total);
    // more than its share said: at least twice what it holds
    expect(grownCapacity(1000, 1000, 1500)).toBe(2000);
  });
});
