/**
 * `mmtrace diff` on every kernel-spec §12 scenario (issue 5): each scenario recorded on gup, on fast
 * v1 and on fast with the review's fixes (singleVmaOnly, checkFollAnon, touch), and diffed pairwise:
 * gup vs fast v1, fast v1 vs the fixed variant, gup vs the fixed variant. test/diff.test.ts covers
 * §12.1 cross-vma-race, §12.2 file-cmdline and §12.3 reclaim-aging with their defaults; this file
 * covers the other scenarios of src/workloads/index.ts (and the parameters that change a verdict).
 *
 * Per pair it asserts the verdict, the sorted behaviour findings with their run side (one entry per
 * finding, as `kinds()` in test/diff.test.ts) and the fast-path fallbacks (info) by side and reason.
 * What a reviewer expects, per scenario, is in the workload's header comment and the README table.
 *
 * The diff results these tests once found wrong (a missing finding, or a difference that is not
 * one) have their own tests at the end, each with its evidence.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { DiffReport } from '../src/diff/diff.js';
import { diffFiles, kinds } from './helpers/diff.js';
import { runFacts } from '../src/diff/facts.js';
import { openTrace } from '../src/trace/reader.js';
import { tempDir } from './helpers/cli.js';
import { FIXED, recordWithFixes } from './helpers/record.js';


const dir = tempDir();
const recorded = new Map<string, string>();

/** Record WORKLOAD (with extra record options) on gup, fast and the fixed variant, once per file. */
async function record(workload: string, args: string[] = [], seed = 1): Promise<string> {
  const key = [workload, ...args, `seed=${seed}`].join(' ');
  const cached = recorded.get(key);
  if (cached) return cached;
  const file = join(dir, `${recorded.size}-${workload}.db`);
  await recordWithFixes(workload, file, seed, args);
  recorded.set(key, file);
  return file;
}

const diff = (file: string, a: string, b: string) => diffFiles(file, a, file, b);

/** The fallbacks (info) as `side:reason`, each once. */
const fallbacks = (r: DiffReport) => {
  const fs = r.findings.filter((f) => f.kind === 'fallback');
  expect(fs.every((f) => f.severity === 'info')).toBe(true);
  return [...new Set(fs.map((f) => `${f.run}:${/\(([^()]*)\)$/.exec(f.message)?.[1]}`))].sort();
};

const PAIRS = { 'gup/fast': ['gup', 'fast'], 'fast/fixed': ['fast', FIXED], 'gup/fixed': ['gup', FIXED] } as const;
type Pair = keyof typeof PAIRS;

interface Expect {
  verdict: 'equivalent' | 'different';
  /** Behaviour findings, `kind:run`, sorted, one per finding. */
  behaviour: string[];
  /** Fallbacks, `side:reason`, sorted, each once. */
  fallbacks: string[];
}

interface Row {
  name: string;
  workload: string;
  /** Extra `mmtrace record` options (--param, --config). */
  args?: string[];
  /** Seeds to check (the directed schedule forces the race: the findings do not depend on it). */
  seeds?: number[];
  expect: Record<Pair, Expect>;
  /** More assertions on the reports. */
  also?: (r: Record<Pair, DiffReport>) => void;
}

const eq = (fallbacks: string[] = []): Expect => ({ verdict: 'equivalent', behaviour: [], fallbacks });
const diffs = (behaviour: string[], fallbacks: string[] = []): Expect => ({ verdict: 'different', behaviour, fallbacks });
const times = (n: number, s: string) => Array<string>(n).fill(s);

/**
 * The fast path falls back (for REASONS) before copying anything on fast and on the fixed variant,
 * so GUP does the whole read, FOLL_TOUCH included: equivalent everywhere.
 */
const fallsBack = (...reasons: string[]): Row['expect'] => ({
  'gup/fast': eq(reasons.map((r) => `b:${r}`).sort()),
  'fast/fixed': eq([...reasons.map((r) => `a:${r}`), ...reasons.map((r) => `b:${r}`)].sort()),
  'gup/fixed': eq(reasons.map((r) => `b:${r}`).sort()),
});

