/**
 * `mmtrace tui` end to end, as a person uses it: the real command in a real terminal (tmux), keys
 * sent with send-keys and the screen read back with capture-pane, at 80x24 and at 200x50. Each
 * size opens a run, jumps with `:`, searches, follows "where did this come from" twice, runs a SQL
 * query and quits; then opens the diff view, checks that it is aligned (matched events side by side,
 * an event of one run beside a gap) and steps `]` and `j` through a divergence.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, mmtrace, tempDir } from './helpers/cli.js';

const SOCKET = `mmtrace-e2e-${process.pid}`;
let dir: string;
let file: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

const screen = (session: string) => tmux('capture-pane', '-p', '-t', session);

/** Wait until the screen satisfies `ok` (the browser draws asynchronously); fail with the screen. */
async function waitFor(session: string, ok: (s: string) => boolean, what: string): Promise<string> {
  let s = '';
  for (let i = 0; i < 200; i++) {
    s = screen(session);
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; the screen:\n${s}`);
}

/** The line the cursor is on. */
const cursorLine = (s: string) => s.split('\n').find((l) => l.startsWith('>')) ?? '';

function keys(session: string, ...k: string[]): void {
  tmux('send-keys', '-t', session, ...k);
}

/**
 * Start `mmtrace ARGS` in a detached terminal of this size; the shell reports its exit code. CI=true
 * is set on purpose: a terminal that inherited it must still get an interactive browser (ink draws
 * only the last frame under CI, and `mmtrace tui` hides the variable from it).
 */
function open(session: string, width: number, height: number, args: string[]): void {
  const command = `env CI=true NO_COLOR=1 ${process.execPath} ${CLI} ${args.join(' ')}; echo EXIT=$?; sleep 60`;
  tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), command);
}

beforeAll(() => {
  dir = tempDir();
  file = join(dir, 'sw.db');
  expect(mmtrace(['record', 'stuck-writer', '--path=gup,fast', `--out=${file}`]).status).toBe(0);
});

afterAll(() => {
  spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
});

describe.each([[80, 24], [200, 50]])('mmtrace tui in a %ix%i terminal', (width, height) => {
  it('opens a run, jumps, searches, follows where-from twice, queries, and quits cleanly', async () => {
    const s = `run${width}`;
    open(s, width, height, ['tui', `${file}#gup`]);
    let shown = await waitFor(s, (x) => cursorLine(x).includes('task_start'), 'the first frame');
    expect(shown).toContain('lanes');
    expect(shown).toContain('TASKS');
    for (const line of shown.split('\n')) expect(line.length).toBeLessThanOrEqual(width);

    keys(s, ':kind=rwsem_contended,task=monitor', 'Enter');
    shown = await waitFor(s, (x) => cursorLine(x).includes('rwsem_contended'), 'the jump');
    expect(cursorLine(shown)).toContain('monitor');
    expect(shown).toMatch(/mmap_lock\(mm \d+\) W writer/);

    keys(s, '/rwsem_release writer', 'Enter');
    shown = await waitFor(s, (x) => cursorLine(x).includes('rwsem_release'), 'the search');
    expect(cursorLine(shown)).toContain('writer');

    // where from: the mmap_lock holder in the state panel, then one step further back
    keys(s, ':kind=rwsem_contended,task=monitor', 'Enter');
    await waitFor(s, (x) => cursorLine(x).includes('rwsem_contended'), 'the jump back');
    keys(s, 'Tab');
    await waitFor(s, (x) => /(^|\s)>[ *][A-Za-z]/m.test(x), 'the state panel to take the focus');
    // one item down per key, each drawn before the next (a person looks before pressing again)
    for (let i = 0; i < 12 && !/>\*?mmap_lock\(mm \d+\) W writer/.test(screen(s)); i++) {
      const before = screen(s);
      keys(s, 'j');
      await waitFor(s, (x) => x !== before, 'the selection to move');
    }
    expect(screen(s)).toMatch(/>\*?mmap_lock\(mm \d+\) W writer/);
    keys(s, 'o');
    shown = await waitFor(s, (x) => /writer\s+rwsem_acquire .*mode=write/.test(cursorLine(x)), 'where from (1)');
    expect(shown).toContain('the acquisition');
    const first = cursorLine(shown);
    keys(s, 'o');
    shown = await waitFor(s, (x) => cursorLine(x) !== first && /sem=\d+/.test(cursorLine(x)), 'where from (2)');

    keys(s, ";select seq, kind from events_v where run = 'gup' and kind = 'rwsem_wake'", 'Enter');
    shown = await waitFor(s, (x) => /seq\s+kind/.test(x), 'the SQL result');
    keys(s, 'Enter');
    await waitFor(s, (x) => cursorLine(x).includes('rwsem_wake'), 'the jump to the row');

    keys(s, 'q');
    shown = await waitFor(s, (x) => x.includes('EXIT=0'), 'the exit');
    expect(shown).not.toContain('TASKS'); // the alternate screen is gone
  });

  it('opens the diff view aligned, and steps ] to a divergence: its event beside a gap', async () => {
    const s = `diff${width}`;
    open(s, width, height, ['tui', `${file}#gup`, `${file}#fast`]);
    let shown = await waitFor(s, (x) => /^(EQUIVALENT|DIFFERENT)/.test(x), 'the diff view');
    expect(shown).toContain('#gup');
    expect(shown).toContain('#fast');
    const half = Math.floor((width - 1) / 2);
    const columns = (line: string) => [line.slice(0, half), line.slice(half + 1)] as const;
    const event = (col: string) => /^[> ][ !~*]\s*(\d+) (?:\s*\d+ )?(\S+)\s+(\S+)/.exec(col);
    const gap = (col: string) => /^[> ] -{5,} (-{7} )?-{8}\s*$/.test(col);
    const rows = (x: string) => x.split('\n').map(columns);
    // before any divergence, every row is one event of A beside the same event of B
    const pairs = rows(shown).map(([a, b]) => [event(a), event(b)]).filter(([a, b]) => a && b);
    expect(pairs.length).toBeGreaterThan(3);
    for (const [a, b] of pairs) expect([a![2], a![3]]).toEqual([b![2], b![3]]);
    for (const line of shown.split('\n')) expect(line.length).toBeLessThanOrEqual(width);

    keys(s, ']');
    shown = await waitFor(s, (x) => /divergence 1\/\d+/.test(x), 'the first divergence');
    // the cursor's row: gup's mmap_lock_start_locking (the fast path takes no mmap_lock) beside a gap
    const [a, b] = columns(shown.split('\n').find((l) => /^>[!~ *]\s*\d+ /.test(l))!);
    expect(a).toMatch(/^>!\s*\d+ .*monitor\s+mmap_lock_start/); // cut at 80 columns
    expect(b.startsWith('>')).toBe(true);
    expect(gap(b)).toBe(true);
    // ten rows on: the fast path's own events, beside gaps in gup's column
    keys(s, 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j');
    shown = await waitFor(s, (x) => rows(x).some(([x1, x2]) => x1.startsWith('>') && gap(x1) && /^>!\s*\d+ /.test(x2)), 'a row of B only');
    expect(rows(shown).find(([x1]) => x1.startsWith('>') && gap(x1))![1]).toMatch(/monitor\s+(call_enter|call_exit|rcu_read|mas_walk|vma_)/);
    keys(s, 'C-c');
    await waitFor(s, (x) => x.includes('EXIT=0'), 'the exit on Ctrl-C');
  });
});

