/**
 * The browser's state and keys (tui/data), on recorded scenarios: paging, jumps, search, filter,
 * marks, warnings, request boundaries, "where did this come from", `%`, the jump history, the SQL
 * prompt, the lock lanes against the projection, --follow on a run still recording, and the diff
 * view's divergences and findings.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDoc } from '../src/replay/doc.js';
import { Recorder } from '../src/trace/recorder.js';
import { emit } from '../src/trace/vocab/index.js';
import { itemsByKey } from '../tui/data/state-at.js';
import { stamp } from './helpers/rows.js';
import { project } from '../src/replay/projection.js';
import { openRunRef, openTrace, type RunInfo, type Trace } from '../src/trace/reader.js';
import { Browser, splitKeys, type Key } from '../tui/data/browser.js';
import { DiffBrowser } from '../tui/data/diff-browser.js';
import { computeLanes, seedChars } from '../tui/data/lanes.js';
import { RunSource } from '../tui/data/run-source.js';
import { CLI, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

let dir: string;
let sw: string;
let dn: string;
const opened: Trace[] = [];

beforeAll(async () => {
  dir = tempDir();
  sw = join(dir, 'sw.db');
  dn = join(dir, 'dn.db');
  await recordHere('stuck-writer', ['--path=gup,fast', `--out=${sw}`]);
  await recordHere('dontneed-race', ['--path=fast', '--config', 'pteFreeImmediate=y', `--out=${dn}`]);
});

afterAll(() => {
  for (const t of opened) t.close();
});

async function browse(ref: string, rows = 24, cols = 80): Promise<Browser> {
  const { trace, run } = await openRunRef(ref);
  opened.push(trace);
  return new Browser(new RunSource(trace, run), rows, cols);
}

/** Type keys as a person does: each character a key, `\r` Enter. */
function type(b: Browser, text: string): void {
  for (const [input, key] of splitKeys(text, {})) b.key(input, key);
}

function press(b: Browser, input: string, key: Key = {}): void {
  b.key(input, key);
}

const eventAt = (b: Browser) => b.cursorLine()!;

/** Move the state panel's selection down to the item `key` (the panel has the focus). */
function selectItem(b: Browser, key: string): void {
  const lines = b.panel();
  for (let i = 0; i < lines.length && lines[b.stateSelected]!.key !== key; i++) type(b, 'j');
  expect(lines[b.stateSelected]!.key).toBe(key);
}

