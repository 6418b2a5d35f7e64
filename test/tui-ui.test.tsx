/**
 * The browser's ink components (tui/ui) with ink-testing-library: what each view draws at 80x24 and
 * 200x50, and what each key does to the screen.
 */
import { render } from 'ink-testing-library';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace, type Trace } from '../src/trace/reader.js';
import { Browser } from '../tui/data/browser.js';
import { DiffBrowser } from '../tui/data/diff-browser.js';
import { RunSource } from '../tui/data/run-source.js';
import { DiffView } from '../tui/ui/diff-view.js';
import { KEYS } from '../tui/ui/help.js';
import { RunPicker } from '../tui/ui/picker.js';
import { RunView } from '../tui/ui/run-view.js';
import { themeFor } from '../tui/ui/theme.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { keys, renderAt, screenOf, until } from './helpers/ink.js';

const KEY = { down: '\u001B[B', pageDown: '\u001B[6~', tab: '\t', enter: '\r', escape: '\u001B', ctrlO: '\u000F' };
const theme = themeFor({ NO_COLOR: '1' });

let file: string;
let trace: Trace;

beforeAll(async () => {
  file = join(tempDir(), 'sw.db');
  expect(mmtrace(['record', 'stuck-writer', '--path=gup,fast', `--out=${file}`]).status).toBe(0);
  trace = await openTrace(file);
});

afterAll(() => trace.close());

function runView(width: number, height: number) {
  const browser = new Browser(new RunSource(trace, trace.resolveRun('gup')), height, width);
  const app = renderAt(<RunView browser={browser} width={width} height={height} theme={theme} />, width);
  return { browser, app, unmount: app.unmount, screen: () => screenOf(app) };
}

/** The screen line the cursor is on (`>` in the first column). */
const cursorLine = (screen: string[]) => screen.find((l) => l.startsWith('>'))!;

