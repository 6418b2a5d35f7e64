/**
 * Each key of the browser, pressed on the drawn run view (and the diff view for `[`) of a recorded
 * run, checked on the screen a person sees: the cursor's row, the status line, the message line.
 * What each key should reach comes from the file by SQL, not from the browser's own state. The
 * keys j, PgDn, G, :, /, n, f, F, m, o, Tab, Ctrl-o, ; and ? are in tui-ui.test.tsx.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace, type Trace } from '../src/trace/reader.js';
import { KINDS } from '../src/trace/vocab/index.js';
import { Browser } from '../tui/data/browser.js';
import { DiffBrowser } from '../tui/data/diff-browser.js';
import { RunSource } from '../tui/data/run-source.js';
import { DiffView } from '../tui/ui/diff-view.js';
import { RunView } from '../tui/ui/run-view.js';
import { themeFor } from '../tui/ui/theme.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { keys, renderAt, screenOf, until, type InkApp } from './helpers/ink.js';

const KEY = { pageUp: '\u001B[5~', enter: '\r' };
const theme = themeFor({ NO_COLOR: '1' });

let sw: string;
let dn: string;
let swTrace: Trace;
let dnTrace: Trace;

beforeAll(async () => {
  const dir = tempDir();
  sw = join(dir, 'sw.db');
  dn = join(dir, 'dn.db');
  expect(mmtrace(['record', 'stuck-writer', '--path=gup,fast', `--out=${sw}`]).status).toBe(0);
  expect(mmtrace(['record', 'dontneed-race', '--path=fast', '--config', 'pteFreeImmediate=y', `--out=${dn}`]).status).toBe(0);
  swTrace = await openTrace(sw);
  dnTrace = await openTrace(dn);
});

afterAll(() => {
  swTrace.close();
  dnTrace.close();
});

/** The seqs of a run's events that `where` (SQL over events_v) selects, in order. */
function seqsWhere(trace: Trace, run: string, where: string): number[] {
  return trace.query(`SELECT seq FROM events_v WHERE run = '${run}' AND ${where} ORDER BY seq`).rows.map((r) => Number(r[0]));
}

const eventCount = (trace: Trace, run: string) => trace.resolveRun(run).events;

interface Screen {
  app: InkApp;
  lines(): string[];
  /** The seq on the cursor's row (`>` in the first column). */
  cursorSeq(): number;
  cursorRow(): string;
  /** The status line: `N/M tick ...`. */
  status(): string;
  /** The line under the status: a prompt, a message or the hint. */
  message(): string;
  /** The event list's rows: the lines above the lanes' header. */
  listPane(): string[];
  unmount(): void;
}

const EVENT_ROW = /^[> ][ *!]\s*(\d+)\s+\d+ /;

function runView(trace: Trace, run: string, width = 80, height = 24): Screen {
  const browser = new Browser(new RunSource(trace, trace.resolveRun(run)), height, width);
  const app = renderAt(<RunView browser={browser} width={width} height={height} theme={theme} />, width);
  const lines = () => screenOf(app);
  const cursorRow = () => {
    const row = lines().find((l) => l.startsWith('>'));
    if (row === undefined) throw new Error(`no cursor row on the screen:\n${lines().join('\n')}`);
    return row;
  };
  return {
    app,
    lines,
    cursorRow,
    cursorSeq: () => Number(EVENT_ROW.exec(cursorRow())![1]),
    status: () => lines().find((l) => /^\d+\/\d+ tick /.test(l)) ?? '',
    message: () => lines().at(-1)!,
    listPane: () => lines().slice(0, lines().findIndex((l) => l.startsWith('lanes'))),
    unmount: app.unmount,
  };
}

/** The seq a list row shows. */
const seqOfRow = (row: string) => Number(EVENT_ROW.exec(row)?.[1]);

