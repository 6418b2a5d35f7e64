/**
 * The request log in the `requests` table: each row also holds what its request_begin and
 * request_end say (task, request number, op, address, length, result, data hash), so replay reads a
 * run's request log in one query instead of keeping a copy of it in every snapshot. Rows of runs
 * recorded before this migration have NULL there; their snapshots are of an older model version,
 * which replay ignores, so it never reads those columns.
 */
import { type Kysely, sql } from 'kysely';

const COLUMNS = ['tid', 'req', 'op TEXT', 'addr', 'len', 'result', 'hash'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const column of COLUMNS) {
    const [name, type = 'INTEGER'] = column.split(' ');
    await sql.raw(`ALTER TABLE requests ADD COLUMN ${name} ${type}`).execute(db);
  }
  await sql`UPDATE meta SET value = '5' WHERE key = 'schema_version'`.execute(db);
}
