/**
 * Make a trace file look as if other code had recorded it: edit an event where it is stored (a
 * chunk is decoded, changed and encoded again), then recompute the hash chain the recorder stored
 * at every batch boundary, so the log is self-consistent again. (`replay --verify` checks that this
 * code reproduces the run as recorded; a row edited without its hashes is not a different recording.)
 */
import Database from 'better-sqlite3';
import { decodeChunk, encodeChunk, makeBlock, type StoredChunk, type StoredKindFrame } from '../../src/store/chunk.js';
import { HASH_SEED, chain, eventHash } from '../../src/trace/hash.js';

/** The numbers of an event as the store keeps them. */
export interface EventNumbers {
  tick: number;
  tid: number;
  kind: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

const FIELDS = ['tick', 'tid', 'kind', 'a', 'b', 'c', 'd'] as const;

/** Change the numbers of event `seq` of `run` in its chunk (written in the compact format). */
export function editEvent(db: Database.Database, run: number, seq: number, edit: (e: EventNumbers) => void): void {
  const c = db.prepare('SELECT * FROM chunks WHERE run = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1').get(run, seq) as StoredChunk & { first_seq: number };
  if (!c || seq >= c.first_seq + c.count) throw new Error(`no event ${seq} in run ${run}`);
  const frames = db.prepare('SELECT kind, a_base, a_w, b_base, b_w, c_base, c_w, d_base, d_w FROM chunk_kinds WHERE run = ? AND first_seq = ?')
    .raw(true).all(run, c.first_seq) as StoredKindFrame[];
  const block = makeBlock(c.count);
  decodeChunk(c, frames, 0, c.count - 1, block, 0);
  const rows = new Float64Array(c.count * 8);
  for (let i = 0; i < c.count; i++) {
    const e: EventNumbers = { tick: block.tick[i]!, tid: block.tid[i]!, kind: block.kind[i]!, a: block.a[i]!, b: block.b[i]!, c: block.c[i]!, d: block.d[i]! };
    if (c.first_seq + i === seq) edit(e);
    rows[i * 8] = c.first_seq + i;
    FIELDS.forEach((f, j) => { rows[i * 8 + 1 + j] = e[f]; });
  }
  const n = encodeChunk(rows, 8, 0, c.count);
  db.transaction(() => {
    db.prepare(`UPDATE chunks SET tick_base = ?, tick_w = ?, tid_base = ?, tid_w = ?, off_w = ?, ticks = ?, tids = ?, kinds = ?, offs = ?, recs = ?
      WHERE run = ? AND first_seq = ?`).run(n.tickBase, n.tickW, n.tidBase, n.tidW, n.offW, n.ticks, n.tids, n.kindBytes, n.offs, n.recs, run, c.first_seq);
    db.prepare('DELETE FROM chunk_kinds WHERE run = ? AND first_seq = ?').run(run, c.first_seq);
    const ins = db.prepare('INSERT INTO chunk_kinds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const f of n.kinds) ins.run(run, c.first_seq, f.kind, f.base[0], f.width[0], f.base[1], f.width[1], f.base[2], f.width[2], f.base[3], f.width[3]);
  })();
}

/** Replace the blob of event `seq` of `run`. */
export function editEventData(db: Database.Database, run: number, seq: number, data: Buffer): void {
  if (db.prepare('UPDATE event_data SET data = ? WHERE run = ? AND seq = ?').run(data, run, seq).changes !== 1) {
    throw new Error(`event ${seq} of run ${run} has no blob`);
  }
}

export function rehashLog(file: string, run = 1): void {
  const db = new Database(file);
  // decoded here as the reader does, chunk by chunk: the SQL views decode some 30-140 µs an event
  const chunks = db.prepare('SELECT * FROM chunks WHERE run = ? ORDER BY first_seq').all(run) as (StoredChunk & { first_seq: number })[];
  const framesOf = db.prepare('SELECT kind, a_base, a_w, b_base, b_w, c_base, c_w, d_base, d_w FROM chunk_kinds WHERE run = ? AND first_seq = ?').raw(true);
  const blobs = new Map((db.prepare('SELECT seq, data FROM event_data WHERE run = ?').raw().all(run) as [number, Buffer][]));
  const boundaries = new Set((db.prepare('SELECT last_seq FROM batches WHERE run = ?').raw().all(run) as number[][]).map((r) => r[0]));
  const set = db.prepare('UPDATE batches SET hash = ? WHERE run = ? AND last_seq = ?');
  let h = HASH_SEED;
  db.transaction(() => {
    for (const c of chunks) {
      const block = makeBlock(c.count);
      decodeChunk(c, framesOf.all(run, c.first_seq) as StoredKindFrame[], 0, c.count - 1, block, 0);
      for (let i = 0; i < c.count; i++) {
        const seq = c.first_seq + i;
        h = chain(h, eventHash(seq, block.tick[i]!, block.tid[i]!, block.kind[i]!, block.a[i]!, block.b[i]!, block.c[i]!, block.d[i]!, blobs.get(seq)));
        if (boundaries.has(seq)) set.run(h, run, seq);
      }
    }
  })();
  db.close();
}
