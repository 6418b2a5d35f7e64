/**
 * The checkers: nothing reported on the mainline gup path over every workload and several seeds
 * (the false-positive bar), each review finding reported on the fast path as posted and gone with
 * the switch that answers it, the same verdicts offline (`mmtrace check`) as online, and each
 * checker's rule on planted event sequences.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CheckingSink } from '../src/check/online.js';
import type { CheckerName, Violation } from '../src/check/index.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { K } from '../src/trace/vocab/index.js';
import { resolveParams, WORKLOADS } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import type { AccessPath } from '../src/workloads/workload.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { mmtrace, ROOT, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';
import { FALLBACK_AREA as AREA, fallbackAlone, fallbackRemap, fallbackWriterHeld } from './helpers/fallback-remap.js';
import { runTrace, SMALL_PARAMS } from './helpers/harness.js';


function violations(workload: string, path: AccessPath, seed: number, opts: { variant?: string[]; config?: Record<string, string | boolean> } = {}): Violation[] {
  const w = WORKLOADS.find((x) => x.name === workload)!;
  const sink = new CheckingSink();
  runWorkload({
    workload: w, params: resolveParams(w, SMALL_PARAMS[workload] ?? {}), path, variant: opts.variant ?? [], seed,
    strategy: new RandomStrategy(seed), sink, config: opts.config as never,
  });
  return [...sink.violations];
}

const checkersOf = (vs: readonly Violation[]) => [...new Set(vs.map((v) => v.checker))].sort();
const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];

describe('the false-positive bar', () => {
  test('mainline gup: no checker reports anything, on any workload, over seeds 1..6', () => {
    const reported: string[] = [];
    for (const w of WORKLOADS) {
      for (let seed = 1; seed <= 6; seed++) {
        for (const v of violations(w.name, 'gup', seed)) reported.push(`${w.name} seed ${seed}: ${v.checker}: ${v.message}`);
      }
    }
    expect(reported).toEqual([]);
  });

  test('the fast path with the three fixes (single VMA, FOLL_ANON check, FOLL_TOUCH): nothing but a fallback part-way through a read', () => {
    // What the fixes leave: a read inside one VMA whose fast part stops (a page not present) and
    // whose rest, read under mmap_lock, comes after the VMA was replaced (the directed test below).
    const reported: string[] = [];
    for (const w of WORKLOADS) {
      for (let seed = 1; seed <= 3; seed++) {
        for (const v of violations(w.name, 'fast', seed, { variant: FIXES })) reported.push(`${w.name} seed ${seed}: ${v.checker}: ${v.message}`);
      }
    }
    const other = reported.filter((r) => !/: mixed-vmas: .*\(the fast path copied \d+ bytes, fell back on /.test(r));
    expect(other).toEqual([]);
  });

  test('mixed-vmas with the three fixes: the fast path copies a page of a one-VMA read, falls back at a page not present, and the rest is read after a MAP_FIXED replaced the VMA', () => {
    for (const seed of [1, 2, 3]) {
      const sink = new CheckingSink();
      const r = runWorkload({ workload: fallbackRemap, params: {}, path: 'fast', variant: FIXES, seed, strategy: new RandomStrategy(seed), sink });
      expect(r.outcome).toBe('done');
      const found = sink.violations.map((v) => `${v.checker}: ${v.message}`);
      expect(found).toEqual([
        `mixed-vmas: reader:1: one __access_remote_vm call copied before and after 3 VMA change(s) of the target mm: the result mixes data from VMAs that never coexisted (the fast path copied ${PAGE_SIZE} bytes, fell back on "folio_walk_start: not found", and the mmap_lock path read the rest after the change)`,
      ]);
    }
  });

  // redoWhole redoes every read the fast path stops part-way; redoIfWritten only those a writer took
  // mmap_lock during (mmap_lock_speculate_try_begin/retry). Both close what the three fixes leave.
  for (const redo of ['redoWhole', 'redoIfWritten']) {
    test(`the fast path with the three fixes and ${redo}: nothing, on any workload, over seeds 1..3`, () => {
      const reported: string[] = [];
      for (const w of WORKLOADS) {
        for (let seed = 1; seed <= 3; seed++) {
          for (const v of violations(w.name, 'fast', seed, { variant: [...FIXES, redo] })) reported.push(`${w.name} seed ${seed}: ${v.checker}: ${v.message}`);
        }
      }
      expect(reported).toEqual([]);
    });

    test(`mixed at seed 4 (the README's example): the three fixes leave the fallback part-way; ${redo} leaves nothing`, () => {
      const three = violations('mixed', 'fast', 4, { variant: FIXES }).map((v) => `${v.checker}: ${v.message}`);
      expect(three).toHaveLength(1);
      expect(three[0]).toMatch(/^mixed-vmas: .*\(the fast path copied \d+ bytes, fell back on "folio_walk_start: not found", and the mmap_lock path read the rest after the change\)$/);
      expect(violations('mixed', 'fast', 4, { variant: [...FIXES, redo] })).toEqual([]);
    });

    test(`${redo}: the read the VMA was replaced under drops its fast part and reads the whole range under mmap_lock: one snapshot, no mixed-vmas`, () => {
      for (const seed of [1, 2, 3]) {
        const sink = new CheckingSink();
        const r = runWorkload({ workload: fallbackRemap, params: {}, path: 'fast', variant: [...FIXES, redo], seed, strategy: new RandomStrategy(seed), sink });
        expect(r.outcome).toBe('done');
        expect(sink.violations).toEqual([]);
        const t = runTrace(fallbackRemap, { path: 'fast', variant: [...FIXES, redo], seed });
        expect(t.of('fast_path_discard', 'reader').map((e) => [e.addr, e.copied])).toEqual([[AREA, PAGE_SIZE]]);
        // Both pages come from the new mapping ('N'), copied under mmap_lock after the fallback.
        const [req] = t.requests('reader');
        expect(new TextDecoder().decode(req!.data!)).toBe('N'.repeat(2 * PAGE_SIZE));
        const discard = t.of('fast_path_discard', 'reader')[0]!;
        expect(t.of('copy', 'reader', (e) => e.seq > discard.seq).map((e) => e.addr)).toEqual([AREA, AREA + PAGE_SIZE]);
      }
    });
  }

  test('a read stopped part-way with no writer in between: redoWhole reads its first page again, redoIfWritten keeps it', () => {
    const copies = (redo: string) => {
      const t = runTrace(fallbackAlone, { path: 'fast', variant: [...FIXES, redo], seed: 1 });
      const [req] = t.requests('reader');
      // The touched first page, then the untouched second one (the zero page's bytes).
      expect([...req!.data!]).toEqual([...new Array(PAGE_SIZE).fill(0x4f), ...new Array(PAGE_SIZE).fill(0)]);
      return { discards: t.of('fast_path_discard', 'reader').length, copies: t.of('copy', 'reader').map((e) => e.addr) };
    };
    expect(copies('redoWhole')).toEqual({ discards: 1, copies: [AREA, AREA, AREA + PAGE_SIZE] });
    expect(copies('redoIfWritten')).toEqual({ discards: 0, copies: [AREA, AREA + PAGE_SIZE] });
  });

  test('redoIfWritten when a writer held mmap_lock as the fast path began: the read stopped part-way is redone', () => {
    // mmap_lock_speculate_try_begin() finds the count odd and gives nothing to check against; the
    // count also moves before the reader can take mmap_lock, so the trace cannot tell that from a
    // writer that came later: either way the fast part is dropped.
    const t = runTrace(fallbackWriterHeld, { path: 'fast', variant: [...FIXES, 'redoIfWritten'], seed: 1 });
    expect(t.result.outcome).toBe('done');
    // The fast path ran beside the writer (its VMA was not write-locked) and stopped at the second page.
    const fallback = t.of('fast_path_fallback', 'reader')[0]!;
    const unlock = t.of('mmap_lock_released', 'writer')[0]!;
    expect(fallback.seq).toBeLessThan(unlock.seq);
    expect(t.of('fast_path_discard', 'reader').map((e) => [e.addr, e.copied])).toEqual([[AREA, PAGE_SIZE]]);
    expect(t.of('copy', 'reader').map((e) => e.addr)).toEqual([AREA, AREA, AREA + PAGE_SIZE]);
  });
});

describe('the review findings, on the fast path as posted', () => {
  const cases: [string, CheckerName, string, Record<string, string | boolean>?][] = [
    ['cross-vma-race', 'mixed-vmas', 'singleVmaOnly'],
    ['file-cmdline', 'foll-anon', 'checkFollAnon'],
    ['reclaim-aging', 'aging', 'touch'],
  ];
  test.each(cases)('%s: %s, gone with %s', (workload, checker, fix) => {
    expect(checkersOf(violations(workload, 'fast', 1))).toContain(checker);
    expect(checkersOf(violations(workload, 'fast', 1, { variant: [fix] }))).not.toContain(checker);
    expect(violations(workload, 'gup', 1)).toEqual([]);
  });

  test('dontneed-race with pteFreeImmediate=y: a use after free on both paths, as docs/semantics.md says', () => {
    for (const path of ['gup', 'fast'] as const) {
      const vs = violations('dontneed-race', path, 1, { config: { pteFreeImmediate: true } });
      expect(checkersOf(vs), path).toEqual(['use-after-free']);
      expect(vs[0]!.witnesses[0]!.stack).toContain('__access_remote_vm');
    }
  });
});

describe('mmtrace check', () => {
  const dir = tempDir();
  const race = join(dir, 'race.db');

  test('offline over a recorded run: the violations the online checkers found, exit 1; a clean run exits 0', async () => {
    await recordHere('cross-vma-race', ['--path=gup,fast', `--out=${race}`]);
    const r = mmtrace(['check', race, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { runs: { run: string; violations: Violation[] }[] };
    const byRun = Object.fromEntries(doc.runs.map((x) => [x.run, x.violations]));
    expect(byRun['gup']).toEqual([]);
    const online = violations('cross-vma-race', 'fast', 1);
    expect(byRun['fast']!.map((v) => [v.checker, v.message, v.seqs])).toEqual(online.map((v) => [v.checker, v.message, v.seqs]));
    const mixed = byRun['fast']!.find((v) => v.checker === 'mixed-vmas')!;
    expect(mixed.request).toBe('reader:1');
    expect(mixed.witnesses[0]!.stack).toEqual(['__access_remote_vm', 'access_remote_vm_fast']);

    const onlyAging = JSON.parse(mmtrace(['check', `${race}#fast`, '--checkers=aging', '--json']).stdout) as { runs: { violations: Violation[] }[] };
    expect(checkersOf(onlyAging.runs[0]!.violations)).toEqual(['aging']);

    const clean = mmtrace(['check', `${race}#gup`]);
    expect(clean.status).toBe(0);
    expect(clean.stdout.trim()).toBe(`${race}#gup: no violations`);
  });

  test('the text report names the checker, the events and each witness\'s stack', () => {
    const r = mmtrace(['check', `${race}#fast`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/mixed-vmas \(bug\): reader:1: one __access_remote_vm call copied before and after/);
    expect(r.stdout).toMatch(/in __access_remote_vm > access_remote_vm_fast/);
  });

  test('bad input: one line, exit 2', () => {
    const missing = mmtrace(['check', join(dir, 'nope.db')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const bound = mmtrace(['check', race, '--starvation-ticks=0']);
    expect(bound.status).toBe(2);
    expect(bound.stderr.trim()).toBe("mmtrace: --starvation-ticks must be a positive integer, got '0'");
  });
});

/** Feed planted events straight to the online checkers. */
class Planted {
  readonly sink = new CheckingSink();
  private seq = 0;
  private readonly ids = new Map<string, number>();

