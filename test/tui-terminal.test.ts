/**
 * `mmtrace tui` gives the terminal back however it ends: on q, and on an error that comes while the
 * browser runs (a followed run replaced under it, a file damaged under it). runTui is driven on a
 * terminal in memory, so what it wrote last and the raw mode it left can be read back.
 */
import Database from 'better-sqlite3';
import { copyFileSync, truncateSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/errors.js';
import { openTrace } from '../src/trace/reader.js';
import { runTui } from '../tui/main.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { Keyboard } from './helpers/keyboard.js';

const ALT_SCREEN_OFF = '\x1b[?1049l';

class Screen extends EventEmitter {
  readonly isTTY = true;
  columns = 80;
  rows = 24;
  text = '';
  write = (chunk: string, cb?: () => void): boolean => {
    this.text += chunk;
    this.emit('wrote');
    cb?.();
    return true;
  };
}

let dir: string;
let recorded: string;

beforeAll(() => {
  dir = tempDir();
  recorded = join(dir, 'sw.db');
  expect(mmtrace(['record', 'stuck-writer', '--path=gup', `--out=${recorded}`]).status).toBe(0);
});

/** Open the run view on a copy of the recording; resolves once it reads keys (raw mode on). */
async function openCopy(name: string, opts: { follow?: boolean } = {}) {
  const file = join(dir, name);
  copyFileSync(recorded, file);
  const screen = new Screen();
  const keyboard = new Keyboard();
  const done = runTui([`${file}#gup`], { ...opts, pollMs: 10, stdout: screen as never, stdin: keyboard as never });
  const outcome = done.then(() => null, (e: unknown) => e);
  while (!keyboard.raw) await new Promise((r) => setTimeout(r, 10));
  return { file, screen, keyboard, outcome };
}

describe('the terminal after mmtrace tui', () => {
  it('is given back on q: the alternate screen left, raw mode off', async () => {
    const { screen, keyboard, outcome } = await openCopy('quit.db');
    expect(keyboard.raw).toBe(true);
    keyboard.type('q');
    expect(await outcome).toBeNull();
    expect(screen.text.endsWith(ALT_SCREEN_OFF)).toBe(true);
    expect(keyboard.raw).toBe(false);
  });

  it('is given back when the followed run is replaced, and the error is one line', async () => {
    const { file, screen, keyboard, outcome } = await openCopy('replaced.db', { follow: true });
    // what `record --replace` does at its end: the old run goes, the new one takes its name
    const db = new Database(file);
    db.prepare('UPDATE runs SET id = id + 100').run();
    db.close();
    const error = await outcome;
    expect(describeError(error)).toEqual({ message: expect.stringMatching(/#gup: the run was deleted or replaced/), exitCode: 2 });
    expect(screen.text.endsWith(ALT_SCREEN_OFF)).toBe(true);
    expect(keyboard.raw).toBe(false);
  });

  it('is given back when a key reads a file damaged under the browser', async () => {
    const { file, screen, keyboard, outcome } = await openCopy('damaged.db');
    truncateSync(file, 4096);
    keyboard.type('G');
    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect(screen.text.endsWith(ALT_SCREEN_OFF)).toBe(true);
    expect(keyboard.raw).toBe(false);
  });
});

describe('the terminal before the diff view', () => {
  it('shows the diff\'s progress, over both runs\' events, and ends it before the screen is taken', async () => {
    const screen = new Screen();
    const keyboard = new Keyboard();
    const bars: { label: string; total: number; values: number[]; stoppedWhenWritten: number | null }[] = [];
    const progress = (label: string, total: number) => {
      const bar = { label, total, values: [] as number[], stoppedWhenWritten: null as number | null };
      bars.push(bar);
      return { update: (v: number) => bar.values.push(v), stop: () => (bar.stoppedWhenWritten = screen.text.length) };
    };
    const done = runTui([`${recorded}#gup`, `${recorded}#gup`], { stdout: screen as never, stdin: keyboard as never, progress });
    while (!keyboard.raw) await new Promise((r) => setTimeout(r, 10));
    keyboard.type('q');
    await done;
    const trace = await openTrace(recorded);
    const events = trace.resolveRun('gup').events;
    trace.close();
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatchObject({ label: 'diff', total: 2 * events, stoppedWhenWritten: 0 });
    expect(bars[0]!.values.at(-1)).toBe(2 * events);
    expect(screen.text).toContain('EQUIVALENT');
  });
});
