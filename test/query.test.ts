/**
 * `mmtrace query`: SQL over a trace file, read-only. Writes are refused with one line and exit 2
 * and the file stays byte for byte as it was; output as a table, JSON or CSV; saved queries by name.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readRun } from '../src/reduce/read-run.js';
import { reducerOf } from '../src/reduce/reducer.js';
import { VmaMap } from '../src/reduce/vma-map.js';
import { openRunRef } from '../src/trace/reader.js';
import { mmtrace, mmtraceJson, ROOT, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

const file = join(tempDir(), 'poll.db');
const digest = () => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  await recordHere('cmdline-poll', ['--param', 'reads=3', '--path=gup,fast', `--out=${file}`]);
});

describe('mmtrace query', () => {
  test('a table, JSON or CSV of what the statement returns', () => {
    const sql = "select run, request, result from requests_v where run = 'gup' order by first_seq";
    const json = mmtraceJson<{ columns: string[]; rows: Record<string, unknown>[] }>(['query', file, sql]);
    expect(json.columns).toEqual(['run', 'request', 'result']);
    expect(json.rows).toEqual([1, 2, 3].map((n) => ({ run: 'gup', request: `monitor:${n}`, result: 48 })));
    const csv = mmtrace(['query', file, sql, '--csv']);
    expect(csv.stdout).toBe('run,request,result\ngup,monitor:1,48\ngup,monitor:2,48\ngup,monitor:3,48\n');
    const text = mmtrace(['query', file, sql]);
    expect(text.stdout.split('\n')[0]).toMatch(/^run\s+request\s+result$/);
    expect(text.stdout).toMatch(/gup\s+monitor:3\s+48/);
  });

  test('CSV quotes what needs quoting', () => {
    const csv = mmtrace(['query', file, `select 'a,b' as x, 'say "hi"' as y, null as z`, '--csv']);
    expect(csv.stdout).toBe('x,y,z\n"a,b","say ""hi""",\n');
  });

  test('a statement that writes is refused: one line, exit 2, the file unchanged', () => {
    const before = digest();
    for (const sql of ['delete from events', 'drop view events_v', "update runs set name = 'x'", 'create table t (x)']) {
      const r = mmtrace(['query', file, sql]);
      expect(r.status, sql).toBe(2);
      expect(r.stderr.trim()).toMatch(/^mmtrace: .*: the query would change the file; query opens trace files read-only, so it was not run$/);
    }
    expect(digest()).toBe(before);
  });

  test('bad SQL and an unknown saved query: one line, exit 2', () => {
    const bad = mmtrace(['query', file, 'selec * from events']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/the query fails: near "selec"/);
    const unknown = mmtrace(['query', file, '@request']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/no saved query 'request' \(did you mean 'requests'\?\)/);
  });

  test('every saved query in queries/ runs, by name', () => {
    const names = readdirSync(join(ROOT, 'queries')).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) {
      const r = mmtrace(['query', file, `@${name}`, '--json']);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      // This short cmdline-poll run never falls back nor waits for mmap_lock; the others have rows.
      if (!['fallbacks', 'mmap-lock-waits'].includes(name)) expect(JSON.parse(r.stdout).rows.length, name).toBeGreaterThan(0);
    }
    // The bytes copied to the monitor per run are the figure the aggregates give.
    const copied = mmtraceJson<{ rows: { run: string; task: string; bytes: number }[] }>(['query', file, '@bytes-copied']).rows;
    const diff = JSON.parse(mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']).stdout);
    const total = (run: string) => copied.filter((r) => r.run === run).reduce((n, r) => n + r.bytes, 0);
    expect(total('gup')).toBe(diff.aggregates['bytes-copied'].a);
    expect(total('fast')).toBe(diff.aggregates['bytes-copied'].b);
  });
});

describe('SQL that reads like the kernel', () => {
  test('a view per enum and flag set, generated from the vocabulary', async () => {
    const { CODE_TABLES } = await import('../src/trace/vocab/index.js');
    for (const table of ['rwsem_modes', 'rwsem_hows', 'pt_levels', 'lru_lists', 'vma_read_results', 'pgtable_free_modes', 'page_flags', 'vm_flags']) {
      const expected = CODE_TABLES.find((t) => t.table === table)!.codes.map(([code, name]) => ({ code, name }));
      expect(mmtraceJson(['query', file, `select code, name from ${table} order by code`]).rows, table).toEqual(expected);
    }
  });

  test('events_v shows coded fields by name and addresses and hashes in hex, next to the integers', () => {
    const rows = mmtraceJson<{ rows: Record<string, unknown>[] }>(['query', file,
      "select mode, mode_name, how, how_name from events_v where kind = 'rwsem_acquire' and run = 'gup'"]).rows;
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) {
      expect(r['mode_name']).toBe(['read', 'write'][r['mode'] as number]);
      expect(r['how_name']).toBe(['fast', 'steal', 'woken', 'downgrade', 'trylock'][r['how'] as number]);
    }
    const copy = mmtraceJson<{ rows: { addr: number; addr_hex: string; hash: number; hash_hex: string }[] }>(['query', file,
      "select addr, addr_hex, hash, hash_hex from events_v where kind = 'copy' limit 1"]).rows[0]!;
    expect(copy.addr_hex).toBe(`0x${copy.addr.toString(16)}`);
    expect(copy.hash_hex).toBe(copy.hash.toString(16).padStart(8, '0'));
    const level = mmtraceJson<{ rows: { level_name: string }[] }>(['query', file,
      "select distinct level_name from events_v where kind = 'pgtable_read' order by level"]).rows.map((r) => r.level_name);
    expect(level).toEqual(['pte', 'pmd', 'pud', 'pgd']);
  });

  test('the simulator\'s own events are task sim, and requests_v has hex beside the integers', () => {
    const sim = mmtraceJson<{ rows: { task: string }[] }>(['query', file, 'select distinct task from events_v where tid = 0']).rows;
    expect(sim).toEqual([{ task: 'sim' }]);
    const req = mmtraceJson<{ rows: { data_hash: number; data_hash_hex: string }[] }>(['query', file, 'select data_hash, data_hash_hex from requests_v limit 1']).rows[0]!;
    expect(req.data_hash_hex).toBe(req.data_hash.toString(16).padStart(8, '0'));
  });
});

describe('lock_waits_v', () => {
  test('the monitor\'s wait for mmap_lock behind the stuck writer, with the class, mode and ticks replay and diff give', async () => {
    const stuck = join(tempDir(), 'stuck.db');
    await recordHere('stuck-writer', ['--path=gup', `--out=${stuck}`]);
    const waits = mmtraceJson<{ rows: Record<string, unknown>[] }>(['query', stuck, '@mmap-lock-waits']).rows;
    const diff = JSON.parse(mmtrace(['diff', stuck, stuck, '--json']).stdout);
    expect(waits).toEqual([{ run: 'gup', task: 'monitor', mode: 'read', waits: 1, ticks: diff.aggregates['request-wait/monitor/max'].a, longest: diff.aggregates['request-wait/monitor/max'].a }]);
    const holds = mmtraceJson<{ rows: Record<string, unknown>[] }>(['query', stuck, '@longest-lock-holds']).rows;
    // The writer holds mmap_lock for write across the whole remap: the longest hold of the run.
    expect(holds[0]).toMatchObject({ task: 'writer', class: 'mmap_lock', mode: 'write' });
    expect(holds[0]!['held_ticks']).toBeGreaterThan(waits[0]!['ticks'] as number);
    // Every cmdline read takes folio references and drops them all before it returns.
    const refs = mmtraceJson<{ rows: { taken: number; kept: number }[] }>(['query', stuck, '@folio-refs-per-request']).rows;
    expect(refs).toHaveLength(4);
    expect(refs.every((r) => r.taken > 0 && r.kept === 0)).toBe(true);
  });
});

describe('fallbacks_v', () => {
  test('each fallback of the fast path, by request, as the diff reports them', async () => {
    const race = join(tempDir(), 'race.db');
    await recordHere('mixed', ['--path=fast', `--out=${race}`]);
    const rows = mmtraceJson<{ rows: { request: string; reason: string; addr_hex: string; copied: number }[] }>(['query', race,
      'select request, reason, addr_hex, copied from fallbacks_v order by seq']).rows;
    const diff = JSON.parse(mmtrace(['diff', race, race, '--json']).stdout) as { findings: { kind: string; run: string; message: string }[] };
    const reported = diff.findings.filter((f) => f.kind === 'fallback' && f.run === 'a').map((f) => f.message);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => `${r.request}: the fast path fell back after ${r.copied} bytes at ${r.addr_hex} (${r.reason})`).sort()).toEqual(reported.sort());
  });
});

describe('copies_v and vma_spans_v', () => {
  /** Each copy's VMA as the shared reducer sees it: the target mm's VMA covering the address then. */
  async function copiesByReducer(ref: string) {
    const { trace, run } = await openRunRef(ref);
    try {
      const vmas = new VmaMap();
      const targetMm = new Map<number, number>();
      const copies: { seq: number; mm: number | null; vma: number | null; len: number }[] = [];
      readRun(trace, run, [vmas, reducerOf({
        request_begin: (e) => targetMm.delete(e.tid),
        mmap_lock_start_locking: (e) => targetMm.set(e.tid, e.mm),
        vma_start_read(e) {
          const mm = vmas.mmOf(e.vma);
          if (mm !== undefined) targetMm.set(e.tid, mm);
        },
        copy(e) {
          const mm = targetMm.get(e.tid);
          const vma = mm === undefined ? undefined : vmas.at(mm, e.addr);
          copies.push({ seq: e.seq, mm: mm ?? null, vma: vma?.vma ?? null, len: e.len });
        },
      })]);
      return copies;
    } finally {
      trace.close();
    }
  }

  test('each copy names the VMA the reducers say it read, also across a VMA replaced mid-request', async () => {
    const race = join(tempDir(), 'race.db');
    await recordHere('cross-vma-race', ['--path=gup,fast', `--out=${race}`]);
    await recordHere('mixed', ['--path=fast', '--name=mixed', `--out=${race}`]);
    for (const run of ['gup', 'fast', 'mixed']) {
      const rows = mmtraceJson<{ rows: { seq: number; mm: number | null; vma: number | null; len: number }[] }>(['query', race,
        `select seq, mm, vma, len from copies_v where run = '${run}' order by seq`]).rows;
      expect(rows.length, run).toBeGreaterThan(0);
      expect(rows, run).toEqual(await copiesByReducer(`${race}#${run}`));
      expect(rows.every((r) => r.vma !== null), run).toBe(true);
    }
    // The fast path's two copies read two VMAs, the second a new life of a reused VMA id.
    const spans = mmtraceJson<{ rows: { vma: number; from_seq: number; to_seq: number | null }[] }>(['query', race,
      "select vma, from_seq, to_seq from vma_spans_v where run = 'fast' and vma in (select vma from copies_v where run = 'fast') order by from_seq"]).rows;
    expect(new Set(spans.map((s) => s.vma)).size).toBe(2);
    expect(spans.some((s) => s.to_seq !== null)).toBe(true);
  });

  test('@bytes-copied-per-vma adds up to what the requests copied', async () => {
    const race = join(tempDir(), 'mixed.db');
    await recordHere('mixed', ['--path=gup', `--out=${race}`]);
    const perVma = mmtraceJson<{ rows: { task: string; vma: number | null; bytes: number }[] }>(['query', race, '@bytes-copied-per-vma']).rows;
    const perTask = mmtraceJson<{ rows: { task: string; bytes: number }[] }>(['query', race, '@bytes-copied']).rows;
    const sum = new Map<string, number>();
    for (const r of perVma) sum.set(r.task, (sum.get(r.task) ?? 0) + r.bytes);
    expect(Object.fromEntries(sum)).toEqual(Object.fromEntries(perTask.map((r) => [r.task, r.bytes])));
    expect(perVma.every((r) => r.vma !== null)).toBe(true);
  });
});
