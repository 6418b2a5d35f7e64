/**
 * `mmtrace bench`: performance figures, each beside its baseline measured in the same process
 * (absolute times on shared machines are noisy; ratios are what the targets are about).
 *
 *   simEventsPerSec       the scale workload simulated into a sink that keeps nothing
 *   recordEventsPerSec    the same run simulated and recorded into a SQLite trace
 *   recordOverhead        simEventsPerSec / recordEventsPerSec (target <= 2)
 *   bytesPerEvent         trace file size / events
 *   rawInsertEventsPerSec a raw better-sqlite3 loop inserting rows of the same shape, one INSERT per
 *                         row in 16384-row transactions: the baseline (target: record >= 0.6 of it)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawLoop } from '../store/bench.js';
import { RandomStrategy } from '../sim/strategy.js';
import { Recorder } from '../trace/recorder.js';
import { type EventSink, NULL_SINK } from '../trace/sink.js';
import { findWorkload, resolveParams } from '../workloads/index.js';
import { runWorkload } from '../workloads/runner.js';
import { printJson, println } from './output.js';
import { usage } from './record.js';

/** The scale workload's parameters for roughly `events` events (about 2000 per iteration). */
function scaleParams(events: number): Record<string, string> {
  const iterations = Math.max(10, Math.round(events / 2000));
  return { iterations: String(iterations), reads: String(iterations * 2) };
}

function simulate(sink: EventSink, events: number): { events: number; seconds: number } {
  const w = findWorkload('scale')!;
  const params = resolveParams(w, scaleParams(events));
  const t0 = performance.now();
  const r = runWorkload({ workload: w, params, path: 'gup', variant: [], seed: 1, strategy: new RandomStrategy(1), sink });
  return { events: r.events, seconds: (performance.now() - t0) / 1000 };
}

function fileBytes(file: string): number {
  let total = 0;
  for (const s of ['', '-wal']) {
    try {
      total += statSync(file + s).size;
    } catch {
      // no WAL left after the checkpoint on close
    }
  }
  return total;
}

export interface BenchFigures {
  events: number;
  simEventsPerSec: number;
  recordEventsPerSec: number;
  recordOverhead: number;
  bytesPerEvent: number;
  rawInsertEventsPerSec: number;
  recordVsRawInsert: number;
}

export async function runBench(events: number): Promise<BenchFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'mmtrace-bench-'));
  try {
    simulate(NULL_SINK, Math.min(events, 200_000)); // warm the JIT
    const alone = simulate(NULL_SINK, events);
    const file = join(dir, 'record.db');
    const rec = await Recorder.open(file);
    const t0 = performance.now();
    rec.beginRun({ name: 'bench', workload: 'scale', path: 'gup', seed: 1, strategy: 'random', codeVersion: 'bench' });
    const w = findWorkload('scale')!;
    const r = runWorkload({
      workload: w, params: resolveParams(w, scaleParams(events)), path: 'gup', variant: [], seed: 1,
      strategy: new RandomStrategy(1), sink: rec,
    });
    rec.finish('complete');
    const recordSeconds = (performance.now() - t0) / 1000;
    rec.close();
    const raw = rawLoop(join(dir, 'raw.db'), r.events);
    const simEventsPerSec = alone.events / alone.seconds;
    const recordEventsPerSec = r.events / recordSeconds;
    return {
      events: r.events,
      simEventsPerSec: Math.round(simEventsPerSec),
      recordEventsPerSec: Math.round(recordEventsPerSec),
      recordOverhead: +(simEventsPerSec / recordEventsPerSec).toFixed(2),
      bytesPerEvent: +(fileBytes(file) / r.events).toFixed(1),
      rawInsertEventsPerSec: Math.round(raw),
      recordVsRawInsert: +(recordEventsPerSec / raw).toFixed(2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCommand(o: { events: string; json?: boolean }): Promise<void> {
  const events = Number(o.events);
  if (!Number.isInteger(events) || events < 10_000) throw usage(`--events must be an integer >= 10000, got '${o.events}'`);
  process.stderr.write(`mmtrace bench: ~${events} events per measured run...\n`);
  const f = await runBench(events);
  if (o.json) {
    printJson(f);
    return;
  }
  println(`events per run            ${f.events}`);
  println(`simulate alone            ${f.simEventsPerSec} events/s`);
  println(`simulate + record         ${f.recordEventsPerSec} events/s   (overhead ${f.recordOverhead}x, target <= 2)`);
  println(`raw better-sqlite3 insert ${f.rawInsertEventsPerSec} events/s   (record/raw ${f.recordVsRawInsert}, target >= 0.6)`);
  println(`bytes per event on disk   ${f.bytesPerEvent}`);
}