describe('moving through a run', () => {
  it('pages by seq and keeps the cursor on screen', async () => {
    const b = await browse(`${sw}#gup`);
    expect(b.cursor).toBe(1);
    expect(b.rows().map((r) => r.seq)).toEqual(Array.from({ length: b.layout.listRows }, (_, i) => i + 1));
    type(b, 'jj');
    expect(b.cursor).toBe(3);
    press(b, '', { pageDown: true });
    expect(b.cursor).toBe(3 + b.layout.listRows - 1);
    expect(b.rows().some((r) => r.seq === b.cursor)).toBe(true);
    type(b, 'G');
    expect(b.cursor).toBe(b.count);
    expect(b.rows().at(-1)!.seq).toBe(b.count);
    expect(b.rows()).toHaveLength(b.layout.listRows); // the last page is full, as in less
    type(b, 'k');
    expect(b.cursor).toBe(b.count - 1);
    type(b, 'g');
    expect(b.cursor).toBe(1);
  });

  it('indents by emulated call depth, from the stacks at the cursor', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':kind=call_enter,fn=__access_remote_vm\r');
    const rows = b.rows();
    const enter = rows.find((r) => r.seq === b.cursor)!;
    const after = rows.find((r) => r.seq > enter.seq && r.tid === enter.tid)!;
    expect(after.depth).toBe(enter.depth + 1);
    expect(enter.depth).toBe(b.stateAtCursor().doc.tasks.find((t) => t.tid === enter.tid)!.stack.length - 1);
  });

  it('jumps with : to an event number or any --until selector, and Ctrl-o goes back', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':500\r');
    expect(b.cursor).toBe(500);
    type(b, ':kind=rwsem_contended,task=monitor\r');
    expect(eventAt(b).kind).toBe('rwsem_contended');
    expect(eventAt(b).task).toBe('monitor');
    press(b, 'o', { ctrl: true });
    expect(b.cursor).toBe(500);
    type(b, ':nonsense\r');
    expect(b.cursor).toBe(500);
    expect(b.message).toMatch(/not KEY=VALUE/);
  });

  it('searches by kind, task, field and text, with n and N', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, '/rwsem_acquire monitor\r');
    const first = b.cursor;
    expect(eventAt(b)).toMatchObject({ kind: 'rwsem_acquire', task: 'monitor' });
    type(b, 'n');
    expect(b.cursor).toBeGreaterThan(first);
    expect(eventAt(b)).toMatchObject({ kind: 'rwsem_acquire', task: 'monitor' });
    type(b, 'N');
    expect(b.cursor).toBe(first);
    type(b, 'g/kind=rwsem_acquire mode=write\r');
    expect(eventAt(b).fields).toContain('mode=write');
    type(b, 'g/mmap_region\r');
    expect(eventAt(b).fields).toContain('mmap_region');
    type(b, '/no-such-text-anywhere\r');
    expect(b.message).toMatch(/no later match/);
  });

  it('filters by task and kind, and F clears the filter', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, 'ftask=monitor family=lock\r');
    const rows = b.rows();
    expect(rows.length).toBe(b.layout.listRows);
    for (const r of rows) expect(r).toMatchObject({ task: 'monitor', family: 'lock' });
    type(b, 'j');
    expect(eventAt(b)).toMatchObject({ task: 'monitor', family: 'lock' });
    expect(b.status()).toContain('filter[task=monitor family=lock]');
    type(b, 'F');
    expect(b.rows().map((r) => r.seq)).toContain(b.cursor - 1);
    type(b, 'fsome free text\r');
    expect(b.message).toMatch(/not kind, family/);
  });

  it('filters by address and by request', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, '/kind=request_begin monitor\r');
    const req = b.stateAtCursor().doc.tasks.find((t) => t.name === 'monitor')!.request!;
    type(b, `freq=${req}\r`);
    const rows = b.rows();
    expect(rows[0]!.kind).toBe('request_begin');
    for (const r of rows) expect(r.task).toBe('monitor');
    type(b, 'F:kind=mas_walk\r');
    const addr = (eventAt(b).event as { addr: number }).addr;
    type(b, `faddr=0x${addr.toString(16)}\r`);
    for (const r of b.rows()) expect(r.fields).toMatch(new RegExp(`0x${(addr - (addr % 4096)).toString(16).slice(0, -3)}`));
  });

  it('marks events and jumps between marks', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':100\rm:300\rm:200\r');
    expect(b.marks).toEqual(new Set([100, 300]));
    type(b, "'");
    expect(b.cursor).toBe(300);
    type(b, "'");
    expect(b.cursor).toBe(100);
    type(b, 'm');
    expect(b.marks).toEqual(new Set([300]));
  });

  it('steps through warnings and request boundaries', async () => {
    const b = await browse(dn);
    type(b, 'w');
    expect(['warn', 'use_after_free', 'kernel_fault', 'deadlock']).toContain(eventAt(b).kind);
    const warning = b.cursor;
    type(b, 'w');
    expect(b.message).toMatch(/no later warning/);
    type(b, 'G');
    type(b, 'W');
    expect(b.cursor).toBe(warning);
    type(b, 'g');
    type(b, 'r');
    expect(eventAt(b).kind).toBe('request_begin');
    type(b, 'r');
    expect(eventAt(b).kind).toBe('request_end');
    type(b, 'R');
    expect(eventAt(b).kind).toBe('request_begin');
  });
});

