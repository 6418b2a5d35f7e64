/**
 * The write side of the `runs` table: a run's header row is inserted when it starts recording and
 * updated when it ends; the batches of its events are written by the recorder's batch writer.
 */
import type { Insertable } from 'kysely';
import { errors } from '../errors.js';
import { FORMAT_CHUNKS } from './chunk.js';
import { all, exec, first, qb, type Db } from './db.js';
import type { RunsTable, StoredStatus } from './schema.js';

export type NewRun = Omit<Insertable<RunsTable>, 'id' | 'status' | 'events' | 'final_hash' | 'writer_pid' | 'error' | 'format'>;

/** How a run ended, as its row records it. */
export interface RunEnd {
  status: Exclude<StoredStatus, 'recording'>;
  events: number;
  finalHash: string;
  error: string | null;
}

/**
 * A replacement records under a name no run can be given ('#' is refused in run names), so the run
 * it replaces stays whole, listed and readable until the new one completes; completeRun() then
 * swaps them in one transaction. A replacement that fails or is killed leaves the old run as it was.
 */
const REPLACING = '#replacing:';

/** The name a replacement of `name` records under, in process `pid`. */
export function replacementName(name: string, pid: number): string {
  return `${name}${REPLACING}${pid}`;
}

/** The run name a replacement stands in for, or null for an ordinary run. */
export function replacedName(name: string): string | null {
  const at = name.indexOf(REPLACING);
  return at < 0 ? null : name.slice(0, at);
}

/** The inserted run, and the run it will replace when it completes (null: none). */
export interface InsertedRun {
  id: number;
  replaces: number | null;
}

/** The id of the run of this name, if there is one. */
export function runNamed(db: Db, name: string): number | undefined {
  return first(db, qb.selectFrom('runs').select('id').where('name', '=', name))?.id;
}

/**
 * Insert a run with status 'recording' for this process, in its own transaction. A run of the same
 * name is refused (ERUN_EXISTS) unless `replace` is set; then the new run records beside it under
 * a replacement name, and the old one is deleted only when the new one completes.
 */
export function insertRun(db: Db, file: string, run: NewRun, replace: boolean): InsertedRun {
  return db.transaction(() => {
    dropAbandonedReplacements(db, run.name);
    const existing = runNamed(db, run.name);
    if (existing !== undefined && !replace) throw errors.runExists(file, run.name);
    const name = existing !== undefined ? replacementName(run.name, process.pid) : run.name;
    const r = exec(db, qb.insertInto('runs').values({
      ...run, name, status: 'recording', events: 0, final_hash: null, writer_pid: process.pid, error: null, format: FORMAT_CHUNKS,
    }));
    return { id: Number(r.lastInsertRowid), replaces: existing ?? null };
  })();
}

/**
 * Delete earlier replacements of `name` that will never complete: failed ones, and ones whose
 * recording process is gone. One still recording in a live process is left to finish.
 */
function dropAbandonedReplacements(db: Db, name: string): void {
  for (const r of all(db, qb.selectFrom('runs').select(['id', 'name', 'status', 'writer_pid']))) {
    if (replacedName(r.name) !== name) continue;
    const stillRecording = r.status === 'recording' && r.writer_pid !== process.pid && processAlive(r.writer_pid);
    if (!stillRecording) deleteRun(db, r.id);
  }
}

export function endRun(db: Db, id: number, end: RunEnd): void {
  exec(db, qb.updateTable('runs').set({
    status: end.status, events: end.events, final_hash: end.finalHash, error: end.error,
  }).where('id', '=', id));
}

/**
 * End a run; a completed replacement takes the place of the run it replaces, in the same
 * transaction, so the file always holds one whole run of that name.
 */
export function completeRun(db: Db, run: InsertedRun, name: string, end: RunEnd): void {
  db.transaction(() => {
    endRun(db, run.id, end);
    if (run.replaces === null || end.status === 'failed') return;
    deleteRun(db, run.replaces);
    exec(db, qb.updateTable('runs').set({ name }).where('id', '=', run.id));
  })();
}

/** Is a process with this pid alive (on this machine)? */
export function processAlive(pid: number | null): boolean {
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete a run and everything recorded for it. */
export function deleteRun(db: Db, id: number): void {
  db.transaction(() => {
    for (const table of ['event_rows', 'chunks', 'chunk_kinds', 'event_data', 'names', 'tasks', 'batches', 'requests', 'snapshots', 'request_log'] as const) {
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
