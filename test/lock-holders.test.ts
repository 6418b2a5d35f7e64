/**
 * The lock-holder table (src/reduce/lock-holders.ts) is where holding is worked out; the replay
 * model, the timeline export and the browser's lock lanes only hear its holds. On a recorded run
 * with woken readers, handed-over spinlocks and downgrades, each of the three shows exactly the
 * table's holding intervals.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { timeline, type TraceRecord } from '../src/export/timeline.js';
import { LockHolders, type Hold } from '../src/reduce/lock-holders.js';
import { readRun } from '../src/reduce/read-run.js';
import { toDoc } from '../src/replay/doc.js';
import { fold } from '../src/replay/fold.js';
import { emptyModel, type Model } from '../src/replay/model-types.js';
import { project, runContext } from '../src/replay/projection.js';
import { openRunRef, type RunInfo, type Trace } from '../src/trace/reader.js';
import type { TraceEvent } from '../src/trace/vocab/index.js';
import { computeLanes, holdSpans } from '../tui/data/lanes.js';
import { mmtrace, tempDir } from './helpers/cli.js';

/** One holding interval: who held which lock in which mode, from event `from` to event `to` (null: still held at the end). */
interface Interval {
  tid: number;
  lock: string;
  cls: string;
  mode: string;
  from: number;
  to: number | null;
}

const lockName = (h: Pick<Hold, 'object' | 'id'>) => `${h.object} ${h.id}`;

let trace: Trace;
let run: RunInfo;
/** The table's intervals over the whole run, and each event's tick. */
const intervals: Interval[] = [];
const tickOf: number[] = [];
const events: TraceEvent[] = [];

beforeAll(async () => {
  const file = join(tempDir(), 'mixed.db');
  // mixed: mmap_lock readers woken by a writer's release, munmap's downgrade, PTLs handed over
  const r = mmtrace(['record', 'mixed', '--path=gup', `--out=${file}`]);
  expect(r.status, r.stderr).toBe(0);
  ({ trace, run } = await openRunRef(`${file}#gup`));
  const table = new LockHolders();
  const open = new Map<Hold, Interval>();
  table.onHold({
    held(h, e) {
      const i = { tid: h.tid, lock: lockName(h), cls: h.class, mode: h.mode, from: e.seq, to: null };
      intervals.push(i);
      open.set(h, i);
    },
    released(h, e) {
      open.get(h)!.to = e.seq;
    },
    releasedUnseen: () => expect.unreachable('a table fed the whole run sees every hold begin'),
  });
  readRun(trace, run, [table, {
    event(e) {
      tickOf[e.seq] = e.tick;
      events.push(structuredClone(e));
    },
  }]);
});

/** The table's intervals that hold at event `seq` (after it), as `tid lock mode` lines. */
function heldAt(seq: number, keep: (i: Interval) => boolean): string[] {
  return intervals.filter((i) => keep(i) && i.from <= seq && (i.to === null || seq < i.to)).map((i) => `${i.tid} ${i.lock} ${i.mode}`).sort();
}

describe('the lock-holder table', () => {
  test('sees the grants a recorded run makes: woken readers, handed-over spinlocks, downgrades', () => {
    const grantedByWake = events.filter((e) => e.kind === 'rwsem_wake' && e.mode === 'read');
    const handedOver = events.filter((e) => e.kind === 'spin_lock' && e.waited);
    const downgrades = events.filter((e) => e.kind === 'rwsem_acquire' && e.how === 'downgrade');
    expect(grantedByWake.length && handedOver.length && downgrades.length).toBeGreaterThan(0);
    // A woken reader holds the rwsem from the wake that granted it, not from its own rwsem_acquire.
    for (const wake of grantedByWake) {
      for (const tid of (wake as TraceEvent & { woken: number[] }).woken) {
        expect(intervals.some((i) => i.tid === tid && i.from === wake.seq && i.mode === 'read')).toBe(true);
      }
    }
    // A downgrade ends the write hold and begins a read hold at the same event.
    for (const d of downgrades) {
      expect(intervals.some((i) => i.tid === d.tid && i.to === d.seq && i.mode === 'write')).toBe(true);
      expect(intervals.some((i) => i.tid === d.tid && i.from === d.seq && i.mode === 'read')).toBe(true);
    }
  });
});

