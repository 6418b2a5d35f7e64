/**
 * Snapshots carry the model version they were written with. A snapshot of another version, or one
 * that does not decode, is never read as a model: replay folds from the first event instead and
 * prints the same state, with a warning on stderr.
 */
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFromKernel } from '../src/replay/live.js';
import { encodeSnapshot, MODEL_VERSION, SNAPSHOT_EVERY } from '../src/replay/snapshot.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { project } from '../src/replay/projection.js';
import { toDoc } from '../src/replay/doc.js';
import { openTrace } from '../src/trace/reader.js';
import { decodeSegment } from '../src/trace/request-segment.js';
import { encodeVersion1 } from './helpers/request-piece-v1.js';
import { findWorkload, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import { mmtrace as cli, tempDir } from './helpers/cli.js';

const dir = tempDir();

function recordWithSnapshots(name: string): string {
  const file = join(dir, `${name}.db`);
  // Enough events for several snapshots (one every SNAPSHOT_EVERY events).
  const r = cli(['record', 'cmdline-poll', '--param', 'reads=300', '--param', 'iterations=100', `--out=${file}`]);
  expect(r.status, r.stderr).toBe(0);
  return file;
}

function rewriteSnapshots(file: string, rewrite: (blob: Buffer) => Buffer): number {
  const db = new Database(file);
  const rows = db.prepare('SELECT run, seq, data FROM snapshots').all() as { run: number; seq: number; data: Buffer }[];
  const set = db.prepare('UPDATE snapshots SET data = ? WHERE run = ? AND seq = ?');
  db.transaction(() => {
    for (const r of rows) set.run(rewrite(r.data), r.run, r.seq);
  })();
  db.close();
  return rows.length;
}

/** The last of the snapshots taken every SNAPSHOT_EVERY events (the run's last event has one too). */
function lastPeriodicSnapshotSeq(file: string): number {
  const db = new Database(file, { readonly: true });
  const seq = (db.prepare('SELECT max(seq) AS s FROM snapshots WHERE seq % ? = 0').get(SNAPSHOT_EVERY) as { s: number }).s;
  db.close();
  return seq;
}

describe('versioned snapshots', () => {
  const good = recordWithSnapshots('good');
  const at = lastPeriodicSnapshotSeq(good) + 5;

  function replayAt(file: string) {
    return cli(['replay', `${file}#gup`, `--until=${at}`, '--json']);
  }

  it('are written with the model version', () => {
    const db = new Database(good, { readonly: true });
    const blob = (db.prepare('SELECT data FROM snapshots LIMIT 1').get() as { data: Buffer }).data;
    db.close();
    expect((new Packr().unpack(blob) as { modelVersion: number }).modelVersion).toBe(MODEL_VERSION);
  });

  it('of another model version are not read: replay folds from the first event and says so', () => {
    const expected = replayAt(good);
    expect(expected.status).toBe(0);
    expect(expected.stderr).not.toMatch(/not used/);
    const other = recordWithSnapshots('other-version');
    const packr = new Packr();
    const n = rewriteSnapshots(other, (blob) => {
      const wire = packr.unpack(blob) as Record<string, unknown>;
      // A model of another shape: its tasks would be misread if the version were not checked.
      return packr.pack({ ...wire, modelVersion: MODEL_VERSION + 1, tasks: [{ tid: 'not a task' }] });
    });
    expect(n).toBeGreaterThan(1);
    const r = replayAt(other);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`model version ${MODEL_VERSION + 1}.*folded from the first event`));
    expect(JSON.parse(r.stdout).state).toEqual(JSON.parse(expected.stdout).state);
  });

  it('that do not decode are not read either', () => {
    const expected = replayAt(good);
    const broken = recordWithSnapshots('broken');
    rewriteSnapshots(broken, () => Buffer.from([0xc1, 0xff, 0x00]));
    const r = replayAt(broken);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/does not decode/);
    expect(JSON.parse(r.stdout).state).toEqual(JSON.parse(expected.stdout).state);
  });
});

