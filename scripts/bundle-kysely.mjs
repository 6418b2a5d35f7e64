/**
 * Build step (npm run build, after tsc): kysely's CommonJS build bundled into one file,
 * dist/vendor/kysely.cjs, which src/store/kysely.ts loads instead of the package when it is there.
 *
 * Why: kysely is some 280 files, and Node resolves, reads and compiles each on its own. That was
 * ~120 ms of CPU in every mmtrace process that opens a trace file (most commands, and each worker
 * thread of review and explore); the same code in one file loads in ~30 ms. Only kysely is bundled:
 * mmtrace's own modules stay files, since path and workload modules import them and must share their
 * instances.
 */
import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const entry = require.resolve('kysely'); // its CommonJS index, dist/cjs/index.js
const version = JSON.parse(readFileSync(join(entry, '../../../package.json'), 'utf8')).version;
const outfile = fileURLToPath(new URL('../dist/vendor/kysely.cjs', import.meta.url));

buildSync({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile,
  logLevel: 'warning',
  // the version it was made from: src/store/kysely.ts loads the package itself when they differ
  footer: { js: `module.exports.BUNDLED_KYSELY_VERSION = ${JSON.stringify(version)};` },
  legalComments: 'inline',
});
