import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, eventHash, HASH_SEED, hashHex } from '../src/trace/hash.js';
import { openTrace, type EventRow } from '../src/trace/reader.js';
import { Recorder, type RecorderOptions } from '../src/trace/recorder.js';
import { RequestPairs } from '../src/trace/request-pairs.js';
import { decode, emit, KINDS } from '../src/trace/vocab/index.js';
import { allDecisions, stamp, type SinkRow } from './helpers/rows.js';

const ROOT = resolve(import.meta.dirname, '..');
const DIST_RECORDER = join(ROOT, 'dist/src/trace/recorder.js');
const DIST_VOCAB = join(ROOT, 'dist/src/trace/vocab/index.js');
const DIST_ROWS = join(ROOT, 'dist/test/helpers/rows.js');

/** The crash tests run the compiled recorder in a child: (re)build dist when it is older than the sources. */
function ensureBuilt(): void {
  const newest = (d: string): number => readdirSync(join(ROOT, d))
    .filter((f) => f.endsWith('.ts'))
    .reduce((m, f) => Math.max(m, statSync(join(ROOT, d, f)).mtimeMs), 0);
  const src = Math.max(newest('src/trace'), newest('src/store'), newest('migrations'));
  if (existsSync(DIST_RECORDER) && existsSync(DIST_ROWS) && statSync(DIST_RECORDER).mtimeMs >= src
    && statSync(join(ROOT, 'dist/src/trace/writer-worker.js')).mtimeMs >= src) return;
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
  if (!existsSync(DIST_RECORDER)) throw new Error('could not build dist/ (npx tsc -p tsconfig.json)');
}

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mmtrace-rec-'));
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const HEADER = { name: 'fast', workload: 'cross-vma-race', path: 'fast', seed: 3, strategy: 'pct:3', codeVersion: 'test' };

/**
 * The child's event generator (source shared by the child script and the checks): copies into
 * folios, negative lengths among them, and every 500th with bytes. It takes the vocabulary's
 * emitters and the stamping helper, so the child can pass those of the compiled build.
 */
const GEN = `(emit, stamp) => (i) => {
  const addr = 0x7ffd00000000 + i * 4096;
  const len = i % 3 === 0 ? 0 : -(i % 3);
  const tid = i % 7 === 0 ? 0 : 1 + ((i >> 5) % 2);
  return stamp(i, i * 10, tid, i % 500 === 0
    ? emit.copy_to_folio({ addr, len, folio: i * 31, hash: i % 2, data: new Uint8Array([i & 255, 1, 2]) })
    : emit.copy({ addr, len, folio: i * 31, hash: i % 2 }));
}`;
type Ev = SinkRow;
const gen = (new Function(`return ${GEN}`)() as (e: typeof emit, s: typeof stamp) => (i: number) => Ev)(emit, stamp);

/**
 * A child that records batches of 1000 events. mode 'pause': exactly `n` batches, waits until they
 * are committed, says READY and idles. mode 'run': says READY once `n` batches are committed and
 * goes on recording until killed.
 */
function childScript(file: string, writer: string, mode: 'pause' | 'run', n: number): string {
  return `
import { Recorder } from ${JSON.stringify(DIST_RECORDER)};
import { emit } from ${JSON.stringify(DIST_VOCAB)};
import { stamp } from ${JSON.stringify(DIST_ROWS)};
const gen = (${GEN})(emit, stamp);
const rec = await Recorder.open(${JSON.stringify(file)}, { writer: ${JSON.stringify(writer)}, batch: 1000 });
rec.beginRun(${JSON.stringify(HEADER)});
rec.task(1, 'monitor', false);
rec.task(2, 'target', false);
rec.name(1, 'cmdline');
if (${JSON.stringify(mode)} === 'pause') {
  for (let i = 1; i <= ${n} * 1000; i++) rec.event(...gen(i));
  while (rec.committedBatches < ${n}) await new Promise((r) => setTimeout(r, 2));
  process.stdout.write('READY ' + rec.committedBatches + '\\n');
  setInterval(() => {}, 1000);
} else {
  let said = false;
  for (let i = 1; i <= 3000000; i++) {
    rec.event(...gen(i));
    if (!said && i % 1000 === 0 && rec.committedBatches >= ${n}) {
      process.stdout.write('READY ' + rec.committedBatches + '\\n');
      said = true;
    }
  }
  rec.finish();
  process.stdout.write('DONE\\n');
}
`;
}

