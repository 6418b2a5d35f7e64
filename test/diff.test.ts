/**
 * `mmtrace diff` (DESIGN.md "Diff"): gup against fast v1 differs on the review's scenarios, with the
 * finding a reviewer would raise; gup against fast with the review's fixes is equivalent; a run is
 * equivalent to itself and to a second recording of the same workload and seed.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { diffFiles, kinds } from './helpers/diff.js';
import { mmtrace, tempDir } from './helpers/cli.js';
import { FIXED, recordHere, recordWithFixes } from './helpers/record.js';

const record = (workload: string, seed = 1) => recordWithFixes(workload, join(tempDir(), `${workload}.db`), seed);

const diff = diffFiles;

describe('gup vs fast v1 vs fast with the review fixes', () => {
  test('§12.1 cross-vma-race: v1 mixes VMAs and returns other bytes; the fixes are equivalent', async () => {
    const file = await record('cross-vma-race');
    const v1 = await diff(file, 'gup', file, 'fast');
    expect(v1.verdict).toBe('different');
    expect(kinds(v1)).toEqual(['aging:a', 'bytes:both', 'mixed-vmas:b']);
    expect(v1.requests).toEqual([expect.objectContaining({ id: 'reader:1', same: false, differingRanges: [[8, 16]] })]);
    const fixed = await diff(file, 'gup', file, FIXED);
    expect(fixed.verdict).toBe('equivalent');
    expect(fixed.requests.every((r) => r.same)).toBe(true);
    // The fixed fast path fell back: an info finding, not a difference.
    expect(fixed.findings.some((f) => f.kind === 'fallback' && f.severity === 'info')).toBe(true);
  });

  test('§12.2 file-cmdline: v1 returns file bytes to a FOLL_ANON read (CVE-2018-1120); checkFollAnon is equivalent', async () => {
    const file = await record('file-cmdline');
    const v1 = await diff(file, 'gup', file, 'fast');
    expect(v1.verdict).toBe('different');
    expect(v1.differences).toEqual(expect.arrayContaining(['foll-anon-file-bytes', 'bytes']));
    expect(v1.findings.filter((f) => f.kind === 'foll-anon-file-bytes').every((f) => f.run === 'b')).toBe(true);
    expect((await diff(file, 'gup', file, FIXED)).verdict).toBe('equivalent');
  });

  test('§12.3 reclaim-aging: v1 ages nothing; touch is equivalent', async () => {
    const file = await record('reclaim-aging');
    const v1 = await diff(file, 'gup', file, 'fast');
    // With a swap device, the reclaim after v1's untouched reads swaps P out: its page tables (a
    // swap entry where gup keeps P mapped) and refcounts differ too, but not the memory: P's bytes
    // are in the swap slot.
    expect(v1.differences).toEqual(['final-page-tables', 'final-refcounts', 'aging']);
    expect(v1.requests.every((r) => r.same)).toBe(true); // same bytes: only the aging differs
    expect((await diff(file, 'gup', file, FIXED)).verdict).toBe('equivalent');
  });
});

describe('equivalence', () => {
  test('a run with itself, and two recordings of the same workload and seed', async () => {
    const a = await record('cmdline-poll', 3);
    const b = await record('cmdline-poll', 3);
    const self = await diff(a, 'gup', a, 'gup');
    expect(self.verdict).toBe('equivalent');
    expect(Object.values(self.aggregates).every((v) => v.delta === 0)).toBe(true);
    expect((await diff(a, 'fast', b, 'fast')).verdict).toBe('equivalent');
  });

  test('final state: same layout and memory on both paths; another workload ends elsewhere', async () => {
    const race = await record('cross-vma-race');
    const v1 = await diff(race, 'gup', race, 'fast');
    // Both paths leave the same VMAs and memory (the race is in what the reader saw, not in the
    // target), but the folio gup aged is marked accessed in gup only: info, not a difference.
    expect(v1.findings.filter((f) => f.kind.startsWith('final-')).map((f) => `${f.kind}:${f.severity}`)).toEqual(['final-folio-state:info']);
    const poll = await record('cmdline-poll');
    const other = await diff(race, 'gup', poll, 'gup');
    expect(other.warnings.some((w) => w.startsWith('different workloads'))).toBe(true);
    const finals = other.findings.filter((f) => f.kind.startsWith('final-'));
    expect(finals.map((f) => `${f.kind}:${f.severity}`)).toEqual(expect.arrayContaining(['final-vmas:behaviour', 'final-memory:behaviour']));
    expect(finals.find((f) => f.kind === 'final-vmas')!.message).toMatch(/only in gup: pid \d+ 0x10000000-0x10001000/);
  });

  test('different seeds are diffed but said so', async () => {
    const a = await record('cmdline-poll', 1);
    const b = await record('cmdline-poll', 2);
    const r = await diff(a, 'gup', b, 'gup');
    expect(r.warnings).toContain('different seeds: 1 vs 2');
  });
});

describe('the command', () => {
  test('exit 1 when different, 0 when equivalent, 2 on error; --json has the documented keys', async () => {
    const file = await record('cross-vma-race');
    const different = mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']);
    expect(different.status).toBe(1);
    const doc = JSON.parse(different.stdout);
    for (const key of ['verdict', 'findings', 'requests', 'aggregates']) expect(doc).toHaveProperty(key);
    expect(doc.findings[0]).toEqual(expect.objectContaining({ kind: expect.any(String), run: expect.any(String), message: expect.any(String) }));
    expect(mmtrace(['diff', `${file}#gup`, `${file}#${FIXED}`]).status).toBe(0);
    const human = mmtrace(['diff', `${file}#gup`, `${file}#fast`]);
    expect(human.stdout).toMatch(/VERDICT: different \(.*mixed-vmas/);
    const bad = mmtrace(['diff', `${file}#gup`, `${file}#nosuch`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no run 'nosuch'/);
  });

  // README "Diff": an unordered workload's paths interleave differently, so its cross-path diff
  // shows the interleaving too; the command says so. A directed scenario, or one path against
  // itself, does not get the warning.
  test('a cross-path diff of an unordered workload (mixed) warns that the interleavings differ', async () => {
    const mixed = join(tempDir(), 'mixed.db');
    await recordHere('mixed', ['--path=gup,fast', `--out=${mixed}`]);
    const doc = JSON.parse(mmtrace(['diff', `${mixed}#gup`, `${mixed}#fast`, '--json']).stdout);
    expect(doc.warnings).toEqual([expect.stringMatching(/^mixed orders its tasks by the random schedule alone .* not the path$/)]);
    // In text, the warning goes to stderr: the report on stdout is the comparison alone.
    const text = mmtrace(['diff', `${mixed}#gup`, `${mixed}#fast`]);
    expect(text.stderr).toMatch(/^mmtrace: warning: mixed orders its tasks/m);
    expect(text.stdout).not.toMatch(/warning/);
    expect(JSON.parse(mmtrace(['diff', `${mixed}#gup`, `${mixed}#gup`, '--json']).stdout).warnings).toEqual([]);
    const race = await record('cross-vma-race');
    expect(JSON.parse(mmtrace(['diff', `${race}#gup`, `${race}#fast`, '--json']).stdout).warnings).toEqual([]);
    // The same variant switches in another order are the same setup: no warning, and equivalent.
    for (const [name, variant] of [['v1', 'touch,singleVmaOnly'], ['v2', 'singleVmaOnly,touch']]) {
      await recordHere('mixed', ['--path=fast', `--variant=${variant}`, `--name=${name}`, `--out=${mixed}`]);
    }
    const reordered = mmtrace(['diff', `${mixed}#v1`, `${mixed}#v2`, '--json']);
    expect(reordered.status).toBe(0);
    expect(JSON.parse(reordered.stdout).warnings).toEqual([]);
    // Another strategy interleaves differently on any workload: said at the top.
    await recordHere('mixed', ['--path=fast', '--variant=touch,singleVmaOnly', '--strategy=pct:3', '--name=v3', `--out=${mixed}`]);
    expect(JSON.parse(mmtrace(['diff', `${mixed}#v1`, `${mixed}#v3`, '--json']).stdout).warnings).toEqual(['different scheduling strategies: random vs pct:3']);
  });
});

describe('the text report of a long run', () => {
  // scale with 60 reads per monitor: 120+ requests, each an aging finding (v1 does not touch).
  test('lists at most 10 findings of a kind and only the requests that differ, and says how many more', () => {
    const file = join(tempDir(), 'scale.db');
    const params = ['--param', 'iterations=20', '--param', 'reads=60', '--param', 'threads=1'];
    expect(mmtrace(['record', 'scale', '--path=gup,fast', ...params, `--out=${file}`]).status).toBe(0);
    const text = mmtrace(['diff', `${file}#gup`, `${file}#fast`]).stdout;
    const doc = JSON.parse(mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']).stdout);
    const aging = doc.findings.filter((f: { kind: string }) => f.kind === 'aging').length;
    expect(aging).toBeGreaterThan(10);
    expect(text.match(/^ {2}\[aging\]/gm)).toHaveLength(10);
    expect(text).toContain(`  ... ${aging - 10} more [aging] (--json has them all)`);
    const same = doc.requests.filter((r: { same: boolean }) => r.same).length;
    expect(doc.requests.length).toBeGreaterThan(50);
    expect(text).toMatch(new RegExp(`\\(${doc.requests.length} requests: ${same} the same in both runs, not listed`));
    expect(text.match(/^ {2}\S+:\d+ .* yes$/gm)).toBeNull();
  });
});
