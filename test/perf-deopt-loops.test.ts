/**
 * scripts/perf/deopt-loops.mjs, which docs/performance.md uses to find functions V8 deoptimizes
 * again and again: a full survey takes minutes, so here what it refuses (one line, exit 2), and
 * one workload's child run, whose trace the survey reads.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { expectRefusal, ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'scripts', 'perf', 'deopt-loops.mjs');

function run(args: string[], nodeFlags: string[] = []) {
  return spawnSync(process.execPath, [...nodeFlags, SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('scripts/perf/deopt-loops.mjs', () => {
  test.each([
    ['an unknown option', ['--rounds=3'], /unknown option --rounds=3/],
    ['a count that is not a positive integer', ['--events=many'], /--events takes a positive integer, not many/],
    ['a zero threshold', ['--min=0'], /--min takes a positive integer, not 0/],
    ['two builds', ['.', '/tmp'], /one build at a time/],
    ['a directory without a build', ['/nonexistent-build'], /\/nonexistent-build has no built dist\//],
  ])('refuses %s with one line and exit 2', (_what, args, message) => {
    expectRefusal(run(args), message);
  });

  test('a child run simulates the workload under --trace-deopt, whose bailouts the survey counts', () => {
    const r = run(['--child', '.', 'vma-merge', '20000'], ['--trace-deopt']);
    expect(r.status).toBe(0);
    // every workload run long enough deoptimizes something once (a branch first taken late)
    expect(r.stdout).toMatch(/bailout \(kind: [^,]+, reason: [^)]*\): begin\. deoptimizing \S+ <JSFunction [^>]*>.*bytecode offset \d+/);
  });
});
