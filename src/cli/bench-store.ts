/**
 * Storage benchmarks: the recorder against a raw better-sqlite3 loop of the same row shape, and a
 * synthetic simulation recorded against the same simulation alone. Each figure comes with its
 * baseline measured in the same process.
 *
 *   npm run build && node dist/src/cli/bench-store.js [events]      (prints one JSON document)
 *
 * `rawLoop()`, the raw-insert baseline, is also `mmtrace bench`'s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openTrace } from '../trace/reader.js';
import { Recorder, type WriterMode } from '../trace/recorder.js';
import type { EventSink } from '../trace/sink.js';
import { NULL_SINK } from '../trace/sink.js';
import { KINDS } from '../trace/vocab/index.js';
import { writerPragmas } from '../store/pragmas.js';

export interface StoreBenchResult {
  events: number;
  /** raw better-sqlite3: one INSERT per row, same table and pragmas, one transaction per 16384 rows */
  rawSingleRowEventsPerSec: number;
  recorderSyncEventsPerSec: number;
  recorderWorkerEventsPerSec: number | null;
  /** recorder (best mode) / raw loop; target >= 0.6 */
  recorderVsRaw: number;
  /** Trace.events() iteration of the recorded run */
  readEventsPerSec: number;
  /** synthetic simulation (~1.5 M events/s) into NULL_SINK */
  simulateAloneSec: number;
  simulateRecordSyncSec: number;
  simulateRecordWorkerSec: number | null;
  /** simulate+record / simulate alone (best mode); target <= 2 */
  recordOverhead: number;
}

const BATCH = 16384;

function freshFile(dir: string, name: string): string {
  const f = join(dir, name);
  for (const s of ['', '-wal', '-shm', '-journal']) rmSync(f + s, { force: true });
  return f;
}

/** Kind numbers for the synthetic rows: the vocabulary's, less the request boundaries the recorder pairs. */
const KIND_NUMBERS = KINDS.filter((k) => k.family !== 'request').map((k) => k.kind);

function kindOf(i: number): number {
  return KIND_NUMBERS[i % KIND_NUMBERS.length]!;
}

/** The row shape of the events table, synthetic but realistic (addresses above 2^32, a -1, blobs). */
function field(i: number, k: number): number {
  switch (k) {
    case 0: return i * 10;                          // tick
    case 1: return 1 + ((i >>> 4) % 5);             // tid
    case 2: return kindOf(i);                       // kind
    case 3: return 0x7ffd_0000_0000 + i * 4096;     // a: address
    case 4: return (i & 7) === 0 ? -1 : i & 0xffff; // b
    case 5: return (i * 2654435761) >>> 0;          // c: a hash
    default: return i & 1;                          // d
  }
}

const BLOB = new Uint8Array(64).map((_, i) => i);

export function rawLoop(file: string, n: number): number {
  const db = new Database(file);
  writerPragmas(db);
  db.exec(`CREATE TABLE events (run INTEGER NOT NULL, seq INTEGER NOT NULL, tick INTEGER NOT NULL,
    tid INTEGER NOT NULL, kind INTEGER NOT NULL, a INTEGER, b INTEGER, c INTEGER, d INTEGER, data BLOB,
    PRIMARY KEY (run, seq)) WITHOUT ROWID`);
  const st = db.prepare('INSERT INTO events (run, seq, tick, tid, kind, a, b, c, d, data) VALUES (?,?,?,?,?,?,?,?,?,?)');
  const blob = Buffer.from(BLOB);
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      st.run(1, i, field(i, 0), field(i, 1), field(i, 2), field(i, 3), field(i, 4), field(i, 5), field(i, 6),
        i % 1000 === 0 ? blob : null);
    }
  });
  const t0 = performance.now();
  for (let s = 1; s <= n; s += BATCH) tx(s, Math.min(n + 1, s + BATCH));
  const dt = performance.now() - t0;
  db.close();
  return n / (dt / 1000);
}

const HEADER = { name: 'bench', workload: 'bench', path: 'gup', seed: 1, strategy: 'random', codeVersion: 'bench' };

