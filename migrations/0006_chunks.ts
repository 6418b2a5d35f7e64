/**
 * The compact event format (src/store/chunk.ts): a run's events in chunks of a few thousand, each
 * number frame-of-reference encoded. New runs are written so (`runs.format` 2); the rows of runs
 * recorded before stay as they were, in `event_rows` (`runs.format` 1), and the `events` view
 * (src/store/chunk-sql.ts) shows the events of both, so SQL over `events` reads every run.
 * (Kept in SQLite's default page size: measured, 64 KiB pages did not make the SQL decoder faster.)
 *
 *  chunks       one row per chunk: run, first_seq, count, how many of its events have a blob, the
 *               tick and tid frames, the width of a record offset, and the five encoded columns
 *  chunk_kinds  per chunk and kind present: the base and byte width of each slot a..d
 *  event_data   the blobs of events (rare), by seq
 *  chunk_bytes  one row: the bytes C0..FF then 00, where SQL looks up a byte unicode() cannot read
 *  chunk_ords   0 .. CHUNK_EVENTS - 1: the index of an event within its chunk, for the view to join
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

/** CHUNK_EVENTS of src/store/chunk.ts, as this migration fixed it (a migration never changes). */
const CHUNK_EVENTS = 4096;

export async function up(db: Kysely<any>): Promise<void> {
  // The views name `events`; they are made again from the kinds table after migrating.
  const views = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'view'`.execute(db);
  for (const v of views.rows) await sql`DROP VIEW ${sql.id(v.name)}`.execute(db);
  await sql`ALTER TABLE events RENAME TO event_rows`.execute(db);
  await sql`ALTER TABLE runs ADD COLUMN format INTEGER NOT NULL DEFAULT 1`.execute(db);
  await sql`CREATE TABLE chunks (
    run       INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    blobs     INTEGER NOT NULL,
    tick_base INTEGER NOT NULL,
    tick_w    INTEGER NOT NULL,
    tid_base  INTEGER NOT NULL,
    tid_w     INTEGER NOT NULL,
    off_w     INTEGER NOT NULL,
    ticks     BLOB NOT NULL,
    tids      BLOB NOT NULL,
    kinds     BLOB NOT NULL,
    offs      BLOB NOT NULL,
    recs      BLOB NOT NULL,
    PRIMARY KEY (run, first_seq)
  )`.execute(db);
  await sql`CREATE TABLE chunk_kinds (
    run       INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    kind      INTEGER NOT NULL,
    a_base INTEGER NOT NULL, a_w INTEGER NOT NULL,
    b_base INTEGER NOT NULL, b_w INTEGER NOT NULL,
    c_base INTEGER NOT NULL, c_w INTEGER NOT NULL,
    d_base INTEGER NOT NULL, d_w INTEGER NOT NULL,
    PRIMARY KEY (run, first_seq, kind)
  ) WITHOUT ROWID`.execute(db);
  await sql`CREATE TABLE event_data (
    run  INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run, seq)
  )`.execute(db);
  await sql`CREATE TABLE chunk_bytes (x BLOB NOT NULL)`.execute(db);
  const all = Buffer.from([...Array.from({ length: 64 }, (_, i) => 0xc0 + i), 0]);
  await sql`INSERT INTO chunk_bytes (x) VALUES (${all})`.execute(db);
  await sql`CREATE TABLE chunk_ords (i INTEGER PRIMARY KEY)`.execute(db);
  await sql`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${CHUNK_EVENTS})
    INSERT INTO chunk_ords (i) SELECT i FROM n`.execute(db);
  await sql`UPDATE meta SET value = '6' WHERE key = 'schema_version'`.execute(db);
}
