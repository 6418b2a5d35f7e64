/** Connection settings: of every writing connection (the recorder's and its writer worker's), and of readers. */
import type Database from 'better-sqlite3';

export interface WriterPragmaOptions {
  /** Test hook: PRAGMA max_page_count, to provoke SQLITE_FULL. */
  maxPageCount?: number;
}

export function writerPragmas(db: Database.Database, opts: WriterPragmaOptions = {}): void {
  db.pragma('busy_timeout = 10000');
  // WAL: readers (a browser watching a recording) never block the writer. synchronous=OFF: no fsync
  // at all. A committed transaction is in the WAL file as soon as the commit returns, so a killed
  // recorder keeps every committed batch; an OS crash or power loss can cost the last commits, or
  // leave the file corrupt (SQLite's documentation of synchronous=OFF). A trace is re-recordable
  // from its header, so that trade is worth ~8% of recording speed.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  // Checkpoint every ~8 MB of WAL (SQLite's default is 4 MB): the B-tree's right edge is rewritten
  // by every batch, and checkpointing it less often made recording ~10% faster while the batches
  // were written on the simulation's thread. The writer worker now pays for checkpoints beside the
  // simulation, and what is left in the WAL is checkpointed at the end, in the recording's time:
  // at 40 MB (10000 pages) that last one took 27-29 ms of a 10.5M-event recording, at 8 MB 7 ms,
  // with no more CPU over the whole recording (docs/performance.md).
  db.pragma('wal_autocheckpoint = 2000');
  db.pragma('cache_size = -32768');
  db.pragma('temp_store = MEMORY');
  if (opts.maxPageCount !== undefined) db.pragma(`max_page_count = ${Math.trunc(opts.maxPageCount)}`);
}

/**
 * The most of a file a reading connection maps into memory. Mapped, a page is read where the
 * kernel's page cache holds it; otherwise SQLite copies every page through its own 2 MB cache with
 * a pread() each (a chunk's blob spans about 14 pages), which made the first read of a 1M-event
 * run about a fifth slower (reading both runs of a 28 MB file, fresh processes: 330 ms, 270 mapped).
 * Pages of the file a reader touches count in its resident set while it runs (the kernel can drop
 * them, as it can any page cache), so the mapping is bounded: a browser on an 8 GB trace stays
 * within its memory budget, reading beyond the first 64 MB as before.
 */
export const READER_MMAP_BYTES = 64 * 1024 * 1024;

/**
 * Settings of a read-only connection. Mapping is safe here: SQLite maps the file read-only and never
 * writes through the map, and nothing in mmtrace shrinks a trace file (it never vacuums; a run
 * replaced is deleted row by row), which is what would fault a reader whose map covers the end.
 */
export function readerPragmas(db: Database.Database): void {
  db.pragma('busy_timeout = 10000');
  db.pragma(`mmap_size = ${READER_MMAP_BYTES}`);
}
