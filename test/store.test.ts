import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MmtraceError } from '../src/errors.js';
import { STORE_SCHEMA_VERSION } from '../migrations/index.js';
import { openForRead, openForWrite } from '../src/store/db.js';
import { READER_MMAP_BYTES, writerPragmas } from '../src/store/pragmas.js';
import { Migrator } from '../src/store/kysely.js';
import { chain, eventHash, HASH_SEED, hashHex } from '../src/trace/hash.js';
import { openTrace, parseRunRef, type EventRow, type Trace } from '../src/trace/reader.js';
import { Recorder, type RunHeader, type WriterMode } from '../src/trace/recorder.js';
import { WorkerBackend } from '../src/trace/writer-backend.js';
import {
  decode, emit, GupFlags, K, PtLevel, RwsemMode, SCHEMA_VERSION, VmaReadResult, VmFault,
} from '../src/trace/vocab/index.js';
import { allDecisions, stamp, type SinkRow } from './helpers/rows.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The worker writer runs dist/src/trace/writer-worker.js: (re)build dist when it is older than the sources. */
function ensureBuilt(): void {
  const newest = (d: string): number => readdirSync(join(ROOT, d))
    .filter((f) => f.endsWith('.ts'))
    .reduce((m, f) => Math.max(m, statSync(join(ROOT, d, f)).mtimeMs), 0);
  const src = Math.max(newest('src/trace'), newest('src/store'), newest('migrations'));
  const out = join(ROOT, 'dist/src/trace/writer-worker.js');
  if (existsSync(out) && statSync(out).mtimeMs >= src) return;
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
  if (!existsSync(out)) throw new Error('could not build dist/ (npx tsc -p tsconfig.json)');
}

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mmtrace-store-'));
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let fileNo = 0;
function tmpFile(name = 'trace'): string {
  return join(dir, `${name}-${++fileNo}.db`);
}

function header(name: string, extra: Partial<RunHeader> = {}): RunHeader {
  return {
    name, workload: 'cross-vma-race', params: { pages: 4 }, path: name.split('+')[0]!,
    variant: name.includes('+') ? name.split('+').slice(1) : [], seed: 7, strategy: 'random',
    config: { CONFIG_PER_VMA_LOCK: true }, codeVersion: 'test-1', ...extra,
  };
}

type Ev = SinkRow;

/** The interned names of the scripted run, by id. */
const MONITOR = 1;
const CMDLINE = 2;
const MMAP_LOCK = 3;
const ANON_READ_ZERO = 4;

/** A small run with every feature: names, tasks, negative and large fields, blobs (one empty), requests. */
function scriptedRun(): { names: string[]; tasks: [number, string, boolean][]; events: Ev[] } {
  const names = ['', 'monitor', 'cmdline', 'mmap_lock', 'anon_read_zero'];
  const tasks: [number, string, boolean][] = [[1, 'monitor', false], [2, 'target', false], [3, 'khugepaged', true]];
  const bytes = new Uint8Array([0x2f, 0x62, 0x69, 0x6e, 0x00, 0xff]);
  const events: Ev[] = [];
  const e = (tick: number, tid: number, staged: 0): void => {
    events.push(stamp(events.length + 1, tick, tid, staged));
  };
  e(0, 1, emit.task_start({ name: MONITOR, pid: 100 }));
  e(0, 2, emit.task_start({ name: CMDLINE, pid: 200 }));
  e(5, 1, emit.request_begin({ req: 1, op: CMDLINE, addr: 0x7ffd_1234_5000, len: 4096 }));
  e(10, 1, emit.mmap_lock_start_locking({ mm: 0xffff_8880_0000, memcg_id: 0, write: false }));
  e(20, 1, emit.rwsem_acquire({ sem: 0xffff_8880_0010, class: MMAP_LOCK, mode: 'read', how: 'fast' }));
  e(30, 2, emit.vma_start_read({ vma: 0xffff_8881_0000, result: 'locked_out', refcnt: -1 }));
  e(40, 0, emit.rcu_gp_start({ gp: 9, readers: 0 }));
  e(50, 1, emit.pgtable_read({ level: 'pte', addr: 0x7ffd_1234_5000, value: 0x8000_0000_1234_5067 % 2 ** 52, lockless: true }));
  e(60, 1, emit.fault({ vma: 0xffff_8881_0000, addr: 0x7ffd_1234_5000, how: ANON_READ_ZERO, result: VmFault.bits.VM_FAULT_MAJOR }));
  e(70, 1, emit.copy_to_folio({ addr: 0x7ffd_1234_5000, len: 0, folio: 0, hash: 0xdeadbeef, data: new Uint8Array(0) }));
  e(80, 1, emit.request_end({
    req: 1, result: 6, hash: 0xdeadbeef, flags: GupFlags.bits.FOLL_WRITE | GupFlags.bits.FOLL_GET, data: bytes,
  }));
  e(90, 2, emit.request_begin({ req: 1, op: CMDLINE, addr: 0x1000, len: 16 }));
  e(95, 3, emit.vmstat({ counter: MMAP_LOCK }));
  return { names, tasks, events };
}

