/**
 * Opening trace files: error mapping, pragmas, storage schema checks, kysely migrations, the kinds
 * table and the views. Everything that touches a file's schema goes through here.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Compilable, MigrationProvider, Migration } from 'kysely';
import { MIGRATIONS, STORE_SCHEMA_VERSION } from '../../migrations/index.js';
import { errors, MmtraceError } from '../errors.js';
import { rowOfLayout, type CodeTable, type KindLayout } from './layout.js';
import { DEFAULT_MIGRATION_TABLE, DummyDriver, Kysely, Migrator, SqliteAdapter, SqliteDialect, SqliteIntrospector, SqliteQueryCompiler } from './kysely.js';
import type { TraceDB } from './schema.js';
import { rebuildViews } from './views.js';
import { readerPragmas, writerPragmas, type WriterPragmaOptions } from './pragmas.js';

export { STORE_SCHEMA_VERSION };
export type Db = Database.Database;

/** A kysely instance that only builds and compiles queries; they run synchronously through `all`/`first`. */
export const qb = new Kysely<TraceDB>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

/** Run a typed kysely query synchronously on a better-sqlite3 connection. */
export function all<O>(db: Db, q: Compilable<O>): O[] {
  const c = q.compile();
  return db.prepare(c.sql).all(...(c.parameters as unknown[])) as O[];
}

export function first<O>(db: Db, q: Compilable<O>): O | undefined {
  const c = q.compile();
  return db.prepare(c.sql).get(...(c.parameters as unknown[])) as O | undefined;
}

export function exec(db: Db, q: Compilable<unknown>): Database.RunResult {
  const c = q.compile();
  return db.prepare(c.sql).run(...(c.parameters as unknown[]));
}

// --- errors ----------------------------------------------------------------------------------------

export function sqliteCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isDiskError(e: unknown): boolean {
  const c = sqliteCode(e);
  return c === 'SQLITE_FULL' || c === 'ENOSPC' || (c !== undefined && c.startsWith('SQLITE_IOERR'));
}

function isNotDb(e: unknown): boolean {
  const c = sqliteCode(e);
  return c === 'SQLITE_NOTADB' || c === 'SQLITE_CORRUPT' || (c !== undefined && c.startsWith('SQLITE_CORRUPT'));
}

/** Turn a SQLite error met while reading `file` into an MmtraceError (others pass through). */
export function readError(file: string, e: unknown): unknown {
  if (e instanceof MmtraceError) return e;
  if (isNotDb(e)) return errors.notSqlite(file, e);
  return e;
}

// --- schema checks ---------------------------------------------------------------------------------

/**
 * What a file holds: 'empty' (a new or zero-length database), 'foreign' (SQLite tables but no
 * mmtrace meta table) or the storage schema version it says.
 */
function probe(db: Db, file: string): 'empty' | 'foreign' | number {
  let tables: { name: string }[];
  try {
    tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  } catch (e) {
    throw readError(file, e);
  }
  if (tables.length === 0) return 'empty';
  if (!tables.some((t) => t.name === 'meta')) return 'foreign';
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  const v = row ? Number(row.value) : NaN;
  if (!Number.isInteger(v) || v < 1) return 'foreign';
  return v;
}

function checkVersion(file: string, v: 'empty' | 'foreign' | number, forWrite: boolean): void {
  if (v === 'foreign' || (v === 'empty' && !forWrite)) throw errors.notTrace(file);
  if (typeof v === 'number' && v > STORE_SCHEMA_VERSION) throw errors.schemaNewer(file, v, STORE_SCHEMA_VERSION);
}

/** The run recorded with the newest event schema (undefined for a file without runs). */
export function newestRunSchema(db: Db): { name: string; schema_version: number } | undefined {
  return first(db, qb.selectFrom('runs').select(['name', 'schema_version'])
    .orderBy('schema_version', 'desc').orderBy('id').limit(1));
}

