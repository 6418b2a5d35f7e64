/**
 * Storage schema 1: runs, their events and the side tables a run needs to be read back without the
 * code that wrote it (names, tasks, batches with hash chain and scheduler decisions, the event
 * vocabulary itself in `kinds`).
 *
 * The events table is WITHOUT ROWID with primary key (run, seq): one B-tree, appended in key order,
 * no second index to maintain while recording (measured faster than a rowid table plus its
 * (run, seq) unique index). Numbers are stored as INTEGER (column affinity turns the bound doubles
 * into integers).
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID`.execute(db);

  await sql`CREATE TABLE runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    workload       TEXT NOT NULL,
    params         TEXT NOT NULL DEFAULT '{}',
    path           TEXT NOT NULL,
    variant        TEXT NOT NULL DEFAULT '[]',
    seed           INTEGER NOT NULL,
    strategy       TEXT NOT NULL,
    config         TEXT NOT NULL DEFAULT '{}',
    code_version   TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'failed')),
    events         INTEGER NOT NULL DEFAULT 0,
    final_hash     TEXT,
    writer_pid     INTEGER,
    error          TEXT
  )`.execute(db);

  await sql`CREATE TABLE events (
    run  INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    tick INTEGER NOT NULL,
    tid  INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    a    INTEGER,
    b    INTEGER,
    c    INTEGER,
    d    INTEGER,
    data BLOB,
    PRIMARY KEY (run, seq)
  ) WITHOUT ROWID`.execute(db);

  await sql`CREATE TABLE names (
    run  INTEGER NOT NULL,
    id   INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (run, id)
  ) WITHOUT ROWID`.execute(db);

  await sql`CREATE TABLE tasks (
    run    INTEGER NOT NULL,
    tid    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    daemon INTEGER NOT NULL,
    PRIMARY KEY (run, tid)
  ) WITHOUT ROWID`.execute(db);

  // One row per committed batch: seq of its last event, its event count, the hash chain value after
  // that event, and the scheduler decisions of the batch as (tid, count) uint32 LE pairs.
  await sql`CREATE TABLE batches (
    run       INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    events    INTEGER NOT NULL,
    hash      INTEGER NOT NULL,
    decisions BLOB NOT NULL,
    PRIMARY KEY (run, last_seq)
  )`.execute(db);

  // The event vocabulary the file was written with (filled from src/trace/events.ts KINDS).
  await sql`CREATE TABLE kinds (
    kind   INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    family TEXT NOT NULL,
    a      TEXT,
    b      TEXT,
    c      TEXT,
    d      TEXT,
    names  TEXT NOT NULL DEFAULT '[]',
    blob   TEXT NOT NULL DEFAULT 'none'
  )`.execute(db);

  // Request pairing (request_begin .. request_end of the same task and req), built when a run finishes.
  await sql`CREATE TABLE requests (
    run       INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER,
    PRIMARY KEY (run, first_seq)
  ) WITHOUT ROWID`.execute(db);

  await sql`INSERT INTO meta (key, value) VALUES ('schema_version', '1')`.execute(db);
}
