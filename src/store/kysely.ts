/**
 * kysely's values (the query builder, the migrator, `sql`), loaded from its CommonJS build. Its ES
 * module build is some 260 files, and Node resolves and links every ES module file on its own: that
 * was a third of what an `mmtrace` process spent starting, in every command that opens a trace file.
 * The CommonJS build is the same code, loaded with less work per file; the build bundles it into one
 * file (scripts/bundle-kysely.mjs, dist/vendor/kysely.cjs), which loads in a quarter of the time
 * (~30 ms of CPU instead of ~120). Without that file (the TypeScript sources run as they are, as the
 * tests do, or a dist/ built by tsc alone), or when it was bundled from another kysely than the one
 * installed, the package itself is loaded. Everything in mmtrace takes kysely's values from here;
 * types still come from 'kysely' itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as KyselyModule from 'kysely';

const require = createRequire(import.meta.url);

function loadKysely(): typeof KyselyModule {
  const bundle = fileURLToPath(new URL('../../vendor/kysely.cjs', import.meta.url));
  if (existsSync(bundle)) {
    const bundled = require(bundle) as typeof KyselyModule & { BUNDLED_KYSELY_VERSION?: string };
    if (bundled.BUNDLED_KYSELY_VERSION === installedVersion()) return bundled;
  }
  return require('kysely') as typeof KyselyModule;
}

/** The installed kysely's version (its package.json is not among the package's exports). */
function installedVersion(): string {
  const entry = require.resolve('kysely'); // dist/cjs/index.js
  return (JSON.parse(readFileSync(join(entry, '../../../package.json'), 'utf8')) as { version: string }).version;
}

const kysely = loadKysely();

export const {
  DEFAULT_MIGRATION_TABLE, DummyDriver, Kysely, Migrator, SqliteAdapter, SqliteDialect, SqliteIntrospector, SqliteQueryCompiler, sql,
} = kysely;