describe.each([[80, 24], [200, 50]])('the run view at %ix%i', (width, height) => {
  it('draws the list, the lanes, the state, the status and a hint, within the terminal', () => {
    const { screen, unmount } = runView(width, height);
    const s = screen();
    expect(s.length).toBe(height); // the frame fills the terminal (ink repaints it whole)
    for (const line of s) expect(line.length).toBeLessThanOrEqual(width);
    expect(cursorLine(s)).toMatch(/^>\s+1\s+0 init\s+task_start name=init/);
    expect(s.join('\n')).toContain('lanes');
    expect(s.join('\n')).toContain('TASKS');
    expect(s.find((l) => l.startsWith('1/')) ?? '').toContain('#gup stuck-writer gup');
    expect(s.at(-1)).toContain('? help');
    unmount();
  });

  it('moves with j, PgDn and G, and jumps with :', async () => {
    const { screen, app, browser, unmount } = runView(width, height);
    await keys(app, 'j', KEY.down);
    expect(cursorLine(screen())).toMatch(/^>\s+3 /);
    await keys(app, KEY.pageDown);
    expect(cursorLine(screen())).toMatch(new RegExp(`^>\\s+${3 + browser.layout.listRows - 1} `));
    await keys(app, 'G');
    expect(cursorLine(screen())).toMatch(new RegExp(`^>\\s+${browser.count} `));
    await keys(app, ':');
    expect(screen().at(-1)!.trimEnd()).toBe(':_');
    await keys(app, 'kind=rwsem_contended,task=monitor', KEY.enter);
    expect(cursorLine(screen())).toContain('monitor');
    expect(cursorLine(screen())).toContain('rwsem_contended');
    unmount();
  });

  it('searches with / and n, filters with f and clears with F', async () => {
    const { screen, app, unmount } = runView(width, height);
    await keys(app, '/', 'rwsem_acquire writer', KEY.enter);
    const first = cursorLine(screen());
    expect(first).toContain('rwsem_acquire');
    await keys(app, 'n');
    expect(cursorLine(screen())).toContain('rwsem_acquire');
    expect(cursorLine(screen())).not.toBe(first);
    await keys(app, 'f', 'task=monitor', KEY.enter);
    const listed = screen().filter((l) => /^[> ][ *!]\s*\d+\s+\d+ /.test(l));
    expect(listed.length).toBeGreaterThan(2);
    for (const l of listed) expect(l).toMatch(/\d+ monitor /);
    expect(screen().join('\n')).toContain('filter[task=monitor]');
    await keys(app, 'F');
    expect(screen().join('\n')).not.toContain('filter[');
    unmount();
  });

  it('marks with m, follows where-from from the state panel, and goes back with Ctrl-o', async () => {
    const { screen, app, browser, unmount } = runView(width, height);
    await keys(app, ':', 'kind=rwsem_contended,task=monitor', KEY.enter, 'm');
    expect(cursorLine(screen())).toMatch(/^>\*/);
    const before = browser.cursor;
    await keys(app, KEY.tab);
    const holder = browser.panel().findIndex((l) => l.key?.startsWith('holder:'));
    while (browser.stateSelected !== holder) await keys(app, 'j');
    expect(screen().join('\n')).toMatch(/>\*?mmap_lock\(mm \d+\) W writer/);
    await keys(app, 'o');
    expect(cursorLine(screen())).toMatch(/writer\s+rwsem_acquire .*mode=write/);
    expect(screen().at(-1)).toContain('the acquisition');
    await keys(app, 'o');
    expect(cursorLine(screen())).toMatch(/sem=\d+/);
    await keys(app, KEY.ctrlO, KEY.ctrlO);
    expect(browser.cursor).toBe(before);
    unmount();
  });

  it('runs SQL with ; and jumps to a row with Enter', async () => {
    const { screen, app, unmount } = runView(width, height);
    await keys(app, ';', "select seq, task from events_v where run = 'gup' and kind = 'sched_block' order by seq", KEY.enter);
    const s = screen().join('\n');
    expect(s).toMatch(/seq\s+task/);
    expect(screen()).toHaveLength(height);
    await keys(app, 'j', KEY.enter);
    expect(cursorLine(screen())).toContain('sched_block');
    unmount();
  });

  it('shows the help with ? (the keys of KEYS) and closes it on any key', async () => {
    const { screen, app, unmount } = runView(width, height);
    await keys(app, '?');
    const help = screen().join('\n');
    for (const [k] of KEYS.slice(0, Math.min(KEYS.length, height - 6))) expect(help).toContain(k);
    await keys(app, 'x');
    expect(screen().join('\n')).toContain('TASKS');
    unmount();
  });
});