/** Run the child until it says READY, SIGKILL it, wait for its end. */
async function recordAndKill(file: string, writer: string, mode: 'pause' | 'run', n: number): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', childScript(file, writer, mode, n)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
  const ready = await new Promise<number>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.on('exit', () => rej(new Error(`child ended before READY: ${out} ${err}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  expect(out).not.toContain('DONE');
  return ready;
}

/** An event as the vocabulary decodes it, its blob (a Buffer when read back) as a list of bytes. */
function read(row: EventRow | Ev, names: readonly string[]): Record<string, unknown> {
  const event = Object.entries(decode(row, names));
  return Object.fromEntries(event.map(([field, value]) => [field, value instanceof Uint8Array ? [...value] : value]));
}

function hashOf(rows: Iterable<EventRow | Ev>): string {
  let h = HASH_SEED;
  for (const r of rows) h = chain(h, eventHash(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] ?? undefined));
  return hashHex(h);
}

async function checkIncomplete(file: string, exactEvents?: number): Promise<number> {
  const t = await openTrace(file);
  try {
    const [r] = t.listRuns();
    expect(r).toBeDefined();
    expect(r!.status).toBe('incomplete');
    expect(t.runStatus(r!.id).status).toBe('incomplete');
    const batches = t.batches(r!.id);
    const committed = batches.length * 1000;
    if (exactEvents !== undefined) expect(committed).toBe(exactEvents);
    expect(batches.map((b) => b.lastSeq)).toEqual(batches.map((_, i) => (i + 1) * 1000));
    expect(r!.events).toBe(committed);
    expect(t.eventCount(r!.id)).toBe(committed);
    const rows = [...t.events(r!.id)];
    expect(rows).toHaveLength(committed);
    // exactly the generated events, blobs included
    const names = t.names(r!.id);
    rows.forEach((row, i) => expect(read(row, names)).toEqual(read(gen(i + 1), names)));
    // the final hash is the chain value of the last committed batch, and recomputes from the events
    expect(r!.finalHash).toBe(hashHex(batches.at(-1)!.hash));
    expect(r!.finalHash).toBe(hashOf(rows));
    expect(allDecisions(t.decisions(r!.id))).toEqual(rows.filter((e) => e[2] !== 0).map((e) => e[2]));
    expect(t.names(r!.id)).toEqual(['', 'cmdline']);
    expect(t.tasks(r!.id).map((x) => x.name)).toEqual(['monitor', 'target']);
    return committed;
  } finally {
    t.close();
  }
}

describe('crash safety (SIGKILL)', () => {
  it('worker writer, killed while idle after 5 batches: exactly those are readable', async () => {
    const file = join(dir, 'pause-worker.db');
    const ready = await recordAndKill(file, 'worker', 'pause', 5);
    expect(ready).toBe(5);
    await checkIncomplete(file, 5000);
  }, 15_000);

  it('worker writer, killed while recording: every committed batch is readable', async () => {
    const file = join(dir, 'run-worker.db');
    const ready = await recordAndKill(file, 'worker', 'run', 3);
    const n = await checkIncomplete(file);
    expect(n).toBeGreaterThanOrEqual(ready * 1000);
  }, 15_000);

  it('sync writer, killed while recording; the file takes new runs afterwards', async () => {
    const file = join(dir, 'run-sync.db');
    await recordAndKill(file, 'sync', 'run', 3);
    const n = await checkIncomplete(file);
    expect(n).toBeGreaterThanOrEqual(3000);

    const rec = await Recorder.open(file, { writer: 'sync' });
    rec.beginRun({ ...HEADER, name: 'gup', path: 'gup' });
    rec.event(...stamp(1, 0, 1, emit.rcu_read_lock({ nesting: 1 })));
    rec.finish();
    rec.close();
    const t = await openTrace(file);
    expect(t.listRuns().map((r) => [r.name, r.status])).toEqual([['fast', 'incomplete'], ['gup', 'complete']]);
    t.close();
  }, 15_000);
});

/** The nice value of each thread of this process (Linux: field 19 of /proc/self/task/TID/stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('recorder', () => {
  it.runIf(existsSync('/proc/thread-self'))('the writer worker runs at nice 19, below the simulation thread', async () => {
    const before = threadNices();
    const rec = await Recorder.open(join(dir, 'nice.db'), { writer: 'worker' });
    try {
      const during = threadNices();
      expect(during.filter((n) => n === 19).length).toBe(before.filter((n) => n === 19).length + 1);
      expect(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16])).toBe(before[0]);
    } finally {
      rec.close();
    }
  });

  it('a run being recorded by a live process reads as recording, with its committed batches', async () => {
    const file = join(dir, 'live.db');
    const rec = await Recorder.open(file, { writer: 'worker', batch: 100 });
    const id = rec.beginRun(HEADER);
    for (let i = 1; i <= 250; i++) rec.event(...gen(i));
    while (rec.committedBatches < 2) await new Promise((r) => setTimeout(r, 2));
    expect(rec.committedEvents).toBe(200);
    const t = await openTrace(file);
    expect(t.runStatus(id)).toEqual({ status: 'recording', limit: null, events: 200, finalHash: hashOf([...Array(200)].map((_, i) => gen(i + 1))) });
    t.close();
    const s = rec.finish();
    expect(s).toEqual({ id, name: 'fast', status: 'complete', events: 250, finalHash: hashOf([...Array(250)].map((_, i) => gen(i + 1))) });
    rec.close();
  });

  it('cuts a batch early when its blob arena fills, and stores blobs larger than the arena', async () => {
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `blobs-${writer}.db`);
      const rec = await Recorder.open(file, { writer, batch: 100, blobBytes: 1024 });
      rec.beginRun(HEADER);
      const evs: Ev[] = [];
      for (let i = 1; i <= 30; i++) {
        const data = new Uint8Array(i === 17 ? 5000 : 300).map((_, j) => (i * 7 + j) & 255);
        evs.push(stamp(i, i, 1, emit.request_end({ req: i, result: 300, hash: 0, flags: 0, data })));
        rec.event(...evs.at(-1)!);
      }
      rec.finish();
      rec.close();
      const t = await openTrace(file);
      // 3 blobs of 300 bytes fit in 1024: batches end at 3, 6, ...; the 5000-byte one goes aside
      expect(t.batches(1).map((b) => b.lastSeq).slice(0, 4)).toEqual([3, 6, 9, 12]);
      const rows = [...t.events(1)];
      expect(rows.map((r) => read(r, []))).toEqual(evs.map((e) => read(e, [])));
      expect(t.listRuns()[0]!.finalHash).toBe(hashOf(evs));
      t.close();
    }
  });

  it('stores every blob and every kind frame of a batch, however many there are', async () => {
    // The writer inserts blobs and a chunk's kind frames 32 rows to an INSERT: batches of 150
    // events, with 65, 32 and 31 blobs (two full inserts and one row, one full, none full), in
    // chunks of 40 kinds each (a full insert of frames and 8 more).
    const kinds = KINDS.filter((k) => !RequestPairs.concerns(k.kind)).slice(0, 40).map((k) => k.kind);
    const blobsIn = (seq: number): boolean => seq <= 65 || (seq > 150 && seq <= 182) || (seq > 300 && seq <= 331);
    const rows: Ev[] = [];
    for (let seq = 1; seq <= 450; seq++) {
      const data = blobsIn(seq) ? new Uint8Array(1 + (seq % 5)).fill(seq & 255) : undefined;
      rows.push([seq, seq * 3, 1 + (seq % 3), kinds[seq % kinds.length]!, seq, 2 ** 40 + seq * 4096, seq % 2, 7, data]);
    }
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `bulk-${writer}.db`);
      const rec = await Recorder.open(file, { writer, batch: 150 });
      rec.beginRun(HEADER);
      for (const row of rows) rec.event(...row);
      rec.finish();
      rec.close();
      const t = await openTrace(file);
      const plain = (r: EventRow | Ev) => [...r.slice(0, 8), r[8] ? [...r[8]] : null];
      expect([...t.events(1)].map(plain)).toEqual(rows.map(plain));
      expect(t.listRuns()[0]!.finalHash).toBe(hashOf(rows));
      t.close();
    }
  });

  it('stores each request as it ends, however many a batch begins and ends', async () => {
    // 120 requests of tid 1, each ending 40 events after it begins: a batch of 150 events holds
    // about 50 request rows (a full INSERT of 32 and more), some begun and ended in it (the ended
    // row replaces the open one in the same statement), some ended in the next batch.
    const rows: Ev[] = [];
    const ends = new Map<number, number>(); // seq of an end -> req
    for (let seq = 1; seq <= 400; seq++) {
      const req = seq % 3 === 1 && seq <= 360 ? (seq + 2) / 3 : 0;
      if (req > 0) ends.set(seq + 40, req);
      const event = req > 0
        ? emit.request_begin({ req, op: 1, addr: 0x1000, len: 8 })
        : ends.has(seq)
          ? emit.request_end({ req: ends.get(seq)!, result: 8, hash: 0, flags: 0, data: undefined })
          : emit.rcu_read_lock({ nesting: 1 });
      rows.push(stamp(seq, seq, 1, event));
    }
    const expected = [...ends].map(([end, req]) => ({ firstSeq: 3 * req - 2, lastSeq: end }));
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `requests-${writer}.db`);
      const rec = await Recorder.open(file, { writer, batch: 150 });
      rec.beginRun(HEADER);
      rec.name(1, 'peek');
      for (const row of rows) rec.event(...row);
      rec.finish();
      rec.close();
      const t = await openTrace(file);
      expect(t.requests(1)).toEqual(expected);
      t.close();
    }
  });

  it('refuses events outside a run; close() fails a run left open', async () => {
    const file = join(dir, 'misuse.db');
    const rec = await Recorder.open(file, { writer: 'sync' });
    const lock = stamp(1, 0, 1, emit.rcu_read_lock({ nesting: 0 }));
    expect(() => rec.event(...lock)).toThrow(/beginRun/);
    rec.beginRun(HEADER);
    expect(() => rec.beginRun({ ...HEADER, name: 'other' })).toThrow(/finish/);
    rec.event(...lock);
    rec.close();
    const t = await openTrace(file);
    expect(t.listRuns()[0]).toMatchObject({ status: 'failed', events: 1, error: 'recorder closed before the run finished' });
    t.close();
    // at rest the file is back in rollback-journal mode: no -wal/-shm needed by read-only readers
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  // A snapshot of the event that ends a batch rides the next batch (the batch was sent with its
  // last event); at the end of a run there is no next batch of that run, so finish() sends it,
  // and it is not written under the next run's id.
  it('a snapshot of a run\'s last event, which ends a batch, is stored with that run', async () => {
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `snap-end-${writer}.db`);
      const rec = await Recorder.open(file, { writer, batch: 10 });
      const first = rec.beginRun({ ...HEADER, name: 'first' });
      for (let i = 1; i <= 10; i++) rec.event(...gen(i));
      rec.snapshot(10, Uint8Array.from([1, 1]));
      rec.finish();
      const second = rec.beginRun({ ...HEADER, name: 'second' });
      for (let i = 1; i <= 5; i++) rec.event(...gen(i));
      rec.finish();
      rec.close();
      const t = await openTrace(file);
      expect([t.snapshotCount(first), t.snapshotCount(second)]).toEqual([1, 0]);
      expect([...t.snapshotAtOrBefore(first, 10)!.data]).toEqual([1, 1]);
      t.close();
    }
  });

  it('a sink contract violation (repeated seq) fails the run with a plain error, committed data kept', async () => {
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `dup-${writer}.db`);
      const rec = await Recorder.open(file, { writer, batch: 10 });
      rec.beginRun(HEADER);
      for (let i = 1; i <= 10; i++) rec.event(...gen(i));
      for (let i = 1; i <= 9; i++) rec.event(...gen(i + 10));
      let err: unknown;
      try {
        rec.event(...gen(5)); // seq 5 again: the batch's transaction fails (sync: here; worker: at finish)
        rec.finish();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toBeUndefined();
      expect((err as Error).message).toContain('the 10 events committed before it stay readable');
      rec.close();
      const t = await openTrace(file);
      expect(t.listRuns()[0]).toMatchObject({ status: 'failed', events: 10, finalHash: hashOf([...Array(10)].map((_, i) => gen(i + 1))) });
      expect([...t.events(1)]).toHaveLength(10);
      t.close();
    }
  });

  it.each([
    ['none but a `node -e` script\'s --input-type', []],
    ['a V8 option (--max-semi-space-size)', ['--max-semi-space-size=32']],
    ['V8 options and one of node\'s own', ['--trace-gc', '--max-semi-space-size=32', '--stack-trace-limit=20']],
  ])('the worker writer starts in a process run with %s', (_, options) => {
    const file = join(dir, `options-${options.length}.db`);
    const script = `
import { Recorder } from ${JSON.stringify(DIST_RECORDER)};
import { emit } from ${JSON.stringify(DIST_VOCAB)};
import { stamp } from ${JSON.stringify(DIST_ROWS)};
const gen = (${GEN})(emit, stamp);
const rec = await Recorder.open(${JSON.stringify(file)}, { writer: 'worker', batch: 100 });
rec.beginRun(${JSON.stringify(HEADER)});
for (let i = 1; i <= 250; i++) rec.event(...gen(i));
const s = rec.finish();
rec.close();
process.stdout.write(rec.writerMode + ' ' + s.status + ' ' + s.events + '\\n');
`;
    const r = spawnSync(process.execPath, [...options, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/Error/);
    // one line among others: --trace-gc writes its own lines to stdout, before and after ours
    // (a collection of the writer thread's heap can come after the script's last line)
    expect(r.stdout.split('\n')).toContain('worker complete 250');
  }, 30_000);

  /** Record `n` events made by `eventAt` into a new file: the run's summary and the chain the events make. */
  async function recordSynthetic(file: string, opts: RecorderOptions, n: number, eventAt: (i: number) => Ev) {
    const rec = await Recorder.open(file, opts);
    const writerMode = rec.writerMode;
    rec.beginRun(HEADER);
    let h = HASH_SEED;
    // the chain after each event, by seq
    const chained: string[] = [hashHex(h)];
    for (let i = 1; i <= n; i++) {
      const ev = eventAt(i);
      rec.event(...ev);
      h = chain(h, eventHash(...ev));
      chained.push(hashHex(h));
    }
    const summary = rec.finish();
    rec.close();
    return { summary, hash: hashHex(h), chained, writerMode };
  }

  it('chains the hash over batches of several chunks, through blobs in the arena and too big for it', async () => {
    // 10000-event batches are three chunks each (CHUNK_EVENTS 4096): the writer chains a chunk's
    // events right before encoding it, so each chunk must start where the last one left off,
    // and a big blob (beyond the 64 KB arena) is found by its row in the batch, not in the chunk.
    for (const writer of ['sync', 'worker'] as const) {
      const file = join(dir, `chunks-${writer}.db`);
      const { summary, hash, chained } = await recordSynthetic(file, { writer, batch: 10_000, blobBytes: 65_536 }, 25_000, (i) => {
        const len = i % 4999 === 0 ? 70_000 : i % 7 === 0 ? 1 + (i % 40) : 0;
        const fields = { addr: 0x7ffd_0000_0000 + i * 8, len, folio: i, hash: i };
        return len === 0
          ? stamp(i, i * 10, 1 + (i & 3), emit.copy(fields))
          : stamp(i, i * 10, 1 + (i & 3), emit.copy_to_folio({ ...fields, data: new Uint8Array(len).fill(i & 0xff) }));
      });
      expect(summary.finalHash).toBe(hash);
      const t = await openTrace(file);
      const batches = t.batches(1);
      expect(batches.map((b) => b.lastSeq)).toEqual([10_000, 20_000, 25_000]);
      // each batch row keeps the chain after its own last event
      expect(batches.map((b) => hashHex(b.hash))).toEqual([chained[10_000], chained[20_000], chained[25_000]]);
      expect(hashOf(t.events(1))).toBe(hash);
      t.close();
    }
  });

  it('records a large synthetic run at speed with the worker (sanity, not a benchmark)', async () => {
    const file = join(dir, 'big.db');
    const n = 300_000;
    const { summary, hash, writerMode } = await recordSynthetic(file, {}, n,
      (i) => stamp(i, i * 10, 1 + (i & 3), emit.copy({ addr: 0x7ffd_0000_0000 + i * 4096, len: -1, folio: i, hash: 0 })));
    expect(writerMode).toBe('worker');
    expect(summary.finalHash).toBe(hash);
    const t = await openTrace(file);
    expect(t.eventCount(1)).toBe(n);
    expect(allDecisions(t.decisions(1)).length).toBe(n);
    expect(t.batches(1)).toHaveLength(Math.ceil(n / 16384));
    t.close();
  });
});
