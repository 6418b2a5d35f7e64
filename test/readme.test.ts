/**
 * The README's commands run as printed, in order, in a fresh clone, as a new user would type them
 * after the quick start. `npm install` and `npm test` are what CI itself runs around this suite,
 * so the clone borrows this checkout's node_modules and build instead of installing again, and
 * `npm test` is not run from inside the tests.
 *
 * The first `npx mmtrace` in a directory installs that project into npm's npx cache, which runs its
 * `prepare` script: tsc, building dist/ again (about 25 s of CPU, a sixth of this file). The clone
 * has this checkout's build already, so the commands run with npm's ignore-scripts set; npx still
 * resolves and links `mmtrace` as it does for a user, only without the second build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';

/** Every command line of the README's ```sh blocks, in order, without comments. */
function readmeCommands(): string[] {
  const commands: string[] = [];
  let inShell = false;
  for (const line of readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n')) {
    if (line.startsWith('```')) {
      inShell = !inShell && line.trim() === '```sh';
      continue;
    }
    const command = line.replace(/\s+#\s.*$/, '').trim();
    if (inShell && command) commands.push(command);
  }
  return commands;
}

/**
 * The output the README shows for a command: a ```sh block of that one command, then "prints" and
 * the output in a plain block (the review report). Compared whole, so the README cannot drift.
 */
function printedOutputs(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const shown = new Map<string, string>();
  for (const m of readme.matchAll(/```sh\n([^\n]*)\n```\n\nprints\n\n```\n([\s\S]*?)\n```/g)) shown.set(m[1]!, m[2]!);
  return shown;
}

/** What the test runs for a README line: the quick start's install is done already. */
function asRun(command: string): string | undefined {
  if (command === 'npm test') return undefined;
  return command.replace(/^npm install && /, '');
}

/** A command whose exit 1 is an answer, not a failure (`diff`: the runs differ; `check`, `explore`, `review`: something was found). */
function mayAnswerNo(command: string): boolean {
  return /^npx mmtrace (diff|check|explore|review) /.test(command);
}

/**
 * A `tui` line runs in a real terminal: tmux, at 80x24. It counts as run as printed when the
 * browser draws its status line, then quits on `q` with exit 0. Its output is the screen it drew.
 */
let terminals = 0;

function runInTerminal(command: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  // A server of its own per command: `kill-server` returns before the old server has gone, and a
  // new session started on the same socket then can land on the dying server and vanish with it.
  const socket = `mmtrace-readme-${process.pid}-${terminals++}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const done = join(cwd, '.tui-exit');
  const started = tmux('new-session', '-d', '-s', 'readme', '-x', '80', '-y', '24', `cd ${cwd} && env -u CI npm_config_ignore_scripts=true ${command}; echo $? > ${done}; sleep 30`);
  if (started.status !== 0) return { status: started.status, stdout: '', stderr: `tmux new-session: ${started.stderr}` };
  try {
    const screen = () => tmux('capture-pane', '-p', '-t', 'readme').stdout;
    const deadline = Date.now() + 60_000;
    while (!/\d+\/\d+ tick \d+|runs\. j\/k choose/.test(screen()) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    const drawn = screen();
    tmux('send-keys', '-t', 'readme', 'q');
    while (!existsSync(done) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    const status = existsSync(done) ? Number(readFileSync(done, 'utf8')) : null;
    rmSync(done, { force: true });
    return { status, stdout: drawn, stderr: status === 0 ? '' : drawn || '(the terminal stayed blank for 60 s)' };
  } finally {
    tmux('kill-server');
  }
}

/** The environment of a README command: the clone's dist/ is this checkout's (see the top). */
const BORROWED_BUILD = { ...process.env, npm_config_ignore_scripts: 'true' };

/** Where package.json's `bin` puts `mmtrace` in a checkout. */
const BIN = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin.mmtrace!;

/**
 * A README line as bash runs it once npx has shown that it finds `mmtrace`. npx looks for the
 * command anew on every call, loading the project's whole dependency tree (npm's arborist) to see
 * that the project's own bin is installed: about 1 s of CPU per line, the same work each time, some
 * 40 s of this file. So the first `npx mmtrace` line (and every `tui` line, in its terminal) runs
 * through npx as printed, and the lines after it run the same text with a shell function `npx` in
 * front that calls the bin npx found, the clone's, for `npx mmtrace` and npx itself for anything else.
 */
function withNpxResolved(command: string, dir: string): string {
  const bin = join(dir, BIN);
  return `npx() { if [ "$1" = mmtrace ]; then shift; ${JSON.stringify(bin)} "$@"; else command npx "$@"; fi; }\n${command}`;
}

function freshClone(): string {
  const dir = join(tempDir(), 'mmtrace');
  execFileSync('git', ['clone', '--quiet', ROOT, dir]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  // npm install makes the bin executable; a `tsc` after `rm -rf dist` writes it without the bit.
  chmodSync(join(dir, BIN), 0o755);
  return dir;
}

describe('the README', () => {
  it('shows only commands a fresh install can run as printed (npx mmtrace, not bare mmtrace)', () => {
    const commands = readmeCommands();
    expect(commands.length).toBeGreaterThan(8);
    for (const command of commands) expect(command).not.toMatch(/^mmtrace /);
  });

  it('shows the whole output of one command, the review report, to be checked as it prints', () => {
    expect([...printedOutputs().keys()]).toEqual([expect.stringMatching(/^npx mmtrace review /)]);
  });

  // About 60 s on a quiet 2-core machine; the limit leaves room for a machine busy with other work.
  it('runs every command block in order in a fresh clone, printing what the README shows', { timeout: 600_000 }, () => {
    const dir = freshClone();
    const printed = printedOutputs();
    let npxFoundMmtrace = false;
    for (const command of readmeCommands()) {
      const run = asRun(command);
      if (run === undefined) continue;
      const script = npxFoundMmtrace ? withNpxResolved(run, dir) : run;
      const r = /^npx mmtrace tui /.test(run)
        ? runInTerminal(run, dir)
        : spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: BORROWED_BUILD });
      const ok = r.status === 0 || (r.status === 1 && mayAnswerNo(command));
      expect(ok, `${command}\nexit ${r.status}\n${r.stderr}`).toBe(true);
      expect(r.stderr, command).not.toMatch(/\n\s+at /);
      if (printed.has(command)) expect(r.stdout.trimEnd(), command).toBe(printed.get(command));
      if (/^npx mmtrace /.test(run)) npxFoundMmtrace = true;
    }
  });
});