/** Refuse a file holding a run recorded with a newer event schema than `known`. */
function checkRunSchemas(db: Db, file: string, known: number): void {
  let newest: { name: string; schema_version: number } | undefined;
  try {
    newest = newestRunSchema(db);
  } catch (e) {
    throw readError(file, e);
  }
  if (newest && newest.schema_version > known) throw errors.runSchemaNewer(file, newest.name, newest.schema_version, known);
}

const provider: MigrationProvider = {
  getMigrations: async (): Promise<Record<string, Migration>> => ({ ...MIGRATIONS }),
};

/**
 * Whether the file has run exactly the migrations this build lists, which is what kysely's Migrator
 * would find before doing nothing. The Migrator finds it by introspecting every table and view of
 * the file (twice: its migration table, then its lock table), and SQLite compiles each view to
 * list its columns: 40 to 60 ms per look on a file that has its views, every time a recording or a
 * review opens an existing file. Two plain queries answer the same question.
 */
function migrationsUpToDate(db: Db): boolean {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(DEFAULT_MIGRATION_TABLE);
  if (table === undefined) return false;
  const executed = (db.prepare(`SELECT name FROM "${DEFAULT_MIGRATION_TABLE}" ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
  const listed = Object.keys(MIGRATIONS).sort();
  return executed.length === listed.length && executed.every((name, i) => name === listed[i]);
}

/** Bring a writable connection's schema up to STORE_SCHEMA_VERSION (kysely Migrator). */
async function migrate(db: Db, file: string): Promise<void> {
  if (!migrationsUpToDate(db)) await runMigrator(db, file);
  const version = Number((db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value);
  db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(Math.max(version, STORE_SCHEMA_VERSION)));
}

/** Run the migrations the file has not run yet; refuse a file that ran one this build does not list. */
async function runMigrator(db: Db, file: string): Promise<void> {
  // The kysely instance wraps our connection; never destroy() it (that would close the connection).
  const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: db }) });
  const { error, results } = await new Migrator({ db: k, provider }).migrateToLatest();
  if (error) {
    if (isDiskError(error)) throw errors.diskFull(file, 0, error);
    // kysely refuses a file whose executed migrations this build does not list ("corrupted
    // migrations"): a newer or a foreign mmtrace migrated it.
    const message = String((error as Error)?.message ?? error);
    if (/corrupted migrations/i.test(message)) throw errors.unknownMigration(file, message, error);
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`${file}: schema migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`, { cause: error });
  }
}

/** Write the names of the vocabulary's coded values into the file's codes table (insert or replace). */
export function writeCodes(db: Db, tables: readonly CodeTable[]): void {
  db.transaction(() => {
    for (const t of tables) {
      for (const [code, name] of t.codes) exec(db, qb.replaceInto('codes').values({ tbl: t.table, code, name }));
    }
  })();
}

/** Write an event layout into the file's kinds table (insert or replace; kinds not in it stay). */
export function writeKinds(db: Db, layout: readonly KindLayout[]): void {
  db.transaction(() => {
    for (const k of layout) exec(db, qb.replaceInto('kinds').values(rowOfLayout(k)));
  })();
}

// --- opening ---------------------------------------------------------------------------------------

export interface WriteOpenOptions extends WriterPragmaOptions {
  /** The event layout of the writer, written into the kinds table (none: the file's stays as it is). */
  layout?: readonly KindLayout[];
  /** The names of the writer's coded values, written into the codes table. */
  codes?: readonly CodeTable[];
  /**
   * The event schema the writer records with: a file holding a run of a newer one is refused
   * (ERUN_SCHEMA_NEWER) before anything is written, since its kinds table is newer than `layout`.
   */
  eventSchema?: number;
}

/** better-sqlite3's native binding failed to load: built for another Node (NODE_MODULE_VERSION) or missing. */
function isNativeLoadError(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException;
  return err?.code === 'ERR_DLOPEN_FAILED' || /NODE_MODULE_VERSION|Could not locate the bindings file|invalid ELF header/.test(String(err?.message));
}

function openRaw(file: string, readonly: boolean): Db {
  try {
    return new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
  } catch (e) {
    if (isNativeLoadError(e)) throw errors.nativeModule((e as Error).message, e);
    if (readonly) {
      if (!existsSync(file)) throw errors.noTrace(file);
      throw readError(file, e);
    }
    throw errors.unwritable(file, (e as Error).message, e);
  }
}

/**
 * Create the missing directories above `file`, one level at a time. (Node 20's recursive mkdirSync
 * loops forever under /proc, where mkdir says ENOENT for a parent that exists.)
 */
export function ensureParentDir(file: string): void {
  const missing: string[] = [];
  for (let dir = dirname(file); !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) mkdirSync(dir);
}

/**
 * Open (creating if needed) a trace file for recording: checks, migrates, writes the kinds table and
 * the views. Throws EUNWRITABLE, ENOTSQLITE, ENOTTRACE, ESCHEMA_NEWER.
 */
export async function openForWrite(file: string, opts: WriteOpenOptions = {}): Promise<Db> {
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) throw errors.isDirectory(file);
    if (!statSync(file).isFile()) throw errors.unwritable(file, 'it is not a regular file');
  } else {
    try {
      ensureParentDir(file);
    } catch (e) {
      throw errors.unwritable(file, `cannot create its directory: ${(e as Error).message}`, e);
    }
  }
  const db = openRaw(file, false);
  try {
    const storage = probe(db, file);
    checkVersion(file, storage, true);
    if (typeof storage === 'number' && opts.eventSchema !== undefined) checkRunSchemas(db, file, opts.eventSchema);
    try {
      writerPragmas(db, opts);
    } catch (e) {
      throw errors.unwritable(file, (e as Error).message, e);
    }
    try {
      await inOneTransaction(db, async () => {
        await migrate(db, file);
        writeKinds(db, opts.layout ?? []);
        writeCodes(db, opts.codes ?? []);
        rebuildViews(db);
      });
    } catch (e) {
      if (e instanceof MmtraceError) throw e;
      const c = sqliteCode(e);
      if (c === 'SQLITE_READONLY' || c === 'SQLITE_CANTOPEN' || c === 'SQLITE_PERM' || c === 'SQLITE_AUTH') {
        throw errors.unwritable(file, (e as Error).message, e);
      }
      if (isDiskError(e)) throw errors.diskFull(file, 0, e);
      throw e;
    }
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Run `work` in one write transaction (BEGIN IMMEDIATE ... COMMIT; ROLLBACK if it throws).
 *
 * Why: kysely's SQLite adapter runs migrations without a transaction (it does not claim
 * transactional DDL), so each migration's schema and meta.schema_version would be visible to other
 * connections one by one. A reader that opens a file while its recorder is still creating it (a
 * browser started with --follow, polling for the file) would then see an older storage schema and
 * migrate the file itself, concurrently with the recorder, and one of them would fail. In one
 * transaction a reader sees an empty file (not a trace yet) or the whole schema.
 */
async function inOneTransaction(db: Db, work: () => Promise<void>): Promise<void> {
  db.exec('BEGIN IMMEDIATE');
  try {
    await work();
    db.exec('COMMIT');
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/**
 * Open a trace file for reading, read-only. An older storage schema is first migrated through a
 * writable connection. Throws ENOENT_TRACE, ENOTSQLITE, ENOTTRACE, ESCHEMA_NEWER.
 */
export async function openForRead(file: string, opts: { eventSchema?: number } = {}): Promise<Db> {
  if (!existsSync(file)) throw errors.noTrace(file);
  if (statSync(file).isDirectory()) throw errors.isDirectory(file);
  if (!statSync(file).isFile()) throw errors.notSqlite(file);
  let db = openRaw(file, true);
  try {
    const v = probe(db, file);
    checkVersion(file, v, false);
    // A run this build cannot read is refused before an older file is migrated (which writes it).
    if (typeof v === 'number' && opts.eventSchema !== undefined) checkRunSchemas(db, file, opts.eventSchema);
    if (typeof v === 'number' && v < STORE_SCHEMA_VERSION) {
      db.close();
      (await openForWrite(file)).close();
      db = openRaw(file, true);
    }
    readerPragmas(db);
    return db;
  } catch (e) {
    if (db.open) db.close();
    throw e;
  }
}
