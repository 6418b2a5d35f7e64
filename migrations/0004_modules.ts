/**
 * Runs of workload and path modules loaded from a file: `runs.modules` holds, for each module the
 * run loaded, its absolute path and the SHA-256 of its source (a JSON object), so re-execution
 * loads the same file again and refuses one that is missing or changed. `{}` for built-ins.
 */
import type { Kysely } from 'kysely';
import { sql } from '../src/store/kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE runs ADD COLUMN modules TEXT NOT NULL DEFAULT '{}'`.execute(db);
  await sql`UPDATE meta SET value = '4' WHERE key = 'schema_version'`.execute(db);
}