  constructor() {
    this.sink.task(1, 'a');
    this.sink.task(2, 'b');
  }

  name(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(text, id);
      this.sink.name(id, text);
    }
    return id;
  }

  ev(tid: number, kind: keyof typeof K, a = 0, b = 0, c = 0, d = 0): this {
    this.seq++;
    this.sink.event(this.seq, this.seq * 10, tid, K[kind], a, b, c, d, undefined);
    return this;
  }

  rwsem(tid: number, sem: number, cls: string, how = 0): this {
    return this.ev(tid, 'rwsem_acquire', sem, this.name(cls), 0, how);
  }

  spin(tid: number, lock: number, cls: string, trylock = 0): this {
    return this.ev(tid, 'spin_lock', lock, this.name(cls), 0, trylock);
  }

  get reported(): string[] {
    return this.sink.violations.map((v) => `${v.checker}: ${v.message}`);
  }
}

const VMA_READ_OK = 0;
const HOW_TRYLOCK = 4;

describe('planted violations', () => {
  test('lockdep: mmap_lock taken under a VMA read lock, with both stacks', () => {
    const p = new Planted();
    p.ev(1, 'call_enter', p.name('lock_vma_under_rcu')).ev(1, 'vma_start_read', 7, VMA_READ_OK, 1).ev(1, 'call_exit', p.name('lock_vma_under_rcu'));
    p.ev(1, 'call_enter', p.name('handle_mm_fault')).rwsem(1, 3, 'mmap_lock');
    expect(p.reported[0]).toBe('lockdep: against the documented lock order: mmap_lock (read) taken while holding vma_lock (read): vma_lock nests inside mmap_lock');
    const v = p.sink.violations[0]!;
    expect(v.seqs).toEqual([2, 5]);
    expect(v.witnesses.map((w) => w.stack)).toEqual([['lock_vma_under_rcu'], ['handle_mm_fault']]);
  });

  test('lockdep: a cycle between classes outside the documented order, across two tasks', () => {
    const p = new Planted();
    p.spin(1, 10, 'foo_lock').spin(1, 11, 'bar_lock').ev(1, 'spin_unlock', 11, p.name('bar_lock')).ev(1, 'spin_unlock', 10, p.name('foo_lock'));
    expect(p.reported).toEqual([]);
    p.spin(2, 11, 'bar_lock').spin(2, 10, 'foo_lock');
    expect(p.reported).toEqual(['lockdep: possible circular locking dependency: bar_lock -> foo_lock closes the cycle foo_lock -> bar_lock']);
  });

  test('lockdep: a trylock against the order is no dependency', () => {
    const p = new Planted();
    p.ev(1, 'vma_start_read', 7, VMA_READ_OK, 1).rwsem(1, 3, 'mmap_lock', HOW_TRYLOCK);
    p.spin(1, 12, 'ptl').spin(1, 13, 'pmd_lock', 1);
    expect(p.reported).toEqual([]);
  });

  test('lock-context: folio_walk_start with no lock, and a lockless walk outside RCU', () => {
    const p = new Planted();
    p.ev(1, 'call_enter', p.name('folio_walk_start'), 0x1000);
    p.ev(1, 'pgtable_read', 2, 0x1000, 0x1067, 1);
    expect(p.reported).toEqual([
      'lock-context: folio_walk_start() called without mmap_lock or vma_lock held (mmap_assert_locked, or vma_assert_locked with FW_VMA_LOCKED)',
      'lock-context: lockless pmd read at 0x1000 outside RCU and without the mmap_lock, a VMA lock or an rmap lock: the table can be freed under the walk',
    ]);
    const safe = new Planted();
    safe.ev(1, 'rcu_read_lock', 1).ev(1, 'pgtable_read', 2, 0x1000, 0x1067, 1);
    expect(safe.reported).toEqual([]);
  });

  test('refcount: a put below zero, and a reference a request keeps', () => {
    const p = new Planted();
    p.ev(1, 'folio_put', 5, -1);
    expect(p.reported).toEqual(["refcount: folio 5's reference count went below zero (-1): a folio_put without a reference"]);
    const leak = new Planted();
    leak.ev(1, 'request_begin', 1, leak.name('cmdline'), 0, 64).ev(1, 'call_enter', leak.name('__access_remote_vm'));
    leak.ev(1, 'folio_get', 5, 2).ev(1, 'folio_get', 6, 2).ev(1, 'folio_put', 5, 1).ev(1, 'call_exit', leak.name('__access_remote_vm'));
    leak.ev(1, 'request_end', 1, 64, 0, 0);
    expect(leak.reported).toEqual(['refcount: a:1 took 2 folio reference(s) and dropped 1: 1 leaked past the end of the request']);
  });

  test('use-after-free: a reference taken on a freed folio, none once its id is allocated again', () => {
    const p = new Planted();
    p.ev(1, 'folio_free', 5).ev(1, 'folio_get', 5, 1);
    expect(p.reported).toEqual(['use-after-free: folio_get on folio 5, freed at event 1']);
    const reused = new Planted();
    reused.ev(1, 'folio_free', 5).ev(1, 'folio_alloc', 5, 100, 0, 0).ev(1, 'folio_get', 5, 2);
    expect(reused.reported).toEqual([]);
  });

  test('use-after-free: a copy through a read-locked VMA whose object was freed and reused', () => {
    const p = new Planted();
    p.ev(2, 'vma_create', 7, 1, 0x1000, 0x3000).ev(2, 'vma_mark_attached', 7, 0x1000, 0x3000);
    p.ev(1, 'vma_start_read', 7, VMA_READ_OK, 1).ev(1, 'copy', 0x1800, 8, 5, 0);
    expect(p.reported).toEqual([]);
    p.ev(2, 'vma_mark_detached', 7, 0).ev(2, 'vma_free', 7).ev(2, 'vma_create', 7, 2, 0x1000, 0x3000);
    p.ev(1, 'copy', 0x1808, 8, 5, 0);
    expect(p.reported).toEqual(['use-after-free: copy at 0x1808 through a read-locked VMA that changed under the lock: VMA 7 was freed and created again (event 7)']);
  });

  test('foll-anon: file bytes a FOLL_ANON request returned; none when redoWhole dropped them (fast_path_discard)', () => {
    const read = (discard: boolean) => {
      const p = new Planted();
      const FOLL_ANON = 1 << 7;
      // A file-backed VMA of mm 1, read-locked by the request's fast path, which copies 8 bytes.
      p.ev(2, 'vma_create', 7, 1, 0x1000, 0x3000).ev(2, 'vma_init', 7, 0, p.name('/lib/args'), 0).ev(2, 'vma_mark_attached', 7, 0x1000, 0x3000);
      p.ev(1, 'request_begin', 1, p.name('cmdline'), 0x1000, 16).ev(1, 'call_enter', p.name('__access_remote_vm'));
      p.ev(1, 'vma_start_read', 7, VMA_READ_OK, 2).ev(1, 'copy', 0x1000, 8, 5, 0);
      if (discard) p.ev(1, 'fast_path_discard', 0x1000, 8);
      p.ev(1, 'call_exit', p.name('__access_remote_vm')).ev(1, 'request_end', 1, 8, 0, FOLL_ANON);
      return p.reported.filter((r) => r.startsWith('foll-anon'));
    };
    expect(read(false)).toEqual(['foll-anon: a:1 (FOLL_ANON) returned 8 bytes copied from the file-backed VMA of /lib/args: check_vma_flags() would refuse it (CVE-2018-1120)']);
    expect(read(true)).toEqual([]);
  });

  test('deadlock: the model\'s report, and a wait past the starvation bound', () => {
    const p = new Planted();
    p.ev(0, 'deadlock', 2);
    expect(p.reported).toEqual(['deadlock: every live task is blocked (2): ']);
    const idle = new Planted();
    idle.ev(1, 'sched_block', 3, idle.name('rcu_gp_idle'), 0);
    (idle as unknown as { seq: number }).seq = 2_000_000;
    idle.ev(2, 'sched_wakeup', 1, 3);
    expect(idle.reported).toEqual([]);
    const starved = new Planted();
    starved.ev(1, 'request_begin', 1, starved.name('cmdline'), 0, 64);
    starved.ev(1, 'sched_block', 3, starved.name('rwsem_down_read'), 0);
    (starved as unknown as { seq: number }).seq = 2_000_000;
    starved.ev(2, 'sched_wakeup', 1, 3);
    expect(starved.reported).toEqual(['deadlock: a:1 waited 19999990 ticks on rwsem_down_read (bound 1000000): starvation']);
  });
});

