/**
 * The SQLite batch writer on its own (writer-core.ts), below the recorder: what a batch that SQLite
 * refuses part-way leaves behind. The recorder never writes again after a failure, so only a
 * writer driven directly can show it.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Recorder } from '../src/trace/recorder.js';
import { SqliteBatchWriter, STRIDE, type BatchMeta } from '../src/trace/writer-core.js';
import { tempDir } from './helpers/cli.js';

/** A batch of `n` events from seq `first`, each opening a request; every `blobEvery`-th seq carries a one-byte blob. */
function batch(first: number, n: number, blobEvery: number): { rows: Float64Array; blob: Uint8Array; meta: BatchMeta } {
  const rows = new Float64Array(n * STRIDE);
  const blob = new Uint8Array(4096);
  let used = 0;
  const requests: number[] = [];
  for (let i = 0; i < n; i++) {
    const seq = first + i;
    rows.set([seq, seq, 1, 5, seq, 0, 0, 0, -1, 0], i * STRIDE);
    if (seq % blobEvery === 0) {
      blob[used] = seq & 255;
      rows.set([used, 1], i * STRIDE + 8);
      used++;
    }
    requests.push(seq, -1);
  }
  const meta = { count: n, names: [], tasks: [], requests, big: [], snapshots: [], requestSegments: [], lastSeq: first + n - 1 };
  return { rows, blob, meta };
}

describe('the batch writer', () => {
  it('keeps nothing of a batch SQLite refused part-way: the next batch holds its own rows only', async () => {
    const file = join(tempDir(), 'refused.db');
    (await Recorder.open(file, { writer: 'sync' })).close(); // a trace file with every table
    const db = new Database(file);
    try {
      // Blobs go 32 rows to an INSERT: seqs 1..32 in a full one, then 33..50, which seq 40 aborts.
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON event_data WHEN NEW.seq = 40 BEGIN SELECT RAISE(ABORT, 'refused'); END`);
      const writer = new SqliteBatchWriter(db);
      writer.beginRun(1);
      const refused = batch(1, 50, 1);
      expect(() => writer.write(refused.rows, refused.blob, refused.meta)).toThrow(/refused/);
      expect(db.prepare('SELECT count(*) AS n FROM event_data').get()).toEqual({ n: 0 });
      db.exec('DROP TRIGGER refuse');
      const next = batch(51, 50, 5);
      writer.write(next.rows, next.blob, next.meta);
      const seqs = db.prepare('SELECT seq FROM event_data ORDER BY seq').pluck().all();
      expect(seqs).toEqual([55, 60, 65, 70, 75, 80, 85, 90, 95, 100]);
      expect(db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual({ n: 50 });
    } finally {
      db.close();
    }
  });
});
