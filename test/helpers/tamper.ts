/**
 * Make a trace file look as if other code had recorded it: after editing event rows, recompute the
 * hash chain the recorder stored at every batch boundary, so the log is self-consistent again.
 * (`replay --verify` checks that this code reproduces the run as recorded; a row edited without
 * its hashes is not a different recording.)
 */
import Database from 'better-sqlite3';
import { HASH_SEED, chain, eventHash } from '../../src/trace/hash.js';

export function rehashLog(file: string, run = 1): void {
  const db = new Database(file);
  const rows = db.prepare('SELECT seq, tick, tid, kind, a, b, c, d, data FROM events WHERE run = ? ORDER BY seq').raw().all(run) as any[];
  const boundaries = new Set((db.prepare('SELECT last_seq FROM batches WHERE run = ?').raw().all(run) as number[][]).map((r) => r[0]));
  const set = db.prepare('UPDATE batches SET hash = ? WHERE run = ? AND last_seq = ?');
  let h = HASH_SEED;
  db.transaction(() => {
    for (const [seq, tick, tid, kind, a, b, c, d, data] of rows) {
      h = chain(h, eventHash(seq, tick, tid, kind, a, b, c, d, data ?? undefined));
      if (boundaries.has(seq)) set.run(h, run, seq);
    }
  })();
  db.close();
}
