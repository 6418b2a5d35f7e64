/**
 * The storage migrations, in order. Keys sort in application order (kysely's Migrator runs them by
 * name); each migration sets meta.schema_version to its number. Append only.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_snapshots.js';
import * as m0003 from './0003_codes.js';
import * as m0004 from './0004_modules.js';
import * as m0005 from './0005_request_log.js';
import * as m0006 from './0006_chunks.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_snapshots': m0002,
  '0003_codes': m0003,
  '0004_modules': m0004,
  '0005_request_log': m0005,
  '0006_chunks': m0006,
};

/** The storage schema version this code writes and understands: the number of the last migration. */
export const STORE_SCHEMA_VERSION = Object.keys(MIGRATIONS).length;
