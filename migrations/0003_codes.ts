/**
 * The coded values of the vocabulary, in the file: `codes` holds each enum's and flag set's names
 * (rwsem_modes, pt_levels, lru_lists, page_flags ...), and `kinds.types` each field's type, so the
 * views can show a code's name and an address in hex next to the stored integer.
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE kinds ADD COLUMN types TEXT NOT NULL DEFAULT '[]'`.execute(db);
  await sql`CREATE TABLE codes (
    tbl  TEXT NOT NULL,
    code INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tbl, code)
  ) WITHOUT ROWID`.execute(db);
  await sql`UPDATE meta SET value = '3' WHERE key = 'schema_version'`.execute(db);
}