describe('memory over a long run', () => {
  /**
   * In a child node with --expose-gc (the built dist/): the heap the checkers still hold after
   * checking the scale workload online, at about 50k and about 3.4M events. Every checker but
   * use-after-free (which remembers every folio freed, as a folio id can be used at any later
   * event) keeps what is in flight, not what has been: the same heap at either length.
   */
  test('every checker but use-after-free keeps the same memory for a run sixty times longer', () => {
    const script = `
      const D = ${JSON.stringify(join(ROOT, 'dist', 'src'))};
      const { findWorkload, resolveParams } = await import(D + '/workloads/index.js');
      const { runWorkload } = await import(D + '/workloads/runner.js');
      const { RandomStrategy } = await import(D + '/sim/strategy.js');
      const { CheckingSink } = await import(D + '/check/online.js');
      const { CHECKER_NAMES, DEFAULT_STARVATION_TICKS } = await import(D + '/check/index.js');
      const w = findWorkload('scale');
      const checkers = CHECKER_NAMES.filter((c) => c !== 'use-after-free');
      const kept = (iterations) => {
        const params = resolveParams(w, { iterations: String(iterations), reads: String(2 * iterations) });
        globalThis.gc();
        const before = process.memoryUsage().heapUsed;
        const sink = new CheckingSink({ starvationTicks: DEFAULT_STARVATION_TICKS, checkers });
        const events = runWorkload({ workload: w, params, path: 'gup', variant: [], seed: 1, strategy: new RandomStrategy(1), sink }).events;
        globalThis.gc();
        const held = process.memoryUsage().heapUsed - before;
        if (sink.violations.length > 0) throw new Error('violations on mainline');
        return { events, held, sink };
      };
      kept(25);
      const small = kept(25);
      const large = kept(1600);
      console.log(JSON.stringify({ small: [small.events, small.held], large: [large.events, large.held] }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { small, large } = JSON.parse(r.stdout) as { small: [number, number]; large: [number, number] };
    expect(large[0]).toBeGreaterThan(60 * small[0]);
    // Before the checkers kept only what is in flight, the long run held 7.7-8.2 MB more (every
    // request's record, and aging's map of every folio's head pfn); since, 0.5-1.3 MB, which
    // the heap's own noise (compiled code, caches) accounts for.
    expect(large[1] - small[1]).toBeLessThan(3_000_000);
  });
});
