/** Connection settings of every writing connection (the recorder's and its writer worker's). */
import type Database from 'better-sqlite3';

export interface WriterPragmaOptions {
  /** Test hook: PRAGMA max_page_count, to provoke SQLITE_FULL. */
  maxPageCount?: number;
}

export function writerPragmas(db: Database.Database, opts: WriterPragmaOptions = {}): void {
  db.pragma('busy_timeout = 10000');
  // WAL: readers (a browser watching a recording) never block the writer. synchronous=OFF: no fsync
  // at all. A committed transaction is in the WAL file as soon as the commit returns, so a killed
  // recorder keeps every committed batch; only an OS crash or power loss can cost the last commits
  // (a trace is re-recordable from its header, so that trade is worth ~8% of recording speed).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // checkpoint every ~40 MB of WAL instead of 4 MB: the B-tree's right edge is rewritten by every
  // batch, and checkpointing it less often measured ~10% faster recording
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('cache_size = -32768');
  db.pragma('temp_store = MEMORY');
  if (opts.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.trunc(opts.maxPageCount)}`);
}
