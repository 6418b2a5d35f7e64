/** Run the built CLI (npm test builds dist/ first) in a child process. */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Bad input's answer: exit 2, nothing on stdout, one line on stderr that matches `message`. */
export function expectRefusal(r: { status: number | null; stdout: string; stderr: string }, message: RegExp): void {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
}

export function mmtrace(args: string[], opts: { cwd?: string } = {}): CliResult {
  // A large diff --json passes spawnSync's default 1 MiB buffer (Node 24 then gives no stdout at all).
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 28 });
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

/** Batches committed to a trace file so far (0 while it does not exist yet). */
export function committedBatches(file: string): number {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

/** Start `mmtrace record WORKLOAD --out=FILE`, wait for `batches` committed batches, kill -9 it. */
export async function recordAndKill(workload: string, file: string, batches: number): Promise<void> {
  const child = mmtraceAsync(['record', workload, `--out=${file}`]);
  const exited = new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 60_000;
  while (committedBatches(file) < batches && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  child.kill('SIGKILL');
  await exited;
}