describe('class sets (LockClassSet): a task\'s holds tested with one AND', () => {
  /** What holdsAny() must answer: the holds themselves, one by one. */
  const byHolds = (table: LockHolders, tid: number, names: ReadonlySet<string>) => table.heldBy(tid).some((h) => names.has(h.class));
  const spin = (seq: number, tid: number, kind: 'spin_lock' | 'spin_unlock', lock: number, cls: string) =>
    ({ kind, seq, tick: seq, tid, lock, class: cls, waited: false, trylock: false }) as unknown as TraceEvent;

  test('agree with the holds at every event of a recorded run', () => {
    const table = new LockHolders();
    const sets = [['mmap_lock', 'vma_lock', 'i_mmap_rwsem', 'anon_vma'], ['ptl', 'pmd_lock', 'page_table_lock'], ['mmap_lock'], ['lru_lock']]
      .map((names) => table.classSet(names));
    expect(sets.every((s) => s.exact)).toBe(true);
    const tids = [...new Set(events.map((e) => e.tid))];
    let positives = 0;
    readRun(trace, run, [table, {
      event() {
        for (const tid of tids) {
          for (const set of sets) {
            const held = byHolds(table, tid, set.names);
            expect(table.holdsAny(tid, set)).toBe(held);
            if (held) positives++;
          }
        }
      },
    }]);
    expect(positives).toBeGreaterThan(1000);
  });

  test('a class still held by a second lock of it stays in the set when the first is released', () => {
    const table = new LockHolders();
    const ptl = table.classSet(['ptl']);
    table.event(spin(1, 7, 'spin_lock', 100, 'ptl'));
    table.event(spin(2, 7, 'spin_lock', 101, 'ptl'));
    table.event(spin(3, 7, 'spin_unlock', 100, 'ptl'));
    expect(table.holdsAny(7, ptl)).toBe(true);
    table.event(spin(4, 7, 'spin_unlock', 101, 'ptl'));
    expect(table.holdsAny(7, ptl)).toBe(false);
  });

  test('a seeded rwsem writer and a seeded spinlock owner are in their task\'s classes', () => {
    const table = new LockHolders();
    const mmap = table.classSet(['mmap_lock']);
    const ptl = table.classSet(['ptl']);
    table.seed({
      rwsems: [{ sem: 1, class: 'mmap_lock', readers: [], writer: 3 }],
      spins: [{ lock: 2, class: 'ptl', owner: 4, waiters: [] }],
      tasks: [],
    });
    expect(table.holdsAny(3, mmap)).toBe(true);
    expect(table.holdsAny(4, ptl)).toBe(true);
    expect(table.holdsAny(3, ptl)).toBe(false);
  });

  test('a set of classes met after the first 31 is not exact, and is answered hold by hold', () => {
    const table = new LockHolders();
    const classes = Array.from({ length: 40 }, (_, i) => `class${i}`);
    table.seed({ rwsems: classes.map((cls, i) => ({ sem: i + 1, class: cls, readers: [5], writer: null })), spins: [], tasks: [] });
    const early = table.classSet(['class3']);
    const late = table.classSet(['class35', 'nowhere']);
    expect(early.exact).toBe(true);
    expect(late.exact).toBe(false);
    expect(table.holdsAny(5, early)).toBe(true);
    expect(table.holdsAny(5, late)).toBe(true);
    expect(table.holdsAny(6, late)).toBe(false);
    expect(table.holdsAny(5, table.classSet(['nowhere']))).toBe(false);
  });
});