describe('where did this come from', () => {
  it('goes from a lock holder to its acquisition, then one step further back, and back again', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':kind=rwsem_contended,task=monitor\r');
    const start = b.cursor;
    const sem = (eventAt(b).event as { sem: number }).sem;
    press(b, '', { tab: true });
    expect(b.focus).toBe('state');
    const lines = b.panel();
    const holder = lines.findIndex((l) => l.key === `holder:${sem}:rwsem`);
    expect(holder).toBeGreaterThan(0);
    while (b.stateSelected !== holder) type(b, 'j');
    type(b, 'o');
    expect(b.focus).toBe('list');
    expect(eventAt(b)).toMatchObject({ kind: 'rwsem_acquire', task: 'writer' });
    expect((eventAt(b).event as { sem: number }).sem).toBe(sem);
    const acquired = b.cursor;
    type(b, 'o');
    expect(b.cursor).toBeLessThan(acquired);
    expect((eventAt(b).event as { sem: number }).sem).toBe(sem);
    press(b, 'o', { ctrl: true });
    expect(b.cursor).toBe(acquired);
    press(b, 'o', { ctrl: true });
    expect(b.cursor).toBe(start);
  });

  it('goes from a VMA, a page-table entry and a folio to the event that last changed it, not the last that named it', async () => {
    const b = await browse(`${dn}#fast`);
    type(b, ':kind=folio_get,task=reader\r');
    const at = b.cursor;
    const stateAt = (seq: number) => itemsByKey(toDoc(project(b.source.trace, b.source.run, seq).model));
    const now = stateAt(at);
    const items = b.panel().filter((l) => /^(vma|pte|folio):/.test(l.key ?? ''));
    expect(new Set(items.map((l) => l.key!.split(':')[0]))).toEqual(new Set(['vma', 'pte', 'folio']));
    for (const item of items) {
      type(b, `:${at}\r`);
      press(b, '', { tab: true });
      expect(b.focus).toBe('state');
      selectItem(b, item.key!);
      type(b, 'o');
      expect(b.focus).toBe('list');
      const set = b.cursor;
      // the item is as the cursor shows it from that event on, and was not just before it
      expect(`${item.key} after #${set}: ${stateAt(set).get(item.key!)}`).toBe(`${item.key} after #${set}: ${now.get(item.key!)}`);
      expect(stateAt(set - 1).get(item.key!)).not.toBe(now.get(item.key!));
    }
  });

  it('opens a run still recording that has committed no event yet, and shows the first once it is in', async () => {
    const file = join(dir, 'nothing-yet.db');
    const rec = await Recorder.open(file, { writer: 'sync' });
    try {
      rec.beginRun({ name: 'gup', workload: 'scripted', params: {}, path: 'gup', variant: [], seed: 1, strategy: 'random', config: {}, codeVersion: 'test' });
      const b = await browse(`${file}#gup`);
      b.following = true;
      expect(b.count).toBe(0);
      expect(b.lanes().lanes).toEqual([]);
      expect(b.status()).toMatch(/tick 0 RECORDING following/);
      rec.task(1, 'target', false);
      rec.name(1, 'target');
      rec.event(...stamp(1, 0, 1, emit.task_start({ name: 1, pid: 1 })));
      rec.finish();
      expect(b.poll()).toBe(true);
      expect(b.count).toBe(1);
      expect(eventAt(b).kind).toBe('task_start');
      expect(b.lanes().seqs).toEqual([1]);
    } finally {
      rec.close();
    }
  });

  it('takes the MMU setting the accessed bit (pte_young) as a write of the entry', async () => {
    const file = join(dir, 'young.db');
    const rec = await Recorder.open(file, { writer: 'sync' });
    rec.beginRun({ name: 'gup', workload: 'scripted', params: {}, path: 'gup', variant: [], seed: 1, strategy: 'random', config: {}, codeVersion: 'test' });
    rec.task(1, 'target', false);
    rec.name(1, 'target');
    rec.name(2, 'read');
    let seq = 0;
    // stamp right after each emitter: it reads what the emitter staged
    const event = (staged: 0) => rec.event(...stamp(++seq, seq * 10, 1, staged));
    event(emit.task_start({ name: 1, pid: 1 }));
    event(emit.pgtable_alloc({ level: 'pte', table: 5, addr: 0x40000000 }));
    event(emit.pgtable_set({ table: 5, addr: 0x40000000, value: 0x1000025, old: 0 }));
    event(emit.request_begin({ req: 1, op: 2, addr: 0x40000000, len: 16 }));
    event(emit.pte_young({ table: 5, addr: 0x40000000, value: 0x1000065 }));
    event(emit.rcu_read_lock({ nesting: 1 }));
    rec.finish();
    rec.close();
    const b = await browse(`${file}#gup`);
    type(b, 'G');
    press(b, '', { tab: true });
    selectItem(b, 'pte:5:0');
    type(b, 'o');
    expect(eventAt(b).kind).toBe('pte_young');
    type(b, 'o');
    expect(eventAt(b).kind).toBe('pgtable_set');
  });

  it('pairs an acquisition with its release, a wait with its waker and a call with its return (%)', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':kind=rwsem_acquire,task=writer,mode=write\r');
    const sem = (eventAt(b).event as { sem: number }).sem;
    type(b, '%');
    expect(eventAt(b)).toMatchObject({ kind: 'rwsem_release', task: 'writer' });
    expect((eventAt(b).event as { sem: number }).sem).toBe(sem);
    type(b, ':kind=sched_block,task=monitor\r');
    type(b, '%');
    expect(eventAt(b).kind).toBe('sched_wakeup');
    expect((eventAt(b).event as { target: number }).target).toBe(b.source.tidsNamed('monitor')[0]);
    type(b, ':kind=call_enter,fn=__access_remote_vm\r');
    const enter = b.cursor;
    type(b, '%');
    expect(eventAt(b)).toMatchObject({ kind: 'call_exit' });
    expect(eventAt(b).fields).toContain('fn=__access_remote_vm');
    type(b, '%');
    expect(b.cursor).toBe(enter);
  });

  it('keeps only the requests in flight in the state at the cursor, and marks the one an event ends', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':kind=request_end,task=monitor,req=2\r');
    const s = b.stateAtCursor();
    expect(s.before!.requests.map((r) => r.id)).toContain('monitor:2');
    expect(s.doc.requests.every((r) => r.result === null)).toBe(true);
    expect(s.changed.has('request:monitor:2')).toBe(true);
    type(b, 'k');
    expect(b.stateAtCursor().doc.requests.map((r) => r.id)).toEqual(['monitor:2']);
  });

  it('marks what the cursor event changed in the state panel', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ':kind=rwsem_contended,task=monitor\r');
    const sem = (eventAt(b).event as { sem: number }).sem;
    const waiter = b.panel().find((l) => l.key === `waiter:${sem}:rwsem`)!;
    expect(waiter.changed).toBe(true);
    expect(b.panel().find((l) => l.key?.startsWith('task:') && l.text.startsWith('rcu_gp'))!.changed).toBe(false);
  });
});

