/**
 * The browser's frames reach the terminal as the lines that changed (tui/screen.ts), not as a
 * cleared screen drawn again: checked on a small model of a terminal that applies what was written,
 * for frames given directly and for the real browser driven by keys.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedLinesOnly, WHOLE_SCREEN } from '../tui/screen.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { Keyboard } from './helpers/keyboard.js';

/**
 * A terminal of `rows` x `columns` cells that understands what ink and the browser write: text,
 * newline, cursor position (ESC[r;cH, ESC[H), clear screen (ESC[2J), erase to end of line (ESC[K);
 * colours and modes (ESC[..m, ESC[?..h/l) are read and ignored.
 */
class ModelTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly grid: string[][];
  /** Everything written, in order. */
  readonly writes: string[] = [];
  private row = 0;
  private col = 0;

  constructor(readonly columns: number, readonly rows: number) {
    super();
    this.grid = Array.from({ length: rows }, () => Array<string>(columns).fill(' '));
  }

  write = (chunk: string): boolean => {
    this.writes.push(chunk);
    this.emit('wrote');
    // eslint-disable-next-line no-control-regex
    for (const [, escape, text] of chunk.matchAll(/(\x1b\[[?0-9;]*[A-Za-z])|([^\x1b]+)/g)) {
      if (escape) this.escape(escape);
      else this.text(text!);
    }
    return true;
  };

  /** The screen as lines, trailing blanks cut. */
  screen(): string[] {
    return this.grid.map((cells) => cells.join('').trimEnd());
  }

  private escape(e: string): void {
    const final = e[e.length - 1];
    const args = e.slice(2, -1);
    if (args.startsWith('?') || final === 'm') return;
    if (final === 'H') {
      const [r = 1, c = 1] = args.split(';').filter(Boolean).map(Number);
      [this.row, this.col] = [r - 1, c - 1];
    } else if (final === 'J' && args === '2') {
      for (const cells of this.grid) cells.fill(' ');
    } else if (final === 'K') {
      this.grid[this.row]?.fill(' ', this.col);
    } else if (final !== 'J') {
      throw new Error(`the model does not know ${JSON.stringify(e)}`);
    }
  }

  private text(t: string): void {
    for (const ch of t) {
      if (ch === '\n') {
        [this.row, this.col] = [this.row + 1, 0];
      } else if (this.row < this.rows && this.col < this.columns) {
        this.grid[this.row]![this.col++] = ch;
      }
    }
  }
}

const frame = (lines: string[]) => WHOLE_SCREEN + lines.join('\n');

