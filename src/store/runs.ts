/**
 * The write side of the `runs` table: a run's header row is inserted when it starts recording and
 * updated when it ends; the batches of its events are written by the recorder's batch writer.
 */
import type { Insertable } from 'kysely';
import { errors } from '../errors.js';
import { exec, first, qb, type Db } from './db.js';
import type { RunsTable, StoredStatus } from './schema.js';

export type NewRun = Omit<Insertable<RunsTable>, 'id' | 'status' | 'events' | 'final_hash' | 'writer_pid' | 'error'>;

/** How a run ended, as its row records it. */
export interface RunEnd {
  status: Exclude<StoredStatus, 'recording'>;
  events: number;
  finalHash: string;
  error: string | null;
}

/**
 * Insert a run with status 'recording' for this process, in its own transaction; returns its id.
 * A run of the same name is replaced when `replace` is set, else refused (ERUN_EXISTS).
 */
export function insertRun(db: Db, file: string, run: NewRun, replace: boolean): number {
  return db.transaction(() => {
    const existing = first(db, qb.selectFrom('runs').select('id').where('name', '=', run.name));
    if (existing) {
      if (!replace) throw errors.runExists(file, run.name);
      deleteRun(db, existing.id);
    }
    const r = exec(db, qb.insertInto('runs').values({
      ...run, status: 'recording', events: 0, final_hash: null, writer_pid: process.pid, error: null,
    }));
    return Number(r.lastInsertRowid);
  })();
}

export function endRun(db: Db, id: number, end: RunEnd): void {
  exec(db, qb.updateTable('runs').set({
    status: end.status, events: end.events, final_hash: end.finalHash, error: end.error,
  }).where('id', '=', id));
}

/** Delete a run and everything recorded for it. */
export function deleteRun(db: Db, id: number): void {
  db.transaction(() => {
    for (const table of ['events', 'names', 'tasks', 'batches', 'requests', 'snapshots'] as const) {
      exec(db, qb.deleteFrom(table).where('run', '=', id));
    }
    exec(db, qb.deleteFrom('runs').where('id', '=', id));
  })();
}

/**
 * Leave the file in rollback-journal mode at rest, so read-only readers need no -wal/-shm files.
 * Another connection may still hold it in WAL mode: then it stays so, which is fine.
 */
export function settle(db: Db): void {
  try {
    db.pragma('journal_mode = DELETE');
  } catch {
    /* another connection has it open */
  }
}