describe('snapshot size', () => {
  it('does not grow with the requests the run has completed, nor with idle spinlocks', () => {
    const w = findWorkload('cmdline-poll')!;
    const sizes: number[] = [];
    runWorkload({
      workload: w, params: resolveParams(w, { reads: '40', iterations: '5' }), path: 'gup', variant: [], seed: 3,
      strategy: new RandomStrategy(3), sink: { event() {}, name() {}, task() {} }, snapshotEvery: 997,
      onSnapshot: (_seq, sim) => {
        const m = modelFromKernel(sim);
        const before = encodeSnapshot(m).length;
        // a thousand more completed requests in the log: the same state otherwise
        for (let i = 0; i < 1000; i++) {
          m.requests.begin(1, 10_000 + i, 'read', 0x1000 * i, 4096);
          m.requests.end(1, 10_000 + i, 4096, i);
          // the lock of a page table freed long ago: nobody holds or waits for it
          m.spins.set(1_000_000 + i, { lock: 1_000_000 + i, class: 'ptl', owner: null, waiters: [] });
        }
        sizes.push(before, encodeSnapshot(m).length);
      },
    });
    expect(sizes.length).toBeGreaterThan(4);
    for (let i = 0; i < sizes.length; i += 2) expect(sizes[i + 1]).toBe(sizes[i]);
  });

  it('stored while recording leaves the log to its pieces, which rebuild it as the events fold it', async () => {
    // scale: requests that span snapshots, so pieces hold open requests and late results too
    const file = join(dir, 'log-in-pieces.db');
    const rec = cli(['record', 'scale', '--param', 'iterations=60', `--out=${file}`]);
    expect(rec.status, rec.stderr).toBe(0);
    const db = new Database(file, { readonly: true });
    const blobs = (db.prepare('SELECT data FROM snapshots ORDER BY seq').all() as { data: Buffer }[]).map((r) => new Packr().unpack(r.data));
    const pieces = (db.prepare('SELECT seq, data FROM request_log ORDER BY seq').all() as { seq: number; data: Buffer }[]);
    db.close();
    expect(blobs.length).toBeGreaterThan(1);
    for (const wire of blobs) expect(wire).not.toHaveProperty('requests');
    expect(pieces.map((p) => p.seq)).toEqual(blobs.map((b) => b.seq));
    // every request is in exactly one piece: together they are as long as the log, not longer
    const decoded = pieces.map((p) => decodeSegment(p.data));
    const begun = decoded.reduce((n, p) => n + p.begun.length, 0);
    expect(decoded.some((p) => p.begun.some((r) => r.result === null))).toBe(true);
    expect(decoded.some((p) => p.late.length > 0)).toBe(true);
    const trace = await openTrace(file);
    try {
      const run = trace.resolveRun('gup');
      const last = pieces.at(-1)!.seq;
      expect(begun).toBe(trace.requests(run.id).filter((r) => r.firstSeq <= last).length);
      // the log at a snapshot with requests open, and at the last (every late result filled in)
      const atOpen = pieces.filter((_, i) => decoded[i]!.begun.some((r) => r.result === null));
      for (const { seq } of [atOpen[0]!, pieces.at(-1)!]) {
        const folded = project(trace, run, seq, { useSnapshots: false }).model.requests;
        expect(trace.requestLog(run.id, seq)!.toWire(), `the log at event ${seq}`).toEqual(folded.toWire());
      }
      // no piece at that event: no log (the snapshot is then not used)
      expect(trace.requestLog(run.id, last + 1)).toBeUndefined();
    } finally {
      trace.close();
    }
  });

  it('of a file recorded before the request log pieces were version 2 still read: replay prints the same', () => {
    const file = join(dir, 'pieces-v1.db');
    const rec = cli(['record', 'scale', '--param', 'iterations=60', `--out=${file}`]);
    expect(rec.status, rec.stderr).toBe(0);
    const db = new Database(file, { readonly: true });
    // the last piece written with a periodic snapshot, so that `last + 5` folds past a piece
    const last = (db.prepare('SELECT max(seq) AS seq FROM request_log WHERE seq % ? = 0').get(SNAPSHOT_EVERY) as { seq: number }).seq;
    db.close();
    const untils = ['end', String(last), String(last + 5)];
    const before = untils.map((until) => cli(['replay', file, '--until', until, '--requests', 'all', '--json']));
    const db2 = new Database(file);
    const rows = db2.prepare('SELECT run, seq, data FROM request_log').all() as { run: number; seq: number; data: Buffer }[];
    const set = db2.prepare('UPDATE request_log SET data = ? WHERE run = ? AND seq = ?');
    db2.transaction(() => {
      for (const r of rows) set.run(encodeVersion1(decodeSegment(r.data)), r.run, r.seq);
    })();
    db2.close();
    untils.forEach((until, i) => {
      const after = cli(['replay', file, '--until', until, '--requests', 'all', '--json']);
      expect(after.status, after.stderr).toBe(0);
      expect(after.stderr, 'the snapshot is used, not folded past').toBe(before[i]!.stderr);
      expect(after.stdout, `replay --until ${until}`).toBe(before[i]!.stdout);
    });
  });
});

describe("the snapshot of a run's last event", () => {
  it('is taken when a run ends between periodic ones, and the end projects from it as folding from event 0 does', async () => {
    const file = recordWithSnapshots('end');
    const t = await openTrace(file);
    try {
      const run = t.resolveRun('gup');
      expect(run.events % SNAPSHOT_EVERY).not.toBe(0);
      const end = project(t, run, run.events);
      expect([end.fromSnapshot, end.folded, end.snapshotIgnored]).toEqual([run.events, 0, null]);
      const folded = project(t, run, run.events, { useSnapshots: false });
      expect(folded.folded).toBe(run.events);
      expect(toDoc(end.model)).toEqual(toDoc(folded.model));
    } finally {
      t.close();
    }
  });
});