describe('a whole-screen frame', () => {
  it('is written as its changed lines, each at its row, and the screen shows the frame', () => {
    const terminal = new ModelTerminal(20, 4);
    const screen = changedLinesOnly(terminal as unknown as NodeJS.WriteStream);
    const frames = [
      ['> 1 task_start', '  2 folio_alloc', 'status 1/9', 'help'],
      ['  1 task_start', '> 2 folio_alloc', 'status 2/9', 'help'],
      ['  1 task_start', '> 2 folio_alloc', 'status 2/9', 'help'],
      ['> 3 a longer line!!', '  4 x', 'status 3/9', 'help'],
      ['> 3 short', '  4 x', 'status 3/9', 'help'],
    ];
    for (const f of frames) {
      screen.write(frame(f));
      expect(terminal.screen()).toEqual(f);
    }
    const [first, second, same] = terminal.writes;
    expect(first).toBe(frame(frames[0]!));
    // the cursor moved from row 1 to row 2: three lines change, the help line is not sent again
    expect(second).not.toContain(WHOLE_SCREEN);
    expect(second).not.toContain('help');
    expect(second).toContain('\x1b[2;1H> 2 folio_alloc');
    expect(same).toBe('');
  });

  it('is written whole after a resize, and when its height changes', () => {
    const terminal = new ModelTerminal(20, 4);
    const screen = changedLinesOnly(terminal as unknown as NodeJS.WriteStream);
    screen.write(frame(['a', 'b', 'c']));
    terminal.emit('resize');
    screen.write(frame(['a', 'b', 'c']));
    screen.write(frame(['a', 'b', 'c', 'd']));
    expect(terminal.writes).toEqual([frame(['a', 'b', 'c']), frame(['a', 'b', 'c']), frame(['a', 'b', 'c', 'd'])]);
    expect(terminal.screen()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('leaves everything else as ink wrote it, and the terminal\'s size and events as they are', () => {
    const terminal = new ModelTerminal(20, 4);
    const screen = changedLinesOnly(terminal as unknown as NodeJS.WriteStream);
    screen.write('\x1b[?2026h');
    screen.write('first frame\n');
    expect(terminal.writes).toEqual(['\x1b[?2026h', 'first frame\n']);
    expect([screen.columns, screen.rows, screen.isTTY]).toEqual([20, 4, true]);
    let resized = 0;
    screen.on('resize', () => resized++);
    terminal.emit('resize');
    expect(resized).toBe(1);
  });
});

describe('the browser on a terminal', () => {
  let file: string;
  let runTui: typeof import('../tui/main.js').runTui;
  beforeAll(async () => {
    // ink draws only the last frame when it believes it runs in CI, and reads CI when it is
    // loaded: load it as `mmtrace tui` does on a terminal, with CI cleared
    const ci = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    ({ runTui } = await import('../tui/main.js'));
    for (const [name, value] of Object.entries(ci)) if (value !== undefined) process.env[name] = value;
    file = join(tempDir(), 'sw.db');
    expect(mmtrace(['record', 'stuck-writer', '--path=gup', `--out=${file}`]).status).toBe(0);
  });

  /** Wait until the model shows `ok`, then a little longer for anything still to come. */
  async function until(terminal: ModelTerminal, ok: (lines: string[]) => boolean, what: string): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    while (!ok(terminal.screen())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${terminal.screen().join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return terminal.screen();
  }
  const cursorRows = (lines: string[]) => lines.filter((l) => l.startsWith('>'));
  const statusOf = (lines: string[]) => lines.filter((l) => /^\d+\/\d+ tick /.test(l));

  it('moves the cursor with j by rewriting a few lines, never clearing the screen, and shows one coherent frame', async () => {
    const terminal = new ModelTerminal(100, 30);
    const keyboard = new Keyboard();
    const done = runTui([`${file}#gup`], { stdout: terminal as unknown as NodeJS.WriteStream, stdin: keyboard as unknown as NodeJS.ReadStream });
    let lines = await until(terminal, (l) => statusOf(l).some((s) => s.startsWith('1/')), 'the first frame');
    // ink writes its first frame its own way; the first whole-screen frame after it is written whole
    keyboard.type('j');
    lines = await until(terminal, (l) => statusOf(l).some((s) => s.startsWith('2/')), 'event 2');
    const wholeFrame = Math.max(...terminal.writes.map((w) => w.length));
    for (let seq = 3; seq <= 7; seq++) {
      const before = terminal.writes.length;
      keyboard.type('j');
      lines = await until(terminal, (l) => statusOf(l).some((s) => s.startsWith(`${seq}/`)), `event ${seq}`);
      const written = terminal.writes.slice(before).join('');
      expect(written).not.toContain('\x1b[2J');
      // the lines that changed: the two list rows, the lanes' cursor column, the state, the status
      const rewritten = written.match(/\x1b\[\d+;1H/g) ?? [];
      expect(rewritten.length).toBeGreaterThan(0);
      expect(rewritten.length).toBeLessThan(20);
      expect(written.length).toBeLessThan(wholeFrame);
      // one cursor, on the event the status line names; one status line, on the row above the prompt
      expect(cursorRows(lines)).toHaveLength(1);
      expect(cursorRows(lines)[0]).toMatch(new RegExp(`^>\\s+${seq} `));
      expect(statusOf(lines)).toHaveLength(1);
      expect(lines[28]).toBe(statusOf(lines)[0]);
    }
    keyboard.type('q');
    await done;
  });
});