async function record(file: string, run: { names: string[]; tasks: [number, string, boolean][]; events: Ev[] },
  name: string, writer: WriterMode, batch = 4): Promise<number> {
  const rec = await Recorder.open(file, { writer, batch });
  expect(rec.writerMode).toBe(writer);
  const id = rec.beginRun(header(name));
  for (const [tid, n, daemon] of run.tasks) rec.task(tid, n, daemon);
  for (let i = 1; i < run.names.length; i++) rec.name(i, run.names[i]!);
  for (const ev of run.events) rec.event(...ev);
  const summary = rec.finish();
  expect(summary.status).toBe('complete');
  expect(summary.events).toBe(run.events.length);
  rec.close();
  return id;
}

/** An event as the vocabulary decodes it, its blob (a Buffer when read back) as a list of bytes. */
function read(row: EventRow | Ev, names: readonly string[]): Record<string, unknown> {
  const event = Object.entries(decode(row, names));
  return Object.fromEntries(event.map(([field, value]) => [field, value instanceof Uint8Array ? [...value] : value]));
}

function hashOf(rows: Iterable<EventRow | Ev>): string {
  let h = HASH_SEED;
  for (const r of rows) h = chain(h, eventHash(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] ?? undefined));
  return hashHex(h);
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<MmtraceError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(MmtraceError);
    expect((e as MmtraceError).code).toBe(code);
    expect((e as MmtraceError).message).not.toContain('\n');
    return e as MmtraceError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe.each(['sync', 'worker'] as const)('round trip (%s writer)', (writer) => {
  let file: string;
  let trace: Trace;
  const run = scriptedRun();

  beforeAll(async () => {
    file = tmpFile(writer);
    await record(file, run, 'gup', writer);
    trace = await openTrace(file);
  });
  afterAll(() => trace.close());

  it('lists the run with its header', () => {
    const runs = trace.listRuns();
    expect(runs).toHaveLength(1);
    const r = runs[0]!;
    expect(r).toMatchObject({
      id: 1, name: 'gup', workload: 'cross-vma-race', path: 'gup', variant: [], seed: 7, strategy: 'random',
      status: 'complete', events: run.events.length, params: { pages: 4 }, config: { CONFIG_PER_VMA_LOCK: true },
      codeVersion: 'test-1', schemaVersion: SCHEMA_VERSION, error: null,
    });
    expect(r.finalHash).toBe(hashOf(run.events));
  });

  it('returns every field and blob as written', () => {
    const rows = [...trace.events(1)];
    expect(rows).toHaveLength(run.events.length);
    rows.forEach((row, i) => {
      expect(read(row, run.names)).toEqual(read(run.events[i]!, run.names));
    });
    expect(rows.map((r) => read(r, run.names)).find((e) => e.kind === 'copy_to_folio')).toMatchObject({ data: [] });
    expect(hashOf(rows)).toBe(trace.listRuns()[0]!.finalHash);
    expect([...trace.events(1, 3, 5)].map((r) => r[0])).toEqual([3, 4, 5]);
    expect(trace.eventCount(1)).toBe(run.events.length);
  });

  it('returns names, tasks, batches and decisions', () => {
    expect(trace.names(1)).toEqual(run.names);
    expect(trace.tasks(1)).toEqual(run.tasks.map(([tid, name, daemon]) => ({ tid, name, daemon })));
    const batches = trace.batches(1);
    expect(batches.map((b) => b.lastSeq)).toEqual([4, 8, 12, 13]);
    expect(batches.map((b) => b.events)).toEqual([4, 4, 4, 1]);
    // the chain value after each batch equals the hash recomputed over the events up to it
    for (const b of batches) expect(hashHex(b.hash)).toBe(hashOf(run.events.slice(0, b.lastSeq)));
    expect(allDecisions(trace.decisions(1))).toEqual(run.events.filter((e) => e[2] !== 0).map((e) => e[2]));
  });

  it('finds the n-th event by kind, task and field names, through the file\'s own layout', () => {
    expect(trace.findEvent(1, { kinds: ['request_begin'] }, 2)).toBe(12);
    expect(trace.findEvent(1, { kinds: ['request_begin'], tids: [2] })).toBe(12);
    expect(trace.findEvent(1, { kinds: ['request_begin'], fields: { op: CMDLINE, addr: 0x1000 } })).toBe(12);
    expect(trace.findEvent(1, { kinds: ['vma_start_read'], fields: { result: VmaReadResult.codes.locked_out } })).toBe(6);
    expect(trace.findEvent(1, { kinds: ['task_start', 'vmstat'] }, 3)).toBe(13);
    expect(trace.findEvent(1, { tids: [0] })).toBe(7);
    expect(trace.findEvent(1, { kinds: ['request_begin'] }, 3)).toBeUndefined();
    expect(() => trace.findEvent(1, { kinds: ['request_begin'], fields: { folio: 1 } })).toThrow(/no field 'folio'/);
  });

  it('pairs requests', () => {
    expect(trace.requests(1)).toEqual([{ firstSeq: 3, lastSeq: 11 }, { firstSeq: 12, lastSeq: null }]);
  });

  it('resolves runs', () => {
    expect(trace.resolveRun(undefined).name).toBe('gup');
    expect(trace.resolveRun('gup').id).toBe(1);
    expect(trace.resolveRun('1').name).toBe('gup');
  });
});