describe('the diff view', () => {
  /** The two columns of a screen line: A's half, then B's (one column between them). */
  const halves = (line: string, width: number) => {
    const half = Math.floor((width - 1) / 2);
    return [line.slice(0, half), line.slice(half + 1)] as const;
  };
  /** A column's event: its seq and kind (the kind is the first word after the task). */
  const eventOf = (half: string) => /^[> ][ !~*]\s*(\d+) (?:\s*\d+ )?(\S+)\s+(\S+)/.exec(half);
  const isGap = (half: string) => /^[> ] -{5,} (-{7} )?-{8}\s*$/.test(half);
  /** The cursor's row in the columns (the findings pane marks its selection with `>` too). */
  const onCursor = (l: string) => /^>(?:[ !~*]\s*\d+ | -{5})/.test(l);

  for (const [width, height] of [[80, 24], [200, 50]] as const) {
    it(`draws the runs aligned at ${width}x${height}: matched events side by side, an event of one run beside a gap; ] lands both on the divergence's row`, async () => {
      const d = await DiffBrowser.open(trace, trace.resolveRun('gup'), trace, trace.resolveRun('fast'), height, width);
      const app = renderAt(<DiffView diff={d} width={width} height={height} theme={theme} />, width);
      const screen = () => app.lastFrame()!.split('\n');
      expect(screen()[0]).toMatch(/^(EQUIVALENT|DIFFERENT)/);
      expect(screen()).toHaveLength(height);
      expect(screen().join('\n')).toContain('#gup');
      expect(screen().join('\n')).toContain('#fast');
      // the first page: both runs start alike, each row an event of A beside the same event of B
      const matched = screen().map((l) => halves(l, width).map(eventOf)).filter(([a, b]) => a && b);
      expect(matched.length).toBeGreaterThan(3);
      for (const [a, b] of matched) expect([a![2], a![3]]).toEqual([b![2], b![3]]);

      await keys(app, ']');
      await until(() => /divergence 1\//.test(screen().at(-1)!), 'the divergence on the status line');
      expect(screen().at(-1)).toMatch(/divergence 1\//);
      const cursorLine = screen().find(onCursor)!;
      const [a, b] = halves(cursorLine, width);
      // stuck-writer: gup takes mmap_lock where the fast path does not, so A's event stands beside a gap
      expect(a).toMatch(/^>!\s*\d+ /);
      expect(isGap(b)).toBe(true);
      expect(b.startsWith('>')).toBe(true); // both columns' cursor is on the row
      expect(Number(eventOf(a)![1])).toBe(d.a.cursor);
      const before = screen().indexOf(cursorLine);
      await keys(app, 'k');
      await until(() => screen().findIndex(onCursor) === before - 1, 'the cursor a row up');
      expect(screen().findIndex(onCursor)).toBe(before - 1);
      await keys(app, 'j', 'j');
      await until(() => screen().findIndex(onCursor) === before + 1, 'the cursor a row down');
      expect(screen().findIndex(onCursor)).toBe(before + 1);
      // further down the hunk (the fast path's own events): B's events beside gaps in A
      const bOnly = () => screen().find((l) => isGap(halves(l, width)[0]) && /^[> ]!\s*\d+ /.test(halves(l, width)[1]));
      await keys(app, ...'jjjjjjjjj');
      await until(() => bOnly() !== undefined, "an event of B's beside a gap");
      expect(bOnly()).toBeDefined();
      app.unmount();
    });
  }

  it('jumps to a finding from the findings pane', async () => {
    const d = await DiffBrowser.open(trace, trace.resolveRun('gup'), trace, trace.resolveRun('fast'), 24, 80);
    const app = renderAt(<DiffView diff={d} width={80} height={24} theme={theme} />, 80);
    const screen = () => app.lastFrame()!.split('\n');
    await keys(app, KEY.tab, KEY.tab);
    expect(d.focus).toBe('findings');
    expect(d.report.findings.length).toBeGreaterThan(0);
    await keys(app, KEY.enter);
    await until(() => screen().at(-1)!.includes(d.report.findings[0]!.kind), "the finding's kind on the status line");
    expect(screen().at(-1)).toContain(d.report.findings[0]!.kind);
    app.unmount();
  });
});

describe('the run picker', () => {
  it('lists the runs and opens the chosen one, even when Enter comes before the frame of the key that chose it', async () => {
    const picked: string[] = [];
    const app = render(<RunPicker file={file} runs={trace.listRuns()} width={80} height={24} onPick={(r) => picked.push(r.name)} />);
    expect(app.lastFrame()).toContain('2 runs');
    // j and Enter in one burst, before the frame of j: Enter opens the run j chose
    app.stdin.write('j');
    app.stdin.write(KEY.enter); // picking hands the run over and draws nothing itself
    await until(() => picked.length > 0, 'a run picked');
    expect(picked).toEqual(['fast']);
    await until(() => /^> +\d+ fast /m.test(app.lastFrame()!), 'the frame of j');
    await keys(app, 'k');
    expect(app.lastFrame()).toMatch(/^> +\d+ gup /m);
    app.unmount();
  });
});

describe('without colour', () => {
  it('NO_COLOR turns colour off and the screen still says everything', () => {
    expect(themeFor({ NO_COLOR: '1' }).family('lock')).toBeUndefined();
    expect(themeFor({}).family('lock')).toBe('red');
    expect(themeFor({ NO_COLOR: '' }).color).toBe(true);
  });
});
