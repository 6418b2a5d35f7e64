/**
 * scripts/perf/ir-steady.mjs, the instruction count docs/performance.md quotes: its runs under
 * cachegrind take minutes, so here only what it refuses, each with one line and exit 2 (what the
 * counts say is a measurement's matter, not a test's).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { expectRefusal, ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'scripts', 'perf', 'ir-steady.mjs');

function run(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env });
}

describe('scripts/perf/ir-steady.mjs', () => {
  test.each([
    ['no build named', [], /usage: node scripts\/perf\/ir-steady\.mjs DIR/],
    ['a directory without a build', ['/nonexistent-build'], /\/nonexistent-build has no built dist\//],
  ])('refuses %s with one line and exit 2', (_what, args, message) => {
    expectRefusal(run(args), message);
  });

  test('refuses to run without valgrind, before counting anything', () => {
    const r = run(['.'], { ...process.env, PATH: '/nonexistent-bin' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('ir-steady: valgrind is not installed (apt-get install valgrind)');
  });
});