async function recorderLoop(file: string, n: number, writer: WriterMode): Promise<number> {
  const rec = await Recorder.open(file, { writer });
  rec.beginRun(HEADER);
  for (let t = 1; t <= 5; t++) rec.task(t, `task${t}`, false);
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    rec.event(i, field(i, 0), field(i, 1), field(i, 2), field(i, 3), field(i, 4), field(i, 5), field(i, 6),
      i % 1000 === 0 ? BLOB : undefined);
  }
  rec.finish();
  const dt = performance.now() - t0;
  rec.close();
  return n / (dt / 1000);
}

/**
 * A stand-in for the simulator: generator steps with some work each (about what a kernel-model step
 * costs), yielding stamped events into the sink.
 */
function* steps(n: number, work: number): Generator<number> {
  let x = 0x12345678;
  for (let i = 1; i <= n; i++) {
    for (let k = 0; k < work; k++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + k;
    yield x;
  }
}

function simulate(sink: EventSink, n: number, work: number): number {
  let seq = 0;
  let acc = 0;
  for (const x of steps(n, work)) {
    seq++;
    acc ^= x;
    sink.event(seq, seq * 10, 1 + ((x >>> 8) % 5), kindOf(seq), 0x7ffd_0000_0000 + seq * 4096, x & 0xffff, x >>> 0, seq & 1,
      seq % 1000 === 0 ? BLOB : undefined);
  }
  return acc;
}

async function simulateRecord(file: string, n: number, work: number, writer: WriterMode): Promise<number> {
  const t0 = performance.now();
  const rec = await Recorder.open(file, { writer });
  rec.beginRun(HEADER);
  for (let t = 1; t <= 5; t++) rec.task(t, `task${t}`, false);
  simulate(rec, n, work);
  rec.finish();
  rec.close();
  return (performance.now() - t0) / 1000;
}

/** Calibrate the synthetic simulation to about `rate` events/s alone. */
function calibrate(rate: number): number {
  let work = 40;
  for (let round = 0; round < 6; round++) {
    const n = 200_000;
    const t0 = performance.now();
    simulate(NULL_SINK, n, work);
    const r = n / ((performance.now() - t0) / 1000);
    work = Math.max(1, Math.round(work * (r / rate)));
  }
  return work;
}

export async function benchStore(n = 2_000_000, opts: { worker?: boolean } = {}): Promise<StoreBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mmtrace-bench-'));
  try {
    const useWorker = opts.worker ?? true;
    const raw = Math.max(rawLoop(freshFile(dir, 'raw.db'), n), rawLoop(freshFile(dir, 'raw.db'), n));
    const sync = await recorderLoop(freshFile(dir, 'sync.db'), n, 'sync');
    const worker = useWorker ? await recorderLoop(freshFile(dir, 'worker.db'), n, 'worker') : null;
    const trace = await openTrace(join(dir, 'sync.db'));
    const r0 = performance.now();
    let count = 0;
    for (const row of trace.events(1)) count += row[0] > 0 ? 1 : 0;
    const read = count / ((performance.now() - r0) / 1000);
    trace.close();

    const work = calibrate(1_500_000);
    simulate(NULL_SINK, n / 4, work); // warm
    const t0 = performance.now();
    simulate(NULL_SINK, n, work);
    const alone = (performance.now() - t0) / 1000;
    const recSync = await simulateRecord(freshFile(dir, 'sim-sync.db'), n, work, 'sync');
    const recWorker = useWorker ? await simulateRecord(freshFile(dir, 'sim-worker.db'), n, work, 'worker') : null;
    const best = Math.max(sync, worker ?? 0);
    return {
      events: n,
      rawSingleRowEventsPerSec: Math.round(raw),
      recorderSyncEventsPerSec: Math.round(sync),
      recorderWorkerEventsPerSec: worker === null ? null : Math.round(worker),
      recorderVsRaw: +(best / raw).toFixed(2),
      readEventsPerSec: Math.round(read),
      simulateAloneSec: +alone.toFixed(3),
      simulateRecordSyncSec: +recSync.toFixed(3),
      simulateRecordWorkerSec: recWorker === null ? null : +recWorker.toFixed(3),
      recordOverhead: +(Math.min(recSync, recWorker ?? Infinity) / alone).toFixed(2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 2_000_000);
  console.log(JSON.stringify(await benchStore(n), null, 2));
}
