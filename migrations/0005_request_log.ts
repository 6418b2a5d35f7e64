/**
 * The request log beside the snapshots: one row per snapshot, holding the requests that ended since
 * the run's previous snapshot and those still open at this one (what their request_begin and
 * request_end say, and their first seqs). Replay rebuilds a run's request log up to a snapshot from
 * these rows, so a snapshot no longer carries the whole log, which grows with the run.
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE TABLE request_log (
    run INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run, seq)
  ) WITHOUT ROWID`.execute(db);
  await sql`UPDATE meta SET value = '5' WHERE key = 'schema_version'`.execute(db);
}
