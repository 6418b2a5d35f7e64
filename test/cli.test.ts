/**
 * The command contract (DESIGN.md "Command contract"): JSON shapes, exit codes, one-line errors on
 * bad input, and a killed recording that keeps its committed events and says it is incomplete.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { hashHex } from '../src/trace/hash.js';
import { GupFlags } from '../src/trace/vocab/index.js';
import { CLI, committedBatches, mmtrace, mmtraceAsync, mmtraceJson, recordAndKill, ROOT, tempDir } from './helpers/cli.js';

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
    ['bad parameter value', ['record', 'cmdline-poll', '--param', 'reads=many'], /reads must be an integer from 0 to 1000000, got 'many'/],
    // Parameters follow --seed's rule: plain decimal digits, within the declared bounds, never clamped.
    ['an empty parameter value', ['record', 'cmdline-poll', '--param', 'reads='], /reads must be an integer from 0 to 1000000, got ''/],
    ['a hex parameter value', ['record', 'cmdline-poll', '--param', 'reads=0x10'], /got '0x10'/],
    ['an exponent parameter value', ['record', 'cmdline-poll', '--param', 'reads=1e1'], /got '1e1'/],
    ['a parameter value with a space', ['record', 'cmdline-poll', '--param', 'reads= 3'], /got ' 3'/],
    ['a parameter beyond 2^53', ['record', 'cmdline-poll', '--param', 'reads=99999999999999999999'], /got '99999999999999999999'/],
    ['a parameter beyond its bound', ['record', 'never-touched', '--param', 'len=5000'], /len must be an integer from 1 to 4096, got '5000'/],
    ['parameters that break the workload\'s constraint', ['record', 'never-touched', '--param', 'len=4000'], /never-touched: offset \+ len must be at most 4096/],
    ['a recording estimated past 10 GB', ['record', 'cmdline-poll', '--param', 'threads=64', '--param', 'iterations=1000000'], /records about [\d,]+ events per run, a file of about \d+ GB; pass --yes/],
    ['the same path twice', ['record', 'cmdline-poll', '--path=fast,fast'], /--path names fast twice/],
    ['a run name with #', ['record', 'cmdline-poll', '--name=a#b'], /run name 'a#b' contains '#'/],
    ['an empty run name', ['record', 'cmdline-poll', '--name='], /a run name cannot be empty/],
    ['an all-digit run name', ['record', 'cmdline-poll', '--name=12'], /run name '12' is all digits, which FILE#RUN reads as a run id/],
    ['a misspelt workload', ['record', 'cmdlin-poll'], /unknown workload 'cmdlin-poll' \(did you mean 'cmdline-poll'\?\)/],
    ['a misspelt variant', ['record', 'cmdline-poll', '--path=fast', '--variant=tuch'], /unknown variant 'tuch' \(did you mean 'touch'\?\)/],
    ['a misspelt parameter', ['record', 'cmdline-poll', '--param', 'read=3'], /no parameter 'read' \(did you mean 'reads'\?\)/],
    ['a directory to list', ['list', dir], /is a directory, not a trace file/],
    ['a directory to replay', ['replay', dir], /is a directory, not a trace file/],
    ['a directory to diff', ['diff', `${dir}#gup`, `${dir}#fast`], /is a directory, not a trace file/],
    ['a directory to record into', ['record', 'cmdline-poll', `--out=${dir}`], /is a directory, not a trace file/],
    ['bad seed', ['record', 'cmdline-poll', '--seed=-1'], /--seed must be a non-negative integer/],
    ['bad strategy', ['record', 'cmdline-poll', '--strategy=fifo'], /unknown strategy 'fifo'/],
    ['missing trace file', ['list', join(dir, 'missing.db')], /no such trace file/],
    ['not a SQLite file', ['list', notSqlite], /not a SQLite trace file/],
    ['unwritable output path', ['record', 'cmdline-poll', '--out=/proc/mmtrace/x.db'], /cannot write the trace file/],
    ['unknown option', ['record', 'cmdline-poll', '--frobnicate'], /unknown option/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const out = join(tempDir(), 'untouched.db');
      const r = mmtrace(args[0] === 'record' && !args.some((a) => a.startsWith('--out=')) ? [...args, `--out=${out}`] : args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
      // Refused before anything is written: no trace file appears.
      expect(existsSync(out)).toBe(false);
    });
  }

  test('another SQLite database as the output of a recording the writer worker writes: refused, untouched, and the process ends', () => {
    // scale of this size (estimated above WORKER_FROM_EVENTS) starts the writer worker before the
    // file is checked; the worker must not open it (its pragmas would switch the file to WAL) and
    // must not keep the process alive once the file is refused (spawnSync's timeout would say so)
    const file = join(tempDir(), 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    const before = readFileSync(file);
    const r = mmtrace(['record', 'scale', '--param', 'iterations=1000', `--out=${file}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a SQLite database but not an mmtrace trace/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  test('a name already in the file is refused before any path is recorded', () => {
    const file = join(tempDir(), 'taken.db');
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', '--path=fast', `--out=${file}`]).status).toBe(0);
    const r = mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', '--path=gup,fast', `--out=${file}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a run named 'fast' already exists; .* or --replace it/);
    // gup was not recorded first and left behind.
    expect(mmtraceJson(['list', file]).runs.map((x: { name: string }) => x.name)).toEqual(['fast']);
  });

  test('--yes records past the size estimate (stopped here after its first batch)', async () => {
    const file = join(tempDir(), 'big.db');
    const child = mmtraceAsync(['record', 'cmdline-poll', '--param', 'threads=64', '--param', 'iterations=1000000', '--yes', `--out=${file}`]);
    const exited = new Promise((r) => child.on('exit', r));
    const deadline = Date.now() + 60_000;
    const batches = () => committedBatches(file);
    while (batches() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    expect(batches()).toBeGreaterThanOrEqual(1);
  });

  test('a file migrated by a migration this build does not have: a typed error, not an internal one', () => {
    const file = join(tempDir(), 'migrated.db');
    expect(mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', `--out=${file}`]).status).toBe(0);
    const db = new Database(file);
    db.prepare("INSERT INTO kysely_migration (name, timestamp) VALUES ('0001b_foreign', '2026-01-01')").run();
    db.close();
    const r = mmtrace(['record', 'cmdline-poll', '--param', 'reads=1', '--name=again', `--out=${file}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/its storage schema was changed by a migration this build does not have \(.*0001b_foreign/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

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
    for (const cmd of [[], ['record'], ['list'], ['workloads'], ['bench'], ['demo'], ['replay'], ['diff'], ['export'], ['query']]) {
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

/**
 * A stand-in for another checkout's build: its `bench --help` has no --skip (as an older build's),
 * its `bench --json` prints fixed figures (simEventsPerSec the next of `simEventsPerSec` at each call),
 * and it keeps the arguments and node options it was given.
 */
