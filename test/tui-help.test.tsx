/**
 * The help screen (`?`) and the README say the same keys: the README's key table and the help
 * screen as the browser draws it are parsed and compared, both ways and in order, and the README's
 * captured help screen is the screen drawn at 80x24.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace, type Trace } from '../src/trace/reader.js';
import { Browser } from '../tui/data/browser.js';
import { RunSource } from '../tui/data/run-source.js';
import { RunView } from '../tui/ui/run-view.js';
import { themeFor } from '../tui/ui/theme.js';
import { mmtrace, ROOT, tempDir } from './helpers/cli.js';
import { keys, renderAt, screenOf } from './helpers/ink.js';

const README = () => readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');

/** The lines of the README after the line `heading`, from the first non-blank one to the next blank one. */
function blockAfter(lines: string[], heading: string): string[] {
  const at = lines.indexOf(heading);
  if (at < 0) throw new Error(`README: no line '${heading}'`);
  let start = at + 1;
  while (lines[start] === '') start++;
  const end = lines.indexOf('', start);
  return lines.slice(start, end);
}

/** The README's key table: [keys, what they do], in order. */
function readmeKeyTable(): [string, string][] {
  const rows = blockAfter(README(), 'The keys (`?` shows the same list):').slice(2); // past the header and |---|
  return rows.map((row) => {
    const m = /^\| `([^`]+)` \| (.+) \|$/.exec(row);
    if (!m) throw new Error(`README key table: not a row: ${row}`);
    return [m[1]!, m[2]!.replace(/\\\|/g, '|')];
  });
}

/** The README's captured help screen: the lines of the code block after "The help screen:". */
function readmeHelpScreen(): string[] {
  const lines = README();
  const open = lines.indexOf('```', lines.indexOf('The help screen:'));
  return lines.slice(open + 1, lines.indexOf('```', open + 1));
}

/**
 * The key rows of a drawn help screen: indented lines whose description starts at one column for
 * all of them (the end of the widest gap of spaces in the first row; keys have single or double
 * spaces inside).
 */
function helpKeyRows(screen: string[]): [string, string][] {
  const rows = screen.map((l) => l.trimEnd()).filter((l) => l.startsWith('  ') && l.trim() !== '');
  const gaps = [...rows[0]!.matchAll(/ {2,}/g)];
  const widest = gaps.reduce((a, b) => (b[0].length > a[0].length ? b : a));
  const column = widest.index! + widest[0].length;
  return rows.map((l) => {
    expect(l.slice(column - 2, column), `'${l}': its description does not start at column ${column}`).toBe('  ');
    return [l.slice(2, column).trim(), l.slice(column)];
  });
}

let trace: Trace;

beforeAll(async () => {
  const file = join(tempDir(), 'sw.db');
  expect(mmtrace(['record', 'stuck-writer', '--path=gup', `--out=${file}`]).status).toBe(0);
  trace = await openTrace(file);
});

afterAll(() => trace.close());

async function drawnHelpScreen(width: number, height: number): Promise<string[]> {
  const browser = new Browser(new RunSource(trace, trace.listRuns()[0]!), height, width);
  const app = renderAt(<RunView browser={browser} width={width} height={height} theme={themeFor({ NO_COLOR: '1' })} />, width);
  await keys(app, '?');
  const screen = screenOf(app);
  app.unmount();
  return screen;
}

describe('the help screen', () => {
  it("lists the README's key table, key for key and in order", async () => {
    const table = readmeKeyTable();
    expect(table.length).toBeGreaterThan(10);
    expect(helpKeyRows(await drawnHelpScreen(80, 24))).toEqual(table);
  });

  it('is drawn at 80x24 as the README shows it', async () => {
    expect((await drawnHelpScreen(80, 24)).map((l) => l.trimEnd())).toEqual(readmeHelpScreen());
  });
});