describe('the SQL prompt', () => {
  it('runs a read-only query and jumps to the seq of a row', async () => {
    const b = await browse(`${sw}#gup`);
    type(b, ";select seq, kind from events_v where run = 'gup' and kind = 'rwsem_acquire' order by seq\r");
    expect(b.sql!.result.columns).toEqual(['seq', 'kind']);
    const second = b.sql!.result.rows[1]![0] as number;
    type(b, 'j\r');
    expect(b.cursor).toBe(second);
    expect(b.sql).toBeNull();
    type(b, ';delete from events\r');
    expect(b.message).toMatch(/read-only|writ/i);
  });
});

describe('lock lanes', () => {
  it.each([
    ['stuck-writer', ['kind=rwsem_contended,task=monitor', 'kind=rwsem_release,task=writer', 'kind=spin_lock']],
    // a writer queued behind readers: rwsem_wake only wakes it, and it takes the lock itself
    ['reader-blocks-writer', ['kind=rwsem_contended,mode=write', 'kind=rwsem_wake,mode=write', 'kind=rwsem_acquire,how=woken']],
  ])('agree, column by column, with the state projected at each event (%s)', async (workload, selectors) => {
    const file = join(dir, `${workload}-lanes.db`);
    if (workload !== 'stuck-writer') await recordHere(workload, ['--path=gup', `--out=${file}`]);
    const b = await browse(workload === 'stuck-writer' ? `${sw}#gup` : `${file}#gup`, 24, 100);
    const { trace, run } = b.source;
    for (const sel of selectors) {
      type(b, `:${sel}\r`);
      const lanes = b.lanes();
      for (let col = 0; col < lanes.seqs.length; col += 3) {
        const doc = toDoc(project(trace, run, lanes.seqs[col]!).model);
        const expected = seedChars(doc);
        for (const lane of lanes.lanes) {
          const got = lane.cells[col]!;
          if (got === 'v') continue; // which task holds a VMA read lock is not in the document
          expect(`${sel} #${lanes.seqs[col]} tid ${lane.tid}: ${got}`).toBe(`${sel} #${lanes.seqs[col]} tid ${lane.tid}: ${expected.get(lane.tid) ?? ' '}`);
        }
      }
    }
  });

  it('shows the writer holding mmap_lock while the monitor waits for it', async () => {
    const b = await browse(`${sw}#gup`, 24, 100);
    type(b, ':kind=rwsem_contended,task=monitor\r');
    const lanes = b.lanes();
    const lane = (name: string) => lanes.lanes.find((l) => l.tid === b.source.tidsNamed(name)[0])!.cells;
    expect(lane('writer')[lanes.cursor]).toBe('M');
    expect(lane('monitor')[lanes.cursor]).toBe('w');
    expect(lane('monitor')[lanes.cursor - 1]).not.toBe('w');
  });

  it('need the cursor inside the window', () => {
    expect(() => computeLanes({ tasks: [], locks: { rwsems: [], spinlocks: [] } } as never, [], 5)).toThrow(/window/);
  });
});