describe('moving back: k, PgUp, g', () => {
  it('k moves the cursor to the event before, on screen and in the status line', async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, 'j', 'j', 'j');
    expect(s.cursorSeq()).toBe(4);
    await keys(s.app, 'k');
    expect(s.cursorSeq()).toBe(3);
    expect(s.status()).toMatch(/^3\//);
    await keys(s.app, 'g', 'k');
    expect(s.cursorSeq()).toBe(1); // nothing before the first event
    s.unmount();
  });

  it.each([[80, 24], [200, 50]])('PgUp moves the cursor and the page up by a page less one row (%ix%i)', async (width, height) => {
    const s = runView(swTrace, 'gup', width, height);
    const count = eventCount(swTrace, 'gup');
    await keys(s.app, 'G');
    const before = s.listPane().map(seqOfRow);
    const page = before.length - 1;
    await keys(s.app, KEY.pageUp);
    expect(s.cursorSeq()).toBe(count - page);
    expect(s.status()).toMatch(new RegExp(`^${count - page}/${count} `));
    // the page scrolled by as much: the row at its top is now at its bottom
    const after = s.listPane().map(seqOfRow);
    expect(after.at(-1)).toBe(before[0]);
    await keys(s.app, 'g', KEY.pageUp);
    expect(s.cursorSeq()).toBe(1);
    s.unmount();
  });

  it('g goes to the first event, at the top of the page', async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, ':', '500', KEY.enter);
    expect(s.cursorSeq()).toBe(500);
    await keys(s.app, 'g');
    expect(s.cursorSeq()).toBe(1);
    expect(seqOfRow(s.listPane()[0]!)).toBe(1);
    expect(s.status()).toMatch(/^1\//);
    s.unmount();
  });
});

describe('the last page', () => {
  it.each([[80, 24], [200, 50]])('ends at the last event after G or a jump near the end, with no blank rows (%ix%i)', async (width, height) => {
    const s = runView(swTrace, 'gup', width, height);
    const count = eventCount(swTrace, 'gup');
    const fullPage = async (cursor: number) => {
      const pane = s.listPane();
      expect(pane.join('\n')).not.toContain('(end of run)');
      for (const row of pane) expect(row).toMatch(EVENT_ROW);
      expect(seqOfRow(pane.at(-1)!)).toBe(count);
      expect(pane.map(seqOfRow)).toEqual(Array.from({ length: pane.length }, (_, i) => count - pane.length + 1 + i));
      expect(s.cursorSeq()).toBe(cursor);
    };
    await keys(s.app, 'G');
    await fullPage(count);
    await keys(s.app, 'g', ':', String(count - 2), KEY.enter);
    await fullPage(count - 2);
    // and a filtered list ends at its last match
    await keys(s.app, 'f', 'task=monitor', KEY.enter, 'G');
    const monitor = seqsWhere(swTrace, 'gup', "task = 'monitor'");
    const pane = s.listPane();
    expect(pane.map(seqOfRow)).toEqual(monitor.slice(-pane.length));
    s.unmount();
  });
});

describe('searching back: N', () => {
  it('N goes to the previous match of the search', async () => {
    const s = runView(swTrace, 'gup');
    const matches = seqsWhere(swTrace, 'gup', "kind = 'rwsem_acquire' AND task = 'monitor'");
    expect(matches.length).toBeGreaterThan(2);
    await keys(s.app, '/', 'kind=rwsem_acquire task=monitor', KEY.enter, 'n', 'n');
    expect(s.cursorSeq()).toBe(matches[2]);
    await keys(s.app, 'N');
    expect(s.cursorSeq()).toBe(matches[1]);
    expect(s.cursorRow()).toMatch(/monitor\s+.*rwsem_acquire/);
    await keys(s.app, 'N', 'N');
    expect(s.cursorSeq()).toBe(matches[0]);
    expect(s.message()).toContain('no earlier match for kind=rwsem_acquire task=monitor');
    s.unmount();
  });
});

describe("marks: '", () => {
  it("' jumps to the next mark, round to the first, and says so", async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, ':', '100', KEY.enter, 'm', ':', '300', KEY.enter, 'm', ':', '200', KEY.enter);
    expect(s.status()).toContain('marks 2');
    await keys(s.app, "'");
    expect(s.cursorSeq()).toBe(300);
    expect(s.cursorRow()).toMatch(/^>\*/);
    expect(s.message()).toContain('#300: mark');
    await keys(s.app, "'");
    expect(s.cursorSeq()).toBe(100);
    await keys(s.app, 'm', "'", "'");
    expect(s.status()).toContain('marks 1');
    expect(s.cursorSeq()).toBe(300);
    s.unmount();
  });

  it("' with no marks says how to make one", async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, "'");
    expect(s.cursorSeq()).toBe(1);
    expect(s.message()).toContain('no marks');
    s.unmount();
  });
});

