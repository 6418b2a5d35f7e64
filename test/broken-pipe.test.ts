/**
 * Output piped into a reader that stops early (`| head`) ends quietly: no error or stack trace on stderr, and
 * the command's own exit code (not 1 from an unhandled EPIPE, which diff uses for "different").
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from './helpers/cli.js';

/** A copy of 0.1.0's fixture: opening a file of an older storage schema migrates it. */
const FIXTURE = join(tempDir(), 'v0.1.0-cross-vma-race.db');
copyFileSync(join(ROOT, 'test/fixtures/v0.1.0-cross-vma-race.db'), FIXTURE);

/** Run `mmtrace ARGS | head -c 0` in bash (head exits at once, before the first write); the CLI's stderr and exit status. */
function intoHead(args: string): { stderr: string; status: number } {
  const script = `node ${CLI} ${args} | head -c 0; echo "status=\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const m = /status=(\d+)\n$/.exec(r.stderr);
  return { stderr: r.stderr.replace(/status=\d+\n$/, ''), status: m ? Number(m[1]) : -1 };
}

describe('output piped into head', () => {
  it.each([
    ['workloads', 0],
    ['workloads --json', 0],
    [`list ${FIXTURE}`, 0],
    [`replay ${FIXTURE}#gup`, 0],
    [`replay ${FIXTURE}#gup --json`, 0],
    [`diff ${FIXTURE}#gup ${FIXTURE}#fast`, 1],
    [`diff ${FIXTURE}#gup ${FIXTURE}#fast --json`, 1],
  ])('mmtrace %s | head ends quietly with its own exit code', (args, status) => {
    const r = intoHead(args);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.status).toBe(status);
  });
});