describe('--follow', () => {
  it('grows the list as a recording commits, and keeps the cursor at the end', { timeout: 90_000 }, async () => {
    const file = join(dir, 'live.db');
    const child = spawn(process.execPath, [CLI, 'record', 'scale', '--param', 'iterations=400', `--out=${file}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let childErr = '';
    child.stderr.on('data', (d: Buffer) => (childErr += d.toString()));
    try {
      let trace: Trace | undefined;
      let run: RunInfo | undefined;
      // Deadlines, not counts of polls: on a busy machine the child takes seconds to start and to finish.
      const started = Date.now() + 30_000;
      while (!run && Date.now() < started) {
        await new Promise((r) => setTimeout(r, 25));
        try {
          trace ??= await openTrace(file);
          run = trace.listRuns().find((r) => r.status === 'recording' && r.events > 0);
        } catch {
          // the file is not there yet
        }
      }
      expect(run, `no run recording with events within 30 s; the recorder said: ${childErr}`).toBeDefined();
      opened.push(trace!);
      const b = new Browser(new RunSource(trace!, run!), 24, 80);
      b.following = true;
      b.moveTo(b.count);
      const counts = [b.count];
      const finished = Date.now() + 50_000;
      while (b.source.run.status === 'recording' && Date.now() < finished) {
        await new Promise((r) => setTimeout(r, 25));
        if (b.poll()) counts.push(b.count);
      }
      expect(counts.length).toBeGreaterThan(1);
      expect(counts[counts.length - 1]!).toBeGreaterThan(counts[0]!);
      expect(b.cursor).toBe(b.count);
      expect(b.source.run.status).toBe('complete');
      expect(b.status()).toContain(`${b.count}/${b.count}`);
    } finally {
      child.kill();
    }
  });
});

describe('the diff view', () => {
  /** Each column's event on the cursor's row (null: a gap there), as the view reads them. */
  const onCursor = (d: DiffBrowser) => d.page().find((p) => p.row === d.cursor)!;

  /** Both columns' Browsers rest on the cursor row's events (a gap side: on its event before the gap). */
  function expectAligned(d: DiffBrowser): void {
    const p = onCursor(d);
    if (p.a) expect(d.a.cursor).toBe(p.a.seq);
    if (p.b) expect(d.b.cursor).toBe(p.b.seq);
  }

  it('steps both columns to each divergence\'s row with ] and [', async () => {
    const ta = await openTrace(sw);
    opened.push(ta);
    const d = await DiffBrowser.open(ta, ta.resolveRun('gup'), ta, ta.resolveRun('fast'), 24, 80);
    expect(d.divergences.length).toBeGreaterThan(1);
    d.key(']', {});
    expect(d.cursor).toBe(d.divergences[0]!.row);
    const first = onCursor(d);
    expect(first.op).not.toBe(' ');
    // the hunk's first changed event is the first differing event `mmtrace diff` names for its request
    const request = d.report.requestStreams!.find((r) => r.request === d.divergences[0]!.request)!;
    expect(first.a?.seq ?? first.b?.seq).toBe(request.firstDivergence!.a?.seq ?? request.firstDivergence!.b?.seq);
    expectAligned(d);
    d.key(']', {});
    expect(d.divergence).toBe(1);
    expect(d.cursor).toBe(d.divergences[1]!.row);
    d.key('[', {});
    expect(d.divergence).toBe(0);
    expect(d.verdictLine()).toMatch(/^(EQUIVALENT|DIFFERENT)/);
  });

  it('moves through the aligned rows with j/k, paging and g/G, both columns together', async () => {
    const ta = await openTrace(sw);
    opened.push(ta);
    const d = await DiffBrowser.open(ta, ta.resolveRun('gup'), ta, ta.resolveRun('fast'), 24, 80);
    d.key(']', {});
    const row = d.cursor;
    const seen: (string | null)[][] = [];
    for (let i = 0; i < 12; i++) {
      d.key('j', {});
      expect(d.cursor).toBe(row + i + 1);
      expectAligned(d);
      const p = onCursor(d);
      seen.push([p.op, p.a ? 'a' : null, p.b ? 'b' : null]);
    }
    // past the first divergence: events of one run beside a gap on the other, in rows of their own
    expect(seen.some(([op, a, b]) => op === '-' && a === 'a' && b === null)).toBe(true);
    expect(seen.some(([op, a, b]) => op === '+' && a === null && b === 'b')).toBe(true);
    d.key('k', {});
    expect(d.cursor).toBe(row + 11);
    d.key('', { pageDown: true });
    expect(d.cursor).toBe(row + 11 + d.listRows - 1);
    expectAligned(d);
    d.key('G', {});
    expect(d.cursor).toBe(d.count - 1);
    expect(d.page().at(-1)!.row).toBe(d.count - 1);
    expectAligned(d);
    d.key('g', {});
    expect(d.cursor).toBe(0);
    expect(d.top).toBe(0);
  });

  it('jumps to a finding\'s events in both runs on Enter, and `:` and `/` in either column move both', async () => {
    const cv = join(dir, 'cv.db');
    await recordHere('cross-vma-race', ['--path=gup,fast', `--out=${cv}`]);
    const t = await openTrace(cv);
    opened.push(t);
    const d = await DiffBrowser.open(t, t.resolveRun('gup'), t, t.resolveRun('fast'), 30, 120);
    expect(d.report.verdict).toBe('different');
    d.key('', { tab: true });
    d.key('', { tab: true });
    expect(d.focus).toBe('findings');
    d.key('', { return: true });
    expect(d.focus).toBe('a');
    expect(d.message).toContain(d.report.findings[0]!.kind);
    const finding = d.report.findings[0]!;
    const first = d.report.requestStreams?.find((r) => r.request === finding.request)?.firstDivergence;
    if (first?.a) expect(d.page().some((p) => p.a?.seq === first.a!.seq)).toBe(true);
    if (first?.b) expect(d.page().some((p) => p.b?.seq === first.b!.seq)).toBe(true);
    expectAligned(d);
    d.key('', { tab: true });
    for (const [i, k] of splitKeys(':105\r', {})) d.key(i, k);
    expect(d.b.cursor).toBe(105);
    expect(onCursor(d).b?.seq).toBe(105);
    expectAligned(d);
    d.key('', { tab: true, shift: true });
    expect(d.focus).toBe('a');
    for (const [i, k] of splitKeys('/request_end\r', {})) d.key(i, k);
    expect(onCursor(d).a?.kind).toBe('request_end');
    expectAligned(d);
  });
});
