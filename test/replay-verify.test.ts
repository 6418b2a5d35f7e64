/**
 * `replay --verify` (issue: replay): re-execution is checked against the recorded hash chain at
 * every batch boundary, and the first differing event is named exactly, with both versions.
 */
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { reexecute } from '../src/replay/reexec.js';
import { openTrace } from '../src/trace/reader.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { editEvent, rehashLog } from './helpers/tamper.js';

const dir = tempDir();
const original = join(dir, 'run.db');

beforeAll(() => {
  // ~60k events: several 16384-event batches.
  const r = mmtrace(['record', 'scale', '--param', 'iterations=30', '--param', 'reads=60', `--out=${original}`]);
  expect(r.status).toBe(0);
});

function copy(name: string): string {
  const f = join(dir, name);
  copyFileSync(original, f);
  return f;
}

async function verify(file: string) {
  const trace = await openTrace(file);
  try {
    const run = trace.listRuns()[0]!;
    return { run, result: reexecute(trace, run, run.events, { verify: true }) };
  } finally {
    trace.close();
  }
}

/** Rewrite the log as if other code had recorded it: change one event, recompute the hash chain. */
function rewriteEvent(file: string, seq: number, field: 'a' | 'b' | 'c' | 'd', delta: number): void {
  const db = new Database(file);
  editEvent(db, 1, seq, (e) => { e[field] += delta; });
  db.close();
  rehashLog(file);
}

describe('replay --verify', () => {
  test('a run recorded by this code verifies, every event', async () => {
    const { run, result } = await verify(original);
    expect(run.events).toBeGreaterThan(3 * 16384);
    expect(result.divergence).toBeNull();
    expect(result.events).toBe(run.events);
    expect(result.model).not.toBeNull();
  });

  test('a log that other code recorded diverges at exactly the changed event, both versions shown', async () => {
    const file = copy('changed.db');
    const db = new Database(file, { readonly: true });
    // An event in the middle of the third batch that has an address-like field.
    const target = db.prepare("SELECT seq, b FROM events WHERE kind = (SELECT kind FROM kinds WHERE name = 'pgtable_set') AND seq > 40000 ORDER BY seq LIMIT 1").get() as { seq: number; b: number };
    db.close();
    rewriteEvent(file, target.seq, 'b', 4096);
    const { result } = await verify(file);
    expect(result.divergence).not.toBeNull();
    const dv = result.divergence!;
    expect(dv.seq).toBe(target.seq);
    expect(dv.recorded![5]).toBe(target.b + 4096);
    expect(dv.replayed![5]).toBe(target.b);
    expect(result.events).toBe(target.seq - 1);

    const cli = mmtrace(['replay', file, '--verify', '--until=end']);
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`diverges from the log at event ${target.seq}`));
    expect(cli.stdout).toMatch(/recorded: .*pgtable_set/);
    expect(cli.stdout).toMatch(/replayed: .*pgtable_set/);
  });

  test('a damaged batch hash is reported as such', async () => {
    const file = copy('damaged.db');
    const db = new Database(file);
    const second = db.prepare('SELECT last_seq FROM batches ORDER BY last_seq LIMIT 1 OFFSET 1').get() as { last_seq: number };
    db.prepare('UPDATE batches SET hash = (hash + 1) % 4294967296 WHERE last_seq = ?').run(second.last_seq);
    db.close();
    const { result } = await verify(file);
    expect(result.divergence!.seq).toBe(second.last_seq);
    expect(result.divergence!.message).toMatch(/stored hash of the batch ending at event/);
  });

  test('a schedule that cannot be followed is named at its event', async () => {
    const file = copy('schedule.db');
    const db = new Database(file);
    // Decisions are the tids of the events with tid != 0, in order (the chunks hold them once):
    // make the 100th a task that does not exist.
    const seq = (db.prepare('SELECT seq FROM events WHERE tid != 0 ORDER BY seq LIMIT 1 OFFSET 99').get() as { seq: number }).seq;
    editEvent(db, 1, seq, (e) => { e.tid = 99; });
    db.close();
    const { result } = await verify(file);
    expect(result.divergence!.seq).toBe(seq);
    expect(result.divergence!.message).toMatch(/recorded schedule runs .* not runnable/);
  });
});