function fakeOldBuild(simEventsPerSec: string[] = ['1000']): string {
  const root = tempDir();
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  mkdirSync(dirname(cli), { recursive: true });
  writeFileSync(cli, `const fs = require('node:fs');
const args = process.argv.slice(2);
if (args.includes('--help')) { console.log('Options:\\n  --events <n>  events\\n  --json  json'); process.exit(0); }
fs.writeFileSync(${JSON.stringify(join(root, 'args.json'))}, JSON.stringify(args));
fs.writeFileSync(${JSON.stringify(join(root, 'node-options.json'))}, JSON.stringify(process.execArgv));
const calls = fs.existsSync(${JSON.stringify(join(root, 'calls'))}) ? Number(fs.readFileSync(${JSON.stringify(join(root, 'calls'))}, 'utf8')) : 0;
fs.writeFileSync(${JSON.stringify(join(root, 'calls'))}, String(calls + 1));
const sims = ${JSON.stringify(simEventsPerSec)};
console.log(JSON.stringify({ simEventsPerSec: Number(sims[calls % sims.length]), bytesPerEvent: 0, notHere: 3 }));
`);
  writeFileSync(join(root, 'package.json'), '{"type": "commonjs"}');
  return root;
}

describe('mmtrace bench', () => {
  // About 20 s of CPU on one core (simulation, recording, replay, diff, align, explore, three tui
  // processes): past the default 60 s when the machine is busy with other work.
  test('--json reports every figure with its baseline, and beside another build\'s with --against', { timeout: 180_000 }, () => {
    // --skip=review: a review of the library takes a minute of its own (test/review.test.ts covers it);
    // rss10m and rss100m record 10M and 100M events (the child they run is tested below)
    const old = fakeOldBuild();
    // run with a node option: the figures say so, and the other build's bench runs with it too
    const OPTION = '--max-semi-space-size=32';
    const r = spawnSync(process.execPath, [OPTION, CLI, 'bench', '--json', '--events=20000', '--skip=review,rss10m,rss100m', `--against=${old}`],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.node).toBe(process.version);
    expect(doc.nodeOptions).toEqual([OPTION]);
    expect(JSON.parse(readFileSync(join(old, 'node-options.json'), 'utf8'))).toEqual([OPTION]);
    expect(doc.reviewLibraryMs).toBeNull();
    expect(doc.rssMbAt10M).toBeNull();
    expect(doc.rssMbAt100M).toBeNull();
    // the progress names what it measures, and nothing --skip left out
    expect(r.stderr).toContain('the browser on the run');
    expect(r.stderr).not.toMatch(/a review of the whole library|peak memory while recording/);
    // the other build got the same --events, and no --skip since its help lists none
    expect(JSON.parse(readFileSync(join(old, 'args.json'), 'utf8'))).toEqual(['bench', '--json', '--events=20000']);
    expect(doc.against.dir).toBe(old);
    expect(doc.against.figures).toEqual({ simEventsPerSec: 1000, bytesPerEvent: 0, notHere: 3 });
    // a ratio for every number both give, except over a 0
    expect(Object.keys(doc.against.ratios)).toEqual(['simEventsPerSec']);
    expect(doc.against.ratios.simEventsPerSec).toBeCloseTo(doc.simEventsPerSec / 1000, 2);
    for (const key of ['simEventsPerSec', 'recordEventsPerSec', 'recordOverhead', 'bytesPerEvent', 'readEventsPerSec', 'rawInsertEventsPerSec',
      'checkOverhead', 'exploreSchedulesPerSec', 'exploreFirstViolationMs', 'tuiFirstFrameMs', 'tuiKeyToFrameMs', 'tuiRssMb']) {
      expect(typeof doc[key]).toBe('number');
      expect(doc[key]).toBeGreaterThan(0);
    }
    // the overhead is the median of the alternating pairs' ratios, each of them given
    expect(doc.recordOverheadPairs).toHaveLength(3);
    expect(doc.recordOverhead).toBe([...doc.recordOverheadPairs].sort((x: number, y: number) => x - y)[1]);
    for (const ratio of doc.recordOverheadPairs) expect(ratio).toBeGreaterThan(0);
    // of three pairs, the ratio of the median rates lies between the smallest and largest pair's
    // ratio (some pair has both its recording no faster and its simulation no slower than the
    // medians, and another the reverse): pairs that are not the rates' own would leave it
    const ofRates = doc.simEventsPerSec / doc.recordEventsPerSec;
    expect(ofRates).toBeGreaterThanOrEqual(Math.min(...doc.recordOverheadPairs) - 0.01);
    expect(ofRates).toBeLessThanOrEqual(Math.max(...doc.recordOverheadPairs) + 0.01);
    // checkOverhead is a ratio of two timings (positive and finite, checked above); how large it is
    // belongs to the bench, not to a test: at --events=20000 in a loaded suite it came out at 0.94.
    expect(Number.isFinite(doc.checkOverhead)).toBe(true);
  });

  test('--rounds: benches in processes of their own, taking turns with the other build\'s, every figure a median', { timeout: 120_000 }, () => {
    // the other build gives simEventsPerSec 1000, then 3000: the median of two is their mean
    const old = fakeOldBuild(['1000', '3000']);
    const r = spawnSync(process.execPath, [CLI, 'bench', '--json', '--events=10000', '--skip=review,tui,rss10m,rss100m', '--rounds=2', `--against=${old}`],
      { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.status, r.stderr).toBe(0);
    const rounds = r.stderr.split('\n').filter((l) => l.startsWith('mmtrace bench: round'));
    // the two builds take turns going first
    expect(rounds).toEqual([
      `mmtrace bench: round 1 of 2, the bench of ${old}`, 'mmtrace bench: round 1 of 2, this build\'s bench',
      'mmtrace bench: round 2 of 2, this build\'s bench', `mmtrace bench: round 2 of 2, the bench of ${old}`,
    ]);
    const doc = JSON.parse(r.stdout);
    expect(doc.rounds).toBe(2);
    expect(doc.against.figures.simEventsPerSec).toBe(2000);
    expect(doc.against.figures.rounds).toBe(2);
    expect(doc.against.ratios.rounds).toBe(1);
    expect(doc.against.ratios.simEventsPerSec).toBeCloseTo(doc.simEventsPerSec / 2000, 2);
    expect(doc.simEventsPerSec).toBeGreaterThan(0);
    expect(doc.tuiFirstFrameMs).toBeNull();
    const bad = mmtrace(['bench', '--rounds=0']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--rounds must be an integer >= 1, got '0'/);
  });

  test('--against a directory without a built mmtrace: one line, exit 2, nothing measured', () => {
    const r = mmtrace(['bench', '--events=20000', `--against=${tempDir()}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--against=.*: no built mmtrace there/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('the peak-memory child records the scale workload and reports its resident set', () => {
    const file = join(tempDir(), 'rss.db');
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'bench-rss.js'), '20000', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const figures = JSON.parse(r.stdout);
    expect(figures.events).toBeGreaterThan(10_000);
    // node alone takes tens of MB; a recorder well under a few GB
    expect(figures.rssMb).toBeGreaterThan(20);
    expect(figures.rssMb).toBeLessThan(4000);
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
    // One command per line, each runnable as printed after `npm install`.
    const next = r.stdout.slice(r.stdout.indexOf('Next:')).split('\n').slice(1).filter((l) => l.trim());
    expect(next).toEqual([
      `  npx mmtrace diff ${race}#gup ${race}#fast`,
      `  npx mmtrace replay ${race}#fast --until=kind=copy,task=reader,n=2`,
      `  npx mmtrace list ${out}`,
      `  sqlite3 ${out} 'select * from requests_v'`,
    ]);
    // What a reader new to the tool would not know: the clock, and the allocation reference.
    expect(r.stdout).toMatch(/a virtual tick is the simulator's clock/);
    expect(r.stdout).toMatch(/more puts than gets: a folio is born holding one reference/);
    expect(mmtrace(['diff', `${race}#gup`, `${race}#fast`]).status).toBe(1);
    expect(mmtrace(['replay', `${race}#fast`, '--until=kind=copy,task=reader,n=2']).status).toBe(0);

    const doc = mmtraceJson(['demo', `--out=${out}`, '--json']) as {
      race: { gupVsFast: { verdict: string }; gupVsFixed: { verdict: string } };
    };
    expect(doc.race.gupVsFast.verdict).toBe('different');
    expect(doc.race.gupVsFixed.verdict).toBe('equivalent');
  });
});

describe('workload parameters', () => {
  test('every numeric parameter declares its bounds, and its default lies within them', () => {
    const doc = mmtraceJson<{ workloads: { name: string; params: Record<string, { default: number; min: number; max: number }> }[] }>(['workloads']);
    for (const w of doc.workloads) {
      for (const [k, p] of Object.entries(w.params)) {
        expect(typeof p.max, `${w.name} ${k}`).toBe('number');
        expect(p.default, `${w.name} ${k}`).toBeGreaterThanOrEqual(p.min);
        expect(p.default, `${w.name} ${k}`).toBeLessThanOrEqual(p.max);
      }
    }
    expect(mmtrace(['workloads']).stdout).toMatch(/--param len=64 \[1\.\.4096\]  bytes of each plain access_process_vm read/);
  });

  test('each workload points at its section of docs/semantics.md, and cites nothing the project does not ship', () => {
    const semantics = readFileSync(join(ROOT, 'docs/semantics.md'), 'utf8');
    const doc = mmtraceJson<{ workloads: { name: string; doc: string }[] }>(['workloads']);
    for (const w of doc.workloads) {
      expect(w.doc).toBe(`docs/semantics.md#${w.name}`);
      expect(semantics).toMatch(new RegExp(`^### ${w.name}$`, 'm'));
    }
    expect(mmtrace(['workloads']).stdout).not.toMatch(/§|kernel-spec/);
  });
});
