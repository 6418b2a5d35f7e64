/**
 * scripts/perf/sim-ab.mjs, the A/B measurement docs/performance.md points to: it loads two builds
 * into one process and alternates their simulations. Here both are this build (dist/), with tiny
 * runs: it prints a line a pair and then the medians (what the timings say is a bench's matter, not
 * a test's), and refuses bad arguments with one line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'scripts', 'perf', 'sim-ab.mjs');

function run(args: string[]) {
  return spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('scripts/perf/sim-ab.mjs', () => {
  test('alternates two builds and prints each pair and the medians', () => {
    const r = run(['.', ROOT, '3', '20000']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (let i = 0; i < 3; i++) expect(lines[i]).toMatch(new RegExp(`^pair ${i + 1}: A \\d+\\.\\d ns/event, B \\d+\\.\\d ns/event$`));
    const m = /^median: A (\d+\.\d) ns\/event, B (\d+\.\d) ns\/event; B's speed over A's, median of the pairs: (\d+\.\d{3})$/.exec(lines[3]!);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeGreaterThan(0);
  }, 60_000);

  test.each([[[]], [['.']], [['.', '.', 'two']], [['.', '.', '2', '0']]])('refuses %j with one line and exit 2', (args) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