describe('determinism', () => {
  it('the log tables do not depend on the writer, the time or the process', async () => {
    const run = scriptedRun();
    const dump = (file: string): unknown => {
      const db = new Database(file, { readonly: true });
      const out = Object.fromEntries(['events', 'names', 'tasks', 'batches', 'requests', 'kinds'].map((t) =>
        [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
      db.close();
      return out;
    };
    const a = tmpFile('det-a');
    const b = tmpFile('det-b');
    await record(a, run, 'gup', 'sync', 5);
    await record(b, run, 'gup', 'worker', 5);
    expect(dump(b)).toEqual(dump(a));
    expect((dump(a) as { events: unknown[] }).events).toHaveLength(13);
  });
});

describe('views for sqlite3 users', () => {
  let db: Database.Database;
  beforeAll(async () => {
    const file = tmpFile('views');
    const run = scriptedRun();
    await record(file, run, 'gup', 'sync');
    await record(file, run, 'fast+singleVmaOnly', 'sync');
    db = new Database(file, { readonly: true });
  });
  afterAll(() => db.close());

  it('events_v has readable names and fields by name', () => {
    const cols = (db.prepare('SELECT * FROM events_v LIMIT 1').columns()).map((c) => c.name);
    expect(cols.slice(0, 7)).toEqual(['run', 'seq', 'tick', 'tid', 'task', 'kind', 'family']);
    for (const f of ['mm', 'write', 'vma', 'addr', 'level', 'folio', 'class', 'result', 'req', 'op', 'end', 'order', 'counter']) {
      expect(cols).toContain(f);
    }
    const rows = db.prepare("SELECT * FROM events_v WHERE run = 'fast+singleVmaOnly' ORDER BY seq").all() as Record<string, unknown>[];
    expect(rows).toHaveLength(13);
    expect(rows[0]).toMatchObject({ run: 'fast+singleVmaOnly', seq: 1, tick: 0, task: 'monitor', kind: 'task_start', family: 'sched', name: 'monitor', pid: 100 });
    expect(rows[2]).toMatchObject({ kind: 'request_begin', family: 'request', req: 1, op: 'cmdline', addr: 0x7ffd_1234_5000, len: 4096 });
    expect(rows[3]).toMatchObject({ kind: 'mmap_lock_start_locking', family: 'lock', mm: 0xffff_8880_0000, write: 0, vma: null });
    expect(rows[4]).toMatchObject({ kind: 'rwsem_acquire', class: 'mmap_lock', mode: RwsemMode.codes.read });
    expect(rows[5]).toMatchObject({
      task: 'target', kind: 'vma_start_read', vma: 0xffff_8881_0000, result: VmaReadResult.codes.locked_out, refcnt: -1,
    });
    expect(rows[6]).toMatchObject({ tid: 0, task: 'sim', kind: 'rcu_gp_start', gp: 9 });
    expect(rows[7]).toMatchObject({ kind: 'pgtable_read', level: PtLevel.codes.pte, addr: 0x7ffd_1234_5000, lockless: 1 });
    expect(rows[8]).toMatchObject({ kind: 'fault', how: 'anon_read_zero', result: VmFault.bits.VM_FAULT_MAJOR });
    expect(rows[12]).toMatchObject({ task: 'khugepaged', kind: 'vmstat', counter: 'mmap_lock' });
  });

  it('requests_v pairs begin and end per task and req', () => {
    const cols = (db.prepare('SELECT * FROM requests_v LIMIT 1').columns()).map((c) => c.name);
    expect(cols).toEqual(['run', 'request', 'task', 'op', 'addr', 'len', 'flags', 'result', 'data_hash', 'first_seq', 'last_seq', 'addr_hex', 'data_hash_hex']);
    const rows = db.prepare("SELECT * FROM requests_v WHERE run = 'gup' ORDER BY first_seq").all();
    expect(rows).toEqual([
      {
        run: 'gup', request: 'monitor:1', task: 'monitor', op: 'cmdline', addr: 0x7ffd_1234_5000, len: 4096,
        flags: GupFlags.bits.FOLL_WRITE | GupFlags.bits.FOLL_GET, result: 6, data_hash: 0xdeadbeef, first_seq: 3, last_seq: 11,
        addr_hex: '0x7ffd12345000', data_hash_hex: 'deadbeef',
      },
      { run: 'gup', request: 'target:1', task: 'target', op: 'cmdline', addr: 0x1000, len: 16, flags: null, result: null, data_hash: null, first_seq: 12, last_seq: null, addr_hex: '0x1000', data_hash_hex: null },
    ]);
    expect((db.prepare('SELECT count(*) AS n FROM requests_v').get() as { n: number }).n).toBe(4);
  });

  it('the log carries its vocabulary', () => {
    const k = db.prepare('SELECT * FROM kinds WHERE name = ?').get('request_end');
    expect(k).toEqual({ kind: K.request_end, name: 'request_end', family: 'request', a: 'req', b: 'result', c: 'hash', d: 'flags', names: '[]', blob: 'bytes',
      types: JSON.stringify(['int', 'int', 'hash', 'flags:gup_flags']),
    });
  });
});

describe('several runs in a file', () => {
  it('appends runs, refuses a duplicate name, replaces on request, resolves FILE#RUN', async () => {
    const file = tmpFile('multi');
    const run = scriptedRun();
    await record(file, run, 'gup', 'sync');
    await record(file, run, 'fast', 'sync');
    const rec = await Recorder.open(file, { writer: 'sync' });
    await expectCode(() => rec.beginRun(header('fast')), 'ERUN_EXISTS');
    const id = rec.beginRun(header('fast', { seed: 8 }), { replace: true });
    expect(id).toBe(3);
    rec.event(...stamp(1, 0, 1, emit.rcu_read_lock({ nesting: 1 })));
    rec.finish();
    rec.close();

    const t = await openTrace(file);
    expect(t.listRuns().map((r) => [r.id, r.name, r.seed, r.events])).toEqual([[1, 'gup', 7, 13], [3, 'fast', 8, 1]]);
    expect(t.names(3)).toEqual(['']);
    expect(t.batches(2)).toEqual([]);
    const amb = await expectCode(() => t.resolveRun(undefined), 'EAMBIGUOUS_RUN');
    expect(amb.message).toContain('gup, fast');
    await expectCode(() => t.resolveRun('slow'), 'EUNKNOWN_RUN');
    expect(t.resolveRun('3').name).toBe('fast');
    t.close();

    expect(parseRunRef(`${file}#fast`)).toEqual({ file, run: 'fast' });
    expect(parseRunRef('a#b.db#gup')).toEqual({ file: 'a#b.db', run: 'gup' });
    expect(parseRunRef('x.db')).toEqual({ file: 'x.db' });
    await expectCode(() => parseRunRef('x.db#'), 'EBADREF');
  });
});

describe('a reader maps the file', () => {
  it('maps at most READER_MMAP_BYTES, and sees what a writer adds and replaces while it is open', async () => {
    const file = tmpFile('mapped');
    const run = scriptedRun();
    await record(file, run, 'gup', 'sync');
    const db = await openForRead(file);
    expect(db.pragma('mmap_size', { simple: true })).toBe(READER_MMAP_BYTES);
    db.close();

    const t = await openTrace(file);
    const before = [...t.events(1)];
    // the file grows under the reader's map: a second run, then the first replaced
    await record(file, run, 'fast', 'worker');
    const rec = await Recorder.open(file, { writer: 'sync' });
    rec.beginRun(header('gup', { seed: 9 }), { replace: true });
    rec.event(...stamp(1, 0, 1, emit.rcu_read_lock({ nesting: 1 })));
    rec.finish();
    rec.close();
    expect(t.listRuns().map((r) => [r.name, r.seed, r.events])).toEqual([['fast', 7, 13], ['gup', 9, 1]]);
    expect(hashOf(t.events(2))).toBe(hashOf(before));
    expect([...t.events(3)].map((r) => r[3])).toEqual([K.rcu_read_lock]);
    t.close();
  });
});

describe('a writing connection', () => {
  it('is in WAL mode without fsync, and checkpoints every 2000 pages (the last checkpoint is in the recording\'s time)', () => {
    const db = new Database(tmpFile('pragmas'));
    writerPragmas(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(0);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(2000);
    db.close();
  });

  it('leaves no WAL beside a finished recording, for read-only readers', async () => {
    const file = tmpFile('settled');
    await record(file, scriptedRun(), 'gup', 'worker');
    expect(existsSync(`${file}-wal`)).toBe(false);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });
});

describe('a file being created', () => {
  // kysely runs SQLite migrations one by one without a transaction; a reader polling for a new
  // recording (tui --follow) must not see them one by one, or it migrates the file itself.
  it('shows readers no schema or the whole schema, never a part of it', async () => {
    const file = tmpFile('creating');
    const seen = new Set<string>();
    let done = false;
    const probe = () => {
      if (!existsSync(file)) return;
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const meta = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'meta'").get() as { n: number };
        const version = meta.n ? (db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value : 'none';
        const views = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'view'").get() as { n: number }).n;
        seen.add(`${version}/${views > 0 ? 'views' : 'no views'}`);
      } catch (e) {
        seen.add(`error: ${(e as Error).message}`);
      } finally {
        db.close();
      }
    };
    // the opening awaits kysely's promises between statements: probe the file between them
    const polling = (async () => {
      while (!done) {
        probe();
        await Promise.resolve();
      }
    })();
    const db = await openForWrite(file);
    done = true;
    await polling;
    probe();
    db.close();
    const whole = `${STORE_SCHEMA_VERSION}/views`;
    expect(seen.has(whole)).toBe(true);
    expect([...seen].filter((s) => s !== whole && s !== 'none/no views')).toEqual([]);
  });
});

describe('a file opened for writing again', () => {
  // kysely's Migrator looks for its tables by introspecting every table and view of the file,
  // which makes SQLite compile each view: most of the cost of reopening a file that has them.
  it('runs kysely\'s Migrator while a migration is missing, and not once every one has run', async () => {
    const file = tmpFile('reopened');
    const migrateToLatest = vi.spyOn(Migrator.prototype, 'migrateToLatest');
    try {
      (await openForWrite(file)).close();
      expect(migrateToLatest).toHaveBeenCalledTimes(1);
      (await openForWrite(file)).close();
      (await openForWrite(file)).close();
      expect(migrateToLatest).toHaveBeenCalledTimes(1);
    } finally {
      migrateToLatest.mockRestore();
    }
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(STORE_SCHEMA_VERSION));
      expect(db.prepare('SELECT count(*) FROM kysely_migration').pluck().get()).toBe(STORE_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('keeps its views as they are when they are already this build\'s (no schema change)', async () => {
    const file = tmpFile('views-kept');
    await record(file, scriptedRun(), 'first', 'sync');
    const cookie = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.pragma('schema_version', { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    const before = cookie();
    (await openForWrite(file)).close();
    expect(cookie()).toBe(before);
    // a view that is not this build's is written again
    const db = new Database(file);
    db.exec('DROP VIEW copies_v');
    db.exec('CREATE VIEW copies_v AS SELECT 1 AS stale');
    db.close();
    (await openForWrite(file)).close();
    const after = new Database(file, { readonly: true });
    try {
      expect(after.prepare('SELECT * FROM copies_v LIMIT 1').columns().map((c) => c.name)).toContain('vma');
    } finally {
      after.close();
    }
  });
});

describe('errors', () => {
  it('missing file → ENOENT_TRACE', async () => {
    const e = await expectCode(openTrace(join(dir, 'nope.db')), 'ENOENT_TRACE');
    expect(e.message).toContain('nope.db');
  });

  it('a text file → ENOTSQLITE, for reading and for writing', async () => {
    const f = join(dir, 'notes.db');
    writeFileSync(f, 'these are not the pages you are looking for\n'.repeat(200));
    await expectCode(openTrace(f), 'ENOTSQLITE');
    await expectCode(Recorder.open(f), 'ENOTSQLITE');
  });

  it('another SQLite database or an empty file → ENOTTRACE', async () => {
    const f = join(dir, 'other.db');
    const db = new Database(f);
    db.exec('CREATE TABLE t (x)');
    db.close();
    await expectCode(openTrace(f), 'ENOTTRACE');
    await expectCode(Recorder.open(f), 'ENOTTRACE');
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    await expectCode(openTrace(empty), 'ENOTTRACE');
  });

  it('a newer storage schema → ESCHEMA_NEWER', async () => {
    const f = tmpFile('newer');
    await record(f, scriptedRun(), 'gup', 'sync');
    const db = new Database(f);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(STORE_SCHEMA_VERSION + 1));
    db.close();
    const e = await expectCode(openTrace(f), 'ESCHEMA_NEWER');
    expect(e.message).toContain(`storage schema ${STORE_SCHEMA_VERSION + 1}`);
    await expectCode(Recorder.open(f), 'ESCHEMA_NEWER');
  });

  it('an output path that cannot be created → EUNWRITABLE; a directory → EISDIR', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    await expectCode(Recorder.open(join(blocker, 'sub', 'out.db')), 'EUNWRITABLE');
    const e = await expectCode(Recorder.open(dir), 'EISDIR');
    expect(e.message).toMatch(/is a directory, not a trace file/);
  });

  it('a writer worker that cannot be started → EUNWRITABLE; a file refused for its own reason says that first', async () => {
    // what WorkerBackend.boot gives for a thread that could not be started (test/writer-boot.test.ts)
    const boot = vi.spyOn(WorkerBackend, 'boot').mockImplementation(() => ({
      open: () => Promise.reject(new Error('no thread for it')),
      stop: () => {},
    }));
    try {
      const f = tmpFile('no-worker');
      const e = await expectCode(Recorder.open(f, { writer: 'worker' }), 'EUNWRITABLE');
      expect(e.message).toMatch(/writer worker: no thread for it/);
      // the file was accepted (created, migrated) before the worker failed: left out of WAL mode
      expect(existsSync(`${f}-wal`)).toBe(false);
      const db = new Database(f, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
      const other = tmpFile('other-no-worker');
      const o = new Database(other);
      o.exec('CREATE TABLE t (x)');
      o.close();
      await expectCode(Recorder.open(other, { writer: 'worker' }), 'ENOTTRACE');
    } finally {
      boot.mockRestore();
    }
  });

  it('disk full → EDISKFULL, committed batches intact, run failed', async () => {
    for (const writer of ['sync', 'worker'] as const) {
      const f = tmpFile(`full-${writer}`);
      // a small file limit: schema + a few batches fit, then SQLITE_FULL
      const rec = await Recorder.open(f, { writer, batch: 1000, maxPageCount: 64 });
      rec.beginRun(header('gup'));
      rec.task(1, 'monitor', false);
      const evs: Ev[] = [];
      let err: unknown;
      try {
        for (let i = 1; i <= 200_000; i++) {
          const ev = stamp(i, i * 10, 1, emit.copy({ addr: 0x7ffd_0000_0000 + i * 4096, len: 4096, folio: i, hash: 0xdeadbeef }));
          evs.push(ev);
          rec.event(...ev);
        }
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MmtraceError);
      expect((err as MmtraceError).code).toBe('EDISKFULL');
      const s = rec.finish('failed', err);
      expect(s.status).toBe('failed');
      expect(s.events % 1000).toBe(0);
      expect(s.events).toBeGreaterThan(0);
      rec.close();

      const t = await openTrace(f);
      const r = t.listRuns()[0]!;
      expect(r.status).toBe('failed');
      expect(r.events).toBe(s.events);
      expect(r.error).toContain('disk full');
      const rows = [...t.events(1)];
      expect(rows).toHaveLength(s.events);
      expect(hashOf(rows)).toBe(r.finalHash);
      expect(r.finalHash).toBe(hashOf(evs.slice(0, s.events)));
      expect(s.finalHash, 'the summary the recorder returns').toBe(r.finalHash);
      t.close();
    }
  });
});
