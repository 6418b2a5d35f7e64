/**
 * A better-sqlite3 built for another Node version is named as such, with the fix, and not taken
 * for an unwritable or corrupt file. The native load failure is simulated with Node's own message
 * (Node 24 loading a module built for Node 20).
 */
import { expect, test, vi } from 'vitest';

vi.mock('better-sqlite3', () => ({
  default: class {
    constructor() {
      const e = new Error(
        "The module '/x/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
          'was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\n' +
          'NODE_MODULE_VERSION 137. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).',
      );
      throw Object.assign(e, { code: 'ERR_DLOPEN_FAILED' });
    }
  },
}));

test('a native module built for another Node: ENATIVE, saying which versions and how to fix it', async () => {
  const { openForWrite } = await import('../src/store/db.js');
  const { MmtraceError } = await import('../src/errors.js');
  const { tempDir } = await import('./helpers/cli.js');
  const error = await openForWrite(`${tempDir()}/t.db`).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(MmtraceError);
  expect((error as InstanceType<typeof MmtraceError>).code).toBe('ENATIVE');
  const message = (error as Error).message;
  expect(message).toMatch(/built for NODE_MODULE_VERSION 115, this Node needs 137/);
  expect(message).toMatch(/run `npm rebuild better-sqlite3`/);
  expect(message).not.toMatch(/--out|permissions/);
});