describe('warnings and request boundaries: w W r R', () => {
  const warningKinds = KINDS.filter((k) => k.family === 'check' && k.name !== 'event_limit').map((k) => `'${k.name}'`).join(', ');

  it('w and W go to the next and previous warning', async () => {
    const s = runView(dnTrace, 'fast');
    const warnings = seqsWhere(dnTrace, 'fast', `kind IN (${warningKinds})`);
    expect(warnings.length).toBeGreaterThan(0);
    await keys(s.app, 'w');
    expect(s.cursorSeq()).toBe(warnings[0]);
    expect(s.message()).toContain(`#${warnings[0]}: warning`);
    await keys(s.app, 'G', 'W');
    expect(s.cursorSeq()).toBe(warnings.at(-1));
    expect(s.status()).toMatch(new RegExp(`^${warnings.at(-1)}/`));
    await keys(s.app, 'g', 'W');
    expect(s.cursorSeq()).toBe(1);
    expect(s.message()).toContain('no earlier warning');
    s.unmount();
  });

  it('r and R go to the next and previous request boundary', async () => {
    const s = runView(swTrace, 'gup');
    const boundaries = seqsWhere(swTrace, 'gup', "kind IN ('request_begin', 'request_end')");
    expect(boundaries.length).toBeGreaterThan(2);
    await keys(s.app, 'r');
    expect(s.cursorSeq()).toBe(boundaries[0]);
    expect(s.cursorRow()).toContain('request_begin');
    await keys(s.app, 'r');
    expect(s.cursorSeq()).toBe(boundaries[1]);
    await keys(s.app, 'R');
    expect(s.cursorSeq()).toBe(boundaries[0]);
    expect(s.message()).toContain(`#${boundaries[0]}: request boundary`);
    s.unmount();
  });
});

describe('the other half: %', () => {
  it('% goes from a write acquisition of mmap_lock to its release, and back', async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, ':', 'kind=rwsem_acquire,task=writer,mode=write', KEY.enter);
    const acquired = s.cursorSeq();
    const sem = /sem=(\d+)/.exec(s.cursorRow())![1];
    const release = seqsWhere(swTrace, 'gup', `kind = 'rwsem_release' AND task = 'writer' AND sem = ${sem} AND seq > ${acquired}`)[0];
    await keys(s.app, '%');
    expect(s.cursorSeq()).toBe(release);
    expect(s.cursorRow()).toMatch(new RegExp(`writer\\s+.*rwsem_release .*sem=${sem}\\b`));
    await keys(s.app, '%');
    expect(s.cursorSeq()).toBe(acquired);
    s.unmount();
  });
});

describe('the diff view: [', () => {
  it('[ steps both columns back to the previous divergence', async () => {
    const d = await DiffBrowser.open(swTrace, swTrace.resolveRun('gup'), swTrace, swTrace.resolveRun('fast'), 24, 80);
    const app = renderAt(<DiffView diff={d} width={80} height={24} theme={theme} />, 80);
    // the two columns: what follows their header line, down to the status line
    const columns = () => {
      const s = screenOf(app);
      return s.slice(s.findIndex((l) => l.startsWith('A ')), -2).join('\n');
    };
    await keys(app, ']');
    const first = columns();
    expect(screenOf(app)[0]).toContain('(at 1)');
    await keys(app, ']');
    expect(screenOf(app)[0]).toContain('(at 2)');
    expect(columns()).not.toBe(first);
    await keys(app, '[');
    expect(screenOf(app)[0]).toContain('(at 1)');
    expect(screenOf(app).at(-1)).toMatch(/divergence 1\//);
    expect(columns()).toBe(first);
    await keys(app, '[');
    expect(screenOf(app).at(-1)).toContain('no earlier divergence');
    app.unmount();
  });
});

describe('quitting: q', () => {
  it('q in the SQL pane closes the pane, and in a prompt is a letter', async () => {
    const s = runView(swTrace, 'gup');
    await keys(s.app, ';', "select seq from events_v where run = 'gup' limit 3", KEY.enter);
    expect(s.lines()[0]).toMatch(/^; select seq/);
    await keys(s.app, 'q');
    expect(s.lines()[0]).toMatch(EVENT_ROW); // the list again, and the app still draws
    await keys(s.app, ':', 'q');
    expect(s.message().trimEnd()).toBe(':q_'); // in a prompt, q is a letter
    s.unmount();
  });

  // that `mmtrace tui` then gives the terminal back is test/tui-terminal.test.ts's
  it('q on the list ends the app: it stops reading keys', async () => {
    const s = runView(swTrace, 'gup');
    expect(s.app.stdin.listenerCount('readable')).toBeGreaterThan(0);
    s.app.stdin.write('q');
    await until(() => s.app.stdin.listenerCount('readable') === 0, 'the app to stop reading keys after q');
    s.unmount();
  });
});