/**
 * Same bytes on every path, but fast v1 does not mark the folios it reads accessed (no FOLL_TOUCH,
 * §12.3) in N requests; `touch` does: aging in v1 only. REASONS: fallbacks of other requests.
 */
const agesOnlyOnGup = (n: number, ...reasons: string[]): Row['expect'] => ({
  'gup/fast': diffs(times(n, 'aging:a'), reasons.map((r) => `b:${r}`).sort()),
  'fast/fixed': diffs(times(n, 'aging:b'), [...reasons.map((r) => `a:${r}`), ...reasons.map((r) => `b:${r}`)].sort()),
  'gup/fixed': eq(reasons.map((r) => `b:${r}`).sort()),
});

const sameBytes = (r: Record<Pair, DiffReport>) => {
  for (const p of Object.keys(PAIRS) as Pair[]) expect(r[p].requests.every((q) => q.same), p).toBe(true);
};

const NOT_FOUND = 'folio_walk_start: not found';
const NO_VMA_LOCK = 'lock_vma_under_rcu failed';
const NOT_FOR_FAST = 'VMA not for the fast path';

const ROWS: Row[] = [
  // §12.1 with gap=1 (the default is in test/diff.test.ts): v1 copies 8 bytes of the first VMA, the
  // second is gone, it falls back and its `return 0` drops the 8 bytes; gup returns 16.
  {
    name: '§12.1 cross-vma-race gap=1: v1 returns 0 where gup returns 16 bytes; singleVmaOnly refuses the spanning read',
    workload: 'cross-vma-race', args: ['--param', 'gap=1'],
    expect: {
      'gup/fast': diffs(['aging:a', 'bytes:both'], [`b:${NO_VMA_LOCK}`]),
      'fast/fixed': diffs(['aging:b', 'bytes:both'], [`a:${NO_VMA_LOCK}`, `b:${NOT_FOR_FAST}`]),
      'gup/fixed': eq([`b:${NOT_FOR_FAST}`]),
    },
    also: (r) => {
      expect(r['gup/fast'].requests).toEqual([expect.objectContaining({ id: 'reader:1', a: expect.objectContaining({ result: 16 }), b: expect.objectContaining({ result: 0 }) })]);
      expect(r['gup/fast'].findings.find((f) => f.kind === 'fallback')!.message).toMatch(/after 8 bytes/);
    },
  },
  // A config without the per-VMA lock has no fast path: "fast" is gup, nothing falls back.
  {
    name: '§12.1 cross-vma-race with CONFIG_PER_VMA_LOCK=n: no fast path, every pair equivalent',
    workload: 'cross-vma-race', args: ['--config', 'CONFIG_PER_VMA_LOCK=n'],
    expect: { 'gup/fast': eq(), 'fast/fixed': eq(), 'gup/fixed': eq() },
    also: sameBytes,
  },
  // §12.4, MADV_DONTNEED form. order=1 (default): the PMD re-check fails, fast falls back, GUP
  // faults the zero page in: zeros on all paths.
  {
    name: '§12.4 dontneed-race (zap between PMD read and PTL): fast falls back, same zeros',
    workload: 'dontneed-race', seeds: [1, 2], expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  // order=0: the reader takes the PTL first and copies the data; only v1's missing touch differs.
  {
    name: '§12.4 dontneed-race order=0 (reader first): same data, v1 does not age the folio',
    workload: 'dontneed-race', args: ['--param', 'order=0'], expect: agesOnlyOnGup(1), also: sameBytes,
  },
  // pteFreeImmediate: a use-after-free on the fast path and on GUP alike: the same in both runs, so
  // not a difference (it is listed as an info finding: see the tests at the end).
  {
    name: '§12.4c dontneed-race with pteFreeImmediate=y: the use-after-free is on every path, no difference',
    workload: 'dontneed-race', args: ['--config', 'pteFreeImmediate=y'], expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  // §12.4, khugepaged form: as dontneed-race (K clears the PMD between the PMD read and the PTL).
  {
    name: '§12.4 khugepaged-collapse (PMD cleared before the PTL): fast falls back, same file bytes',
    workload: 'khugepaged-collapse', expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  {
    name: '§12.4 khugepaged-collapse order=0 (PTL first): same bytes, v1 does not age the folio',
    workload: 'khugepaged-collapse', args: ['--param', 'order=0'], expect: agesOnlyOnGup(1), also: sameBytes,
  },
  {
    name: '§12.4 khugepaged-collapse anon=1: the collapse waits for the reader; v1 does not age the folio',
    workload: 'khugepaged-collapse', args: ['--param', 'anon=1'], expect: agesOnlyOnGup(1), also: sameBytes,
  },
  // §12.5: the fast path reads the stack VMA without waiting for the writer: the same argv in every
  // read; v1 does not touch (the wait finding: see the tests at the end).
  {
    name: '§12.5 stuck-writer: same argv without waiting; v1 does not age the argv folio',
    workload: 'stuck-writer', expect: agesOnlyOnGup(4),
    also: (r) => {
      sameBytes(r);
      // gup's monitor contends on mmap_lock behind the writer, fast's never takes it.
      expect(r['gup/fast'].aggregates['contended/mmap_lock/read']).toEqual({ a: 1, b: 0, delta: -1 });
    },
  },
  // region=1: the monitor reads the write-locked region: fast falls back and waits like gup.
  {
    name: '§12.5 stuck-writer region=1: the write-locked VMA makes fast fall back; equivalent',
    workload: 'stuck-writer', args: ['--param', 'region=1'], expect: fallsBack(NOT_FOUND, NO_VMA_LOCK), also: sameBytes,
  },
  // §12.6: v1 copies 8 bytes of A, the merge runs, v1 falls back and reads the rest from the merged
  // VMA: one call saw the address space before and after the merge (the §12.1 hazard; the bytes
  // happen to be the same, the merge only changes flags). singleVmaOnly refuses the spanning read.
  // v1 also misses the touch of A's folio (gup marks 2 folios accessed, v1 1): aging.
  {
    name: '§12.6 vma-merge: v1 reads across the merge (mixed-vmas); singleVmaOnly is equivalent',
    workload: 'vma-merge', seeds: [1, 2],
    expect: {
      'gup/fast': diffs(['aging:both', 'mixed-vmas:b'], [`b:${NO_VMA_LOCK}`]),
      'fast/fixed': diffs(['aging:both', 'mixed-vmas:a'], [`a:${NO_VMA_LOCK}`, `b:${NOT_FOR_FAST}`]),
      'gup/fixed': eq([`b:${NOT_FOR_FAST}`]),
    },
    also: sameBytes,
  },
  // §12.7: the munmap waits for the reader (whole read on every path); the late reader falls back
  // and gets 0 like gup.
  {
    name: '§12.7 munmap-during-read: the read is whole, the late read 0 on every path; v1 does not age',
    workload: 'munmap-during-read', expect: agesOnlyOnGup(1, NO_VMA_LOCK), also: sameBytes,
  },
  // §12.8: every mode ends in ABORT and a fallback; the same bytes as gup (never the other mm's).
  ...[0, 1, 2].map((mode): Row => ({
    name: `§12.8 vma-reuse mode=${mode}: vma_start_read refuses the reused VMA, fast falls back; equivalent`,
    workload: 'vma-reuse', args: ['--param', `mode=${mode}`], expect: fallsBack(NO_VMA_LOCK), also: sameBytes,
  })),
  // §12.9: nothing (or the zero page) mapped: v1 and the fixes (no FW_ZEROPAGE) fall back: zeros.
  {
    name: '§12.9 never-touched: fast falls back on every read, same zeros',
    workload: 'never-touched', expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  // §12.9/§12.12: folio_walk_start never finds a migration entry: fallback, GUP waits.
  {
    name: '§12.9/§12.12 migration-race: fast falls back on the migration entry, same bytes',
    workload: 'migration-race', seeds: [1, 2], expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  // §12.10: during (default) the fast path aborts on the write-locked VMA, then GUP says -EFAULT.
  {
    name: '§12.10 mprotect-race (read during the mprotect): fast falls back, 0 like gup',
    workload: 'mprotect-race', expect: fallsBack(NO_VMA_LOCK), also: sameBytes,
  },
  {
    name: '§12.10 mprotect-race when=0 (read first): same data, v1 does not age',
    workload: 'mprotect-race', args: ['--param', 'when=0'], expect: agesOnlyOnGup(1), also: sameBytes,
  },
  {
    name: '§12.10 mprotect-race when=2 (read after): PROT_NONE is not for the fast path, 0 like gup',
    workload: 'mprotect-race', args: ['--param', 'when=2'], expect: fallsBack(NOT_FOR_FAST), also: sameBytes,
  },
  {
    name: '§12.10 mprotect-race force=1 (FOLL_FORCE): fast falls back, data like gup',
    workload: 'mprotect-race', args: ['--param', 'force=1'], expect: fallsBack(NO_VMA_LOCK), also: sameBytes,
  },
  // §12.11: VM_IO|VM_PFNMAP and secretmem are not for the fast path; GUP's ->access / -EFAULT.
  {
    name: '§12.11 special-vmas: fast refuses the device and secretmem VMAs, same bytes',
    workload: 'special-vmas', expect: fallsBack(NOT_FOR_FAST), also: sameBytes,
  },
  // §12.11: a private device mapping the target copied a page of on write; ->access reads the device.
  {
    name: '§12.11 private-device: fast refuses the device VMA, same bytes (the device\'s, not the copied page\'s)',
    workload: 'private-device', expect: fallsBack(NOT_FOR_FAST), also: sameBytes,
  },
  // §12.11: hugetlb is not for the fast path; the 4th read (after the munmap) finds no VMA.
  {
    name: '§12.11 hugetlb-share: fast refuses hugetlb, same bytes',
    workload: 'hugetlb-share', expect: fallsBack(NOT_FOR_FAST, NO_VMA_LOCK), also: sameBytes,
  },
  // §12.12: a PMD-mapped THP. On x86 touch_pmd does not make a read's PMD young and GUP does not
  // mark a THP accessed: nothing differs (accessFlagsGeneric: see the tests at the end).
  {
    name: '§12.12 thp-read: one walk under pmd_lock, same bytes, no finding at all',
    workload: 'thp-read', expect: { 'gup/fast': eq(), 'fast/fixed': eq(), 'gup/fixed': eq() },
    also: (r) => {
      sameBytes(r);
      for (const p of Object.keys(PAIRS) as Pair[]) expect(r[p].findings.filter((f) => f.kind !== 'wait'), p).toEqual([]);
    },
  },
  {
    name: '§12.12 thp-read split=1: the split waits for the reader; equivalent',
    workload: 'thp-read', args: ['--param', 'split=1'], expect: { 'gup/fast': eq(), 'fast/fixed': eq(), 'gup/fixed': eq() }, also: sameBytes,
  },
  {
    name: '§12.12 thp-read zero=1: the huge zero page is not found by fast (no FW_ZEROPAGE); same zeros',
    workload: 'thp-read', args: ['--param', 'zero=1'], expect: fallsBack(NOT_FOUND), also: sameBytes,
  },
  // §12.13: the IPI/RCU difference is in the khugepaged's wait, not in what the reader returns.
  {
    name: '§12.13 ipi-vs-rcu: same bytes, v1 does not age',
    workload: 'ipi-vs-rcu', expect: agesOnlyOnGup(1), also: sameBytes,
  },
  // §12.14: gup's killed monitor returns 0 (the killable wait gives up), fast returns argv (it never
  // sleeps). The gup reader dies with the signal pending, so no one sees its 0 bytes: the byte
  // difference is a note, not a difference. So is the aging that follows from it: the fixed variant
  // touched the argv pages that gup, killed before it read, never read. Between fast and the fixed
  // variant, which both read the 48 bytes, the aging is FOLL_TOUCH's and a difference.
  {
    name: '§12.14 fatal-signal: bytes returned to a killed reader are no difference, nor what reading them aged; touch ages',
    workload: 'fatal-signal',
    expect: { 'gup/fast': eq(), 'fast/fixed': diffs(times(2, 'aging:b')), 'gup/fixed': eq() },
    also: (r) => {
      expect(r['fast/fixed'].requests.every((q) => q.same)).toBe(true);
      const agingNotes = r['gup/fixed'].findings.filter((f) => f.kind === 'aging');
      expect(agingNotes.map((f) => [f.request, f.severity])).toEqual([['monitor:1', 'info'], ['monitor:2', 'info']]);
      expect(agingNotes[0]!.message).toMatch(/not a difference: SIGKILL was pending for the reader, which read 0 vs 48 bytes/);
      // The facts behind the gup pairs: gup's reads return 0 (SIGKILL), fast's the 48 argv bytes.
      for (const p of ['gup/fast', 'gup/fixed'] as const) {
        expect(r[p].requests.map((q) => [q.id, q.a?.result, q.b?.result])).toEqual([['monitor:1', 0, 48], ['monitor:2', 0, 48]]);
        const notes = r[p].findings.filter((f) => f.kind === 'bytes');
        expect(notes.map((f) => [f.request, f.severity]), p).toEqual([['monitor:1', 'info'], ['monitor:2', 'info']]);
        // monitor:1 was killed in gup only (fast's first read returned before the kill); monitor:2 in both.
        expect(notes[0]!.message).toMatch(/SIGKILL was pending for the reader in gup, so/);
        expect(notes[1]!.message).toMatch(/SIGKILL was pending for the reader in gup and fast/);
      }
    },
  },
  // §12.15: reads 1-2 fall back (read 1: non-canonical; read 2: the enable races in), then data.
  {
    name: '§12.15 lam-enable: the racing read falls back and untags with the new mask; v1 does not age',
    workload: 'lam-enable', expect: agesOnlyOnGup(4, NO_VMA_LOCK), also: sameBytes,
  },
  {
    name: '§12.15 lam-enable threads=1: LAM is locked, every read 0 and falls back; equivalent',
    workload: 'lam-enable', args: ['--param', 'threads=1'], expect: fallsBack(NO_VMA_LOCK), also: sameBytes,
  },
  // §12.16: the stall is in the writer and the faulter, not in what the reader returns.
  {
    name: '§12.16 reader-blocks-writer: same bytes, v1 does not age',
    workload: 'reader-blocks-writer', expect: agesOnlyOnGup(1), also: sameBytes,
  },
  // §4.1: reads before and during the exit return argv, after it 0, on every path.
  {
    name: '§4.1 process-exit: same results around the exit, v1 does not age',
    workload: 'process-exit', expect: agesOnlyOnGup(2), also: sameBytes,
  },
];

async function diffAll(file: string): Promise<Record<Pair, DiffReport>> {
  const out = {} as Record<Pair, DiffReport>;
  for (const [p, [a, b]] of Object.entries(PAIRS) as [Pair, readonly [string, string]][]) out[p] = await diff(file, a, b);
  return out;
}

describe('diff of every §12 scenario: gup vs fast v1 vs fast with the review fixes', () => {
  test.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    for (const seed of row.seeds ?? [1]) {
      const reports = await diffAll(await record(row.workload, row.args, seed));
      for (const [p, want] of Object.entries(row.expect) as [Pair, Expect][]) {
        const r = reports[p];
        const got = { verdict: r.verdict, behaviour: kinds(r), fallbacks: fallbacks(r) };
        expect(got, `${p}, seed ${seed}`).toEqual(want);
        expect(r.warnings, `${p}, seed ${seed}`).toEqual([]);
      }
      row.also?.(reports);
    }
  });

  // mixed has no directed schedule: the paths take different numbers of steps, so the seeded random
  // schedule interleaves the target's operations differently on each path, and a cross-path diff
  // reports timing, not path, differences (README, "Diff"). Not diffed across paths here.
});

async function facts(file: string, run: string) {
  const t = await openTrace(file);
  try {
    return runFacts(t, t.resolveRun(run));
  } finally {
    t.close();
  }
}

describe('diff results the first version of this file found wrong, now fixed', () => {
  // What the tests below rest on, so that none of them passes or fails for another reason.
  test('their premises: the use-after-free in every run, the touches v1 misses in vma-merge', async () => {
    for (const workload of ['dontneed-race', 'khugepaged-collapse']) {
      const file = await record(workload, ['--config', 'pteFreeImmediate=y']);
      for (const run of ['gup', 'fast', FIXED]) expect((await facts(file, run)).checks.useAfterFree, `${workload} ${run}`).toContain('PTL of a freed page table');
    }
    const merge = await record('vma-merge');
    const marked = async (run: string) => (await facts(merge, run)).requests.get('reader:1')!.markedAccessed;
    expect([await marked('gup'), await marked('fast'), await marked(FIXED)]).toEqual([2, 1, 2]);
  });

  // §12.5: gup's monitor:1 blocks on mmap_lock (sched_block at tick 172714, rwsem_acquire at
  // 203769, seed 1) while fast's never waits. The rwsem hand-off wakes the monitor with the
  // rwsem_wake event (no sched_wakeup): the aggregator once missed that and counted no wait.
  test('§12.5 stuck-writer: gup vs fast reports that gup\'s monitor waited and fast\'s did not', async () => {
    const r = (await diffAll(await record('stuck-writer')))['gup/fast'];
    const wait = r.findings.find((f) => f.kind === 'wait' && f.request === 'monitor:1');
    expect(wait).toEqual(expect.objectContaining({ severity: 'info' }));
    // The aggregates give the monitor's request waits side by side: gup's worst wait is the
    // writer's hold, fast never waits.
    const max = r.aggregates['request-wait/monitor/max']!;
    expect(max.a).toBeGreaterThan(0);
    expect(max.b).toBe(0);
    expect(r.aggregates['request-wait/monitor/p99']!.a).toBe(max.a);
  });

  // §12.6: gup marks both folios the read copies from accessed (folio_mark_accessed x2), v1 only
  // the one of B, copied by the fallback (x1): A's folio is aged in gup only. `aging` once compared
  // only whether a request marked anything, and missed this.
  test('§12.6 vma-merge: v1 misses the touch of A\'s folio: aging besides mixed-vmas', async () => {
    const r = await diffAll(await record('vma-merge'));
    expect(kinds(r['gup/fast'])).toEqual(['aging:both', 'mixed-vmas:b']);
    expect(kinds(r['fast/fixed'])).toEqual(['aging:both', 'mixed-vmas:a']);
  });

  // §12.4c: with pteFreeImmediate=y every run takes the PTL inside a freed page table
  // (use_after_free "PTL of a freed page table" in gup, fast and the fixed variant). The diff is
  // right that this is no difference, but it must still list it (as info): `equivalent` with no
  // finding at all would hide a use-after-free.
  test.each([['dontneed-race'], ['khugepaged-collapse']])('§12.4c %s pteFreeImmediate=y: the use-after-free in both runs is listed (info)', async (workload) => {
    const r = (await diffAll(await record(workload, ['--config', 'pteFreeImmediate=y'])))['gup/fixed'];
    expect(r.verdict).toBe('equivalent');
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: 'use-after-free', run: 'both', severity: 'info' }));
  });

  // §12.12 with accessFlagsGeneric=y: gup's touch_pmd makes the read's PMD young, v1 does not (the
  // touch variant does): the same FOLL_TOUCH aging difference as §12.3. `aging` once counted only
  // folio_mark_accessed calls, so this showed only as a final-pte-aging note.
  test('§12.12 thp-read accessFlagsGeneric=y: v1 not making the PMD young is an aging difference', async () => {
    const r = await diffAll(await record('thp-read', ['--config', 'accessFlagsGeneric=y']));
    expect(r['gup/fixed'].verdict).toBe('equivalent');
    expect(kinds(r['gup/fast'])).toEqual(['aging:a']);
    expect(kinds(r['fast/fixed'])).toEqual(['aging:b']);
    expect(r['gup/fast'].findings.find((f) => f.kind === 'aging')!.message).toMatch(/1 entry made young/);
  });
});
