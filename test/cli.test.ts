/**
 * The command contract (DESIGN.md "Command contract"): JSON shapes, exit codes, one-line errors on
 * bad input, and a killed recording that keeps its committed events and says it is incomplete.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { hashHex } from '../src/trace/hash.js';
import { GupFlags } from '../src/trace/vocab/index.js';
import { mmtrace, mmtraceJson, recordAndKill, tempDir } from './helpers/cli.js';

describe('mmtrace workloads', () => {
  test('--json lists every workload with its parameters and defaults', () => {
    const doc = mmtraceJson(['workloads']);
    const names = doc.workloads.map((w: { name: string }) => w.name);
    expect(names).toEqual(expect.arrayContaining(['cmdline-poll', 'stuck-writer', 'scale']));
    const poll = doc.workloads.find((w: { name: string }) => w.name === 'cmdline-poll');
    expect(poll.params.reads.default).toBe(20);
    expect(poll.description).toMatch(/cmdline/);
  });
});

describe('mmtrace record and list', () => {
  test('record --json and list --json give the documented fields', () => {
    const file = join(tempDir(), 't.db');
    const rec = mmtraceJson(['record', 'cmdline-poll', '--param', 'reads=3', `--out=${file}`]);
    expect(rec.file).toBe(file);
    expect(rec.runs).toHaveLength(1);
    const run = rec.runs[0];
    expect(Object.keys(run).sort()).toEqual(['events', 'finalHash', 'id', 'limit', 'name', 'requests', 'status']);
    expect(run).toMatchObject({ name: 'gup', status: 'complete', limit: null, requests: 3 });
    expect(run.finalHash).toMatch(/^[0-9a-f]{8}$/);

    const list = mmtraceJson(['list', file]);
    expect(list.runs).toEqual([{
      name: 'gup', id: run.id, workload: 'cmdline-poll', path: 'gup', variant: [], seed: 1,
      status: 'complete', limit: null, events: run.events, finalHash: run.finalHash, config: [], error: null,
    }]);
    // A config switch off its default is listed as the command line gives it.
    const other = join(tempDir(), 'config.db');
    const noVmaLock = mmtraceJson(['record', 'cmdline-poll', '--param', 'reads=1', '--config', 'CONFIG_PER_VMA_LOCK=n', `--out=${other}`]);
    expect(noVmaLock.runs[0].status).toBe('complete');
    expect(mmtraceJson(['list', other]).runs[0].config).toEqual(['CONFIG_PER_VMA_LOCK=n']);
    expect(mmtrace(['list', other]).stdout).toMatch(/gup .* CONFIG_PER_VMA_LOCK=n /);

    // The views a sqlite3 user reads: each request returned the target's argv.
    const db = new Database(file, { readonly: true });
    const reqs = db.prepare("SELECT request, op, result, flags FROM requests_v ORDER BY first_seq").all() as any[];
    db.close();
    expect(reqs.map((r) => r.request)).toEqual(['monitor:1', 'monitor:2', 'monitor:3']);
    expect(reqs.every((r) => r.op === 'cmdline' && r.result === 48 && r.flags === GupFlags.bits.FOLL_ANON)).toBe(true);
  });

  test('a second run of the same name is refused unless --replace; --name adds another', () => {
    const file = join(tempDir(), 't.db');
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`]).status).toBe(0);
    const again = mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`, '--replace']).status).toBe(0);
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`, '--name=second']).status).toBe(0);
    expect(mmtraceJson(['list', file]).runs.map((r: { name: string }) => r.name)).toEqual(['gup', 'second']);
  });
});

describe('bad input: one clear line on stderr, exit code 2, nothing lost', () => {
  const dir = tempDir();
  const notSqlite = join(dir, 'notes.txt');
  writeFileSync(notSqlite, 'hello, not a database\n');
  const cases: [string, string[], RegExp][] = [
    ['unknown workload', ['record', 'nosuch'], /unknown workload 'nosuch'.*cmdline-poll/],
    ['unknown variant', ['record', 'cmdline-poll', '--path=fast', '--variant=fastest'], /unknown variant 'fastest'.*singleVmaOnly/],
    ['a variant without the fast path', ['record', 'cmdline-poll', '--variant=touch'], /change the fast path; record with --path=fast/],
    ['unknown path', ['record', 'cmdline-poll', '--path=slow'], /unknown path 'slow'/],
    ['unknown parameter', ['record', 'cmdline-poll', '--param', 'bogus=1'], /no parameter 'bogus'/],
    ['bad parameter value', ['record', 'cmdline-poll', '--param', 'reads=many'], /reads must be a non-negative integer/],
    ['bad seed', ['record', 'cmdline-poll', '--seed=-1'], /--seed must be a non-negative integer/],
    ['bad strategy', ['record', 'cmdline-poll', '--strategy=fifo'], /unknown strategy 'fifo'/],
    ['missing trace file', ['list', join(dir, 'missing.db')], /no such trace file/],
    ['not a SQLite file', ['list', notSqlite], /not a SQLite trace file/],
    ['unwritable output path', ['record', 'cmdline-poll', '--out=/proc/mmtrace/x.db'], /cannot write the trace file/],
    ['unknown option', ['record', 'cmdline-poll', '--frobnicate'], /unknown option/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const r = mmtrace(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });
  }

  test('a file from a newer schema is refused, and left as it was', () => {
    const file = join(tempDir(), 'new.db');
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`]).status).toBe(0);
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    const r = mmtrace(['list', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/newer mmtrace/);
    const again = new Database(file, { readonly: true });
    expect((again.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBeGreaterThan(100);
    again.close();
  });

  test('--help works for every command', () => {
    for (const cmd of [[], ['record'], ['list'], ['workloads'], ['bench'], ['demo'], ['replay'], ['diff']]) {
      const r = mmtrace([...cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: mmtrace/);
    }
  });
});

describe('a killed recording', () => {
  test('keeps every committed event and `list` says it is incomplete', async () => {
    const file = join(tempDir(), 'killed.db');
    // Kill -9 mid-recording, once at least two batches are committed.
    await recordAndKill('scale', file, 2);

    const list = mmtrace(['list', file, '--json']);
    expect(list.status).toBe(0);
    const run = JSON.parse(list.stdout).runs[0];
    expect(run.status).toBe('incomplete');
    expect(run.events).toBeGreaterThanOrEqual(2 * 16384);
    const db = new Database(file, { readonly: true });
    const stored = db.prepare('SELECT count(*) AS n, max(seq) AS last FROM events').get() as { n: number; last: number };
    const lastBatch = db.prepare('SELECT hash FROM batches ORDER BY last_seq DESC LIMIT 1').get() as { hash: number };
    db.close();
    expect(stored.n).toBe(run.events);
    expect(stored.last).toBe(run.events);
    expect(run.finalHash).toBe(hashHex(lastBatch.hash));

    const human = mmtrace(['list', file]);
    expect(human.status).toBe(0);
    expect(human.stderr).toMatch(/is incomplete: its recording process died after \d+ committed events, which are kept/);
    // The file stays usable: a new run can be recorded into it.
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`, '--name=after']).status).toBe(0);
  });
});

describe('mmtrace bench', () => {
  test('--json reports every figure with its baseline', () => {
    const doc = mmtraceJson(['bench', '--events=20000']);
    for (const key of ['simEventsPerSec', 'recordEventsPerSec', 'recordOverhead', 'bytesPerEvent', 'rawInsertEventsPerSec']) {
      expect(typeof doc[key]).toBe('number');
      expect(doc[key]).toBeGreaterThan(0);
    }
    expect(doc.recordOverhead).toBeCloseTo(doc.simEventsPerSec / doc.recordEventsPerSec, 1);
  });
});

describe('mmtrace demo (npm start)', () => {
  test('records cmdline-poll and prints what the monitor read', () => {
    const out = join(tempDir(), 'demo.db');
    const r = mmtrace(['demo', `--out=${out}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/read \/proc\/PID\/cmdline 20 times/);
    expect(r.stdout).toMatch(/"\/usr\/bin\/target --serve --port=8080 config.toml"/);
    expect(r.stdout).toMatch(/mmap_lock\/read/);
    // Running it again replaces the demo run instead of failing.
    expect(mmtrace(['demo', `--out=${out}`]).status).toBe(0);
  });

  test('shows the cross-VMA race: fast as posted differs from gup, the fixed variant does not', () => {
    const out = join(tempDir(), 'demo.db');
    const r = mmtrace(['demo', `--out=${out}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/fast \(v1 as posted\):.*-> different/);
    expect(r.stdout).toMatch(/\[mixed-vmas\] reader:1/);
    // Where the differing bytes came from: the same range, two VMAs (the later one is the racing mmap).
    const created = [...r.stdout.matchAll(/\[8, 16\) from 0x10001000 in anon VMA \[0x10001000, 0x10002000\) created at #(\d+)/g)].map((m) => Number(m[1]));
    expect(created).toHaveLength(2);
    expect(created[1]).toBeGreaterThan(created[0]!);
    expect(r.stdout).toMatch(/fast\+singleVmaOnly\+checkFollAnon\+touch: .*-> equivalent/);
    // The hints it prints are commands that work on what it recorded.
    const race = join(dirname(out), 'cross-vma-race.db');
    expect(r.stdout).toContain(`mmtrace diff ${race}#gup ${race}#fast`);
    expect(mmtrace(['diff', `${race}#gup`, `${race}#fast`]).status).toBe(1);
    expect(mmtrace(['replay', `${race}#fast`, '--until=kind=copy,task=reader,n=2']).status).toBe(0);

    const doc = mmtraceJson(['demo', `--out=${out}`, '--json']) as {
      race: { gupVsFast: { verdict: string }; gupVsFixed: { verdict: string } };
    };
    expect(doc.race.gupVsFast.verdict).toBe('different');
    expect(doc.race.gupVsFixed.verdict).toBe('equivalent');
  });
});
