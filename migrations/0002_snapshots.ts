/**
 * Snapshots of the emulated state (encoded replay models), taken while recording so that replay
 * reaches any event by decoding the nearest snapshot and folding a bounded number of events.
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE snapshots (
    run INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run, seq)
  ) WITHOUT ROWID`.execute(db);
  await sql`UPDATE meta SET value = '2' WHERE key = 'schema_version'`.execute(db);
}
