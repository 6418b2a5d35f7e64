/**
 * `record --replace` never loses the run it replaces before the new one is complete: the new run
 * records beside it under a replacement name, and the two swap in one transaction at the end. A
 * replacement that is killed, or runs out of disk, leaves the old run whole.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MmtraceError } from '../src/errors.js';
import { openTrace } from '../src/trace/reader.js';
import { Recorder, type RunHeader } from '../src/trace/recorder.js';
import { emit } from '../src/trace/vocab/index.js';
import { mmtrace, mmtraceAsync, mmtraceJson, tempDir } from './helpers/cli.js';
import { recordUntilDiskFull } from './helpers/disk-full.js';
import { stamp } from './helpers/rows.js';

interface ListedRun {
  id: number;
  name: string;
  status: string;
  events: number;
  finalHash: string;
}

function runs(file: string): ListedRun[] {
  return mmtraceJson<{ runs: ListedRun[] }>(['list', file]).runs;
}

/** Batches the run being recorded (status 'recording') has committed so far. */
function replacementBatches(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare(`SELECT count(*) AS n FROM batches WHERE run IN (SELECT id FROM runs WHERE status = 'recording')`).get() as { n: number };
    return row.n;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

const BIG = ['--param', 'reads=400', '--param', 'iterations=400'];

describe('record --replace', () => {
  test('killed while replacing: the old run is still there, whole; the next --replace completes', async () => {
    const file = join(tempDir(), 'poll.db');
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=2', `--out=${file}`]).status).toBe(0);
    const [before] = runs(file);
    expect(before).toMatchObject({ name: 'gup', status: 'complete' });

    const child = mmtraceAsync(['record', 'cmdline-poll', ...BIG, `--out=${file}`, '--replace']);
    const exited = new Promise((r) => child.on('exit', r));
    const deadline = Date.now() + 60_000;
    while (replacementBatches(file) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(replacementBatches(file)).toBeGreaterThanOrEqual(2);
    child.kill('SIGKILL');
    await exited;

    // The old run is listed as it was; the killed replacement is an incomplete run of its own.
    const after = runs(file);
    expect(after.find((r) => r.name === 'gup')).toEqual(before);
    const leftover = after.find((r) => r.name !== 'gup')!;
    expect(leftover.name).toMatch(/^gup#replacing:\d+$/);
    expect(leftover.status).toBe('incomplete');
    // The old run still replays to its last event.
    const replay = mmtraceJson(['replay', `${file}#gup`]);
    expect(replay.events).toBe(before!.events);

    // Replacing again completes: one run named gup, the new one, and no leftover.
    const r = mmtraceJson(['record', 'cmdline-poll', '--param', 'reads=3', `--out=${file}`, '--replace']);
    expect(r.runs[0].status).toBe('complete');
    const final = runs(file);
    expect(final.map((x) => x.name)).toEqual(['gup']);
    expect(final[0]!.events).toBe(r.runs[0].events);
    expect(final[0]!.events).not.toBe(before!.events);
  });

  test('disk full while replacing: the old run is kept, and the message says so', async () => {
    const file = join(tempDir(), 'full.db');
    const header = (name: string): RunHeader => ({
      name, workload: 'scripted', params: {}, path: 'gup', variant: [], seed: 1, strategy: 'random',
      config: {}, codeVersion: 'test',
    });
    const small = await Recorder.open(file, { writer: 'sync' });
    small.beginRun(header('gup'));
    small.task(1, 'monitor', false);
    small.event(...stamp(1, 10, 1, emit.rcu_read_lock({ nesting: 1 })));
    const kept = small.finish();
    small.close();

    // A small page limit: the replacement runs out of room part way.
    const err = await recordUntilDiskFull(file, header('gup'), { replace: true });
    expect(err).toBeInstanceOf(MmtraceError);
    expect((err as MmtraceError).code).toBe('EDISKFULL');
    expect((err as Error).message).toContain("run 'gup' as it was before --replace is kept");

    const t = await openTrace(file);
    const gup = t.resolveRun('gup');
    expect(gup).toMatchObject({ id: kept.id, status: 'complete', events: 1, finalHash: kept.finalHash });
    t.close();
  });
});