describe('mmtrace tui, live', () => {
  it('follows a run that is still recording (--follow), and redraws for a new terminal size', async () => {
    const live = join(dir, 'live.db');
    const s = 'follow';
    tmux('new-session', '-d', '-s', 'recorder', '-x', '80', '-y', '24',
      `${process.execPath} ${CLI} record scale --param iterations=600 --out=${live}; sleep 60`);
    for (let i = 0; i < 100 && !existsSync(live); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    open(s, 80, 24, ['tui', `${live}#gup`, '--follow']);
    const first = await waitFor(s, (x) => /(\d+)\/(\d+) tick \d+ RECORDING following/.test(x), 'a recording run, followed');
    const count = (x: string) => Number(/\d+\/(\d+) tick/.exec(x)![1]);
    const seen = count(first);
    const later = await waitFor(s, (x) => /\d+\/\d+ tick/.test(x) && count(x) > seen, 'the list to grow');
    const [, at, of] = /(\d+)\/(\d+) tick/.exec(later)!;
    expect(at).toBe(of); // the cursor stays at the end, as less +F
    await waitFor(s, (x) => /\d+\/\d+ tick \d+ following/.test(x), 'the run to complete');

    tmux('resize-window', '-t', s, '-x', '160', '-y', '40');
    const listRows = (x: string) => x.split('\n').filter((l) => /^[> ][ *!]\s*\d+\s+\d+ /.test(l));
    // 160 columns: the state panel beside the list, whose rows fill the taller terminal
    await waitFor(s, (x) => listRows(x).length > 20 && listRows(x)[0]!.trimEnd().endsWith('TASKS'), 'the side-by-side layout at 160x40');
    keys(s, 'q');
    await waitFor(s, (x) => x.includes('EXIT=0'), 'the exit');
  });
});

describe('mmtrace tui before the screen', () => {
  it('refuses a missing file, an unknown run and a stdout that is not a terminal with one line and exit 2', () => {
    for (const args of [['tui', join(dir, 'missing.db')], ['tui', `${file}#nope`], ['tui', `${file}#gup`], ['tui', '/etc/passwd']]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
