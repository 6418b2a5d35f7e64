/** Run the built CLI (npm test builds dist/ first) in a child process. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function mmtrace(args: string[], opts: { cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mmtraceJson<T = any>(args: string[]): T {
  const r = mmtrace([...args, '--json']);
  if (r.status !== 0) throw new Error(`mmtrace ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Start the CLI without waiting (for kill tests). */
export function mmtraceAsync(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mmtrace-test-'));
}
