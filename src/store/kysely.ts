/**
 * kysely's values (the query builder, the migrator, `sql`), loaded from its CommonJS build. Its ES
 * module build is some 260 files, and Node resolves and links every ES module file on its own: that
 * was a third of what an `mmtrace` process spent starting, in every command that opens a trace file.
 * The CommonJS build is the same code, loaded with less work per file. Everything in mmtrace takes
 * kysely's values from here; types still come from 'kysely' itself.
 */
import { createRequire } from 'node:module';
import type * as KyselyModule from 'kysely';

const kysely = createRequire(import.meta.url)('kysely') as typeof KyselyModule;

export const {
  DEFAULT_MIGRATION_TABLE, DummyDriver, Kysely, Migrator, SqliteAdapter, SqliteDialect, SqliteIntrospector, SqliteQueryCompiler, sql,
} = kysely;
