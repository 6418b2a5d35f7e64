/**
 * The build's one-file kysely (scripts/bundle-kysely.mjs, dist/vendor/kysely.cjs): the built store
 * loads it rather than the package's some 280 files, and it is the installed kysely's code.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const require = createRequire(import.meta.url);
const installed = require('kysely') as Record<string, unknown>;
const installedVersion = (JSON.parse(readFileSync(join(require.resolve('kysely'), '../../../package.json'), 'utf8')) as { version: string }).version;

describe('kysely in one file', () => {
  it('is bundled from the installed kysely, with every value the package exports', () => {
    const bundled = require(join(ROOT, 'dist/vendor/kysely.cjs')) as Record<string, unknown>;
    expect(bundled['BUNDLED_KYSELY_VERSION']).toBe(installedVersion);
    expect(Object.keys(bundled).filter((k) => k !== 'BUNDLED_KYSELY_VERSION').sort()).toEqual(Object.keys(installed).sort());
  });

  it('is what the built store loads, not the package', async () => {
    const bundled = require(join(ROOT, 'dist/vendor/kysely.cjs')) as Record<string, unknown>;
    const store = await import(pathToFileURL(join(ROOT, 'dist/src/store/kysely.js')).href) as Record<string, unknown>;
    expect(store['Kysely']).toBe(bundled['Kysely']);
    expect(store['Kysely']).not.toBe(installed['Kysely']);
  });
});