describe('every consumer shows the table\'s holds', () => {
  test('the replay model: rwsem readers and writers and spinlock owners after every event', () => {
    const ctx = runContext(trace, run.id);
    const model: Model = emptyModel();
    const modelHolders = (m: Model) => [
      ...[...m.rwsems.values()].flatMap((s) => [
        ...s.readers.map((r) => `${r} rwsem ${s.sem} read`),
        ...(s.writer === null ? [] : [`${s.writer} rwsem ${s.sem} write`]),
      ]),
      ...[...m.spins.values()].flatMap((s) => (s.owner === null ? [] : [`${s.owner} spin ${s.lock} spin`])),
    ].sort();
    let checked = 0;
    readRun(trace, run, [{
      event(e, code) {
        fold(model, ctx, e, code);
        expect(modelHolders(model), `after event ${e.seq}`).toEqual(heldAt(e.seq, (i) => !i.lock.startsWith('vma')));
        checked++;
      },
    }]);
    expect(checked).toBe(run.events);
  });

  test('the replay model started from a projection part way through agrees too', () => {
    const mid = Math.floor(run.events / 2);
    const doc = toDoc(project(trace, run, mid).model);
    const fromDoc = doc.locks.rwsems.flatMap((s) => [...s.readers.map((r) => `${r} rwsem ${s.sem} read`), ...(s.writer === null ? [] : [`${s.writer} rwsem ${s.sem} write`])])
      .concat(doc.locks.spinlocks.flatMap((s) => (s.owner === null ? [] : [`${s.owner} spin ${s.lock} spin`]))).sort();
    expect(fromDoc).toEqual(heldAt(mid, (i) => !i.lock.startsWith('vma')));
  });

  test('the timeline export: every lock slice is one of the table\'s holds, at its ticks', () => {
    const records: TraceRecord[] = [];
    readRun(trace, run, timeline(trace, run, (r) => records.push(r)));
    const slices = new Map<number, { b: TraceRecord; e?: TraceRecord }>();
    for (const r of records) {
      if (!r.cat?.startsWith('lock,')) continue;
      if (r.ph === 'b') slices.set(r.id!, { b: r });
      else slices.get(r.id!)!.e = r;
    }
    const shown = [...slices.values()].map(({ b, e }) => `${b.tid} ${b.args!.lock} ${b.name} ${b.ts}-${e?.ts ?? 'end'}`).sort();
    // The timeline leaves out the per-VMA locks.
    const table = intervals.filter((i) => !i.lock.startsWith('vma'))
      .map((i) => `${i.tid} ${Number(i.lock.split(' ')[1])} ${i.cls} ${i.mode} ${tickOf[i.from]}-${i.to === null ? 'end' : tickOf[i.to]}`).sort();
    expect(shown.length).toBeGreaterThan(100);
    expect(shown).toEqual(table);
  });

  test('the lock lanes: every hold interval of a window is the table\'s, cut to the window', () => {
    const width = 120;
    let compared = 0;
    for (let cursor = width; cursor + width <= run.events; cursor += 97) {
      const window = events.slice(cursor - width / 2 - 1, cursor + width / 2 - 1);
      expect(window.some((e) => e.seq === cursor)).toBe(true);
      const doc = toDoc(project(trace, run, cursor).model);
      const first = window[0]!.seq;
      const last = window.at(-1)!.seq;
      for (const s of holdSpans(doc, window, cursor)) {
        const lock = `${s.object} ${s.id}`;
        const match = intervals.find((i) => i.tid === s.tid && i.lock === lock && i.mode === s.mode
          && (s.from === -Infinity ? i.from < first : i.from === s.from)
          && (s.to === Infinity ? i.to === null || i.to > last : i.to === s.to));
        // A per-VMA read hold spanning the whole window is not in the document, so not in the lanes;
        // every span the lanes have is one of the table's.
        expect(match, `cursor ${cursor}: ${JSON.stringify(s)}`).toBeDefined();
        compared++;
      }
      // And the lanes draw them: mmap_lock held for write by the table shows as M, unless the task waits.
      const lanes = computeLanes(doc, window, cursor);
      const at = lanes.cursor;
      for (const lane of lanes.lanes) {
        const writes = heldAt(cursor, (i) => i.tid === lane.tid && i.cls === 'mmap_lock' && i.mode === 'write');
        if (writes.length > 0 && !'wzs'.includes(lane.cells[at]!)) expect(lane.cells[at]).toBe('M');
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});
