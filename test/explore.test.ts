/**
 * `mmtrace explore`: from a random start and with no directed schedule, it finds each review
 * finding on the fast path as posted and none on gup or with the fix; bounded search ends with a
 * count; a violation shrinks to a known minimal schedule, is kept as a run, and the printed command
 * replays it in a fresh process; shards split the search and merge back.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { CheckerName } from '../src/check/index.js';
import { explore, type ExploreOptions, type ExploreSummary } from '../src/explore/explore.js';
import { ddmin } from '../src/explore/shrink.js';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';

function search(workload: string, path: 'gup' | 'fast', opts: { strategy?: string; variant?: string[]; config?: Record<string, string>; checkers?: CheckerName[]; schedules?: number } = {}): Promise<ExploreSummary> {
  const o: ExploreOptions = {
    target: { workload, path, variant: opts.variant ?? [], params: {}, config: opts.config ?? {}, seed: 1, maxEvents: 200_000, checkers: opts.checkers },
    strategy: opts.strategy ?? 'random', schedules: opts.schedules ?? 300, all: false, workers: 1, shard: { index: 0, count: 1 },
  };
  return explore(o);
}

describe('explore finds the review findings on the fast path, and nothing on gup or with the fix', () => {
  const cases: [string, CheckerName, string, Record<string, string>][] = [
    ['cross-vma-race', 'mixed-vmas', 'singleVmaOnly', {}],
    ['file-cmdline', 'foll-anon', 'checkFollAnon', {}],
    ['reclaim-aging', 'aging', 'touch', {}],
  ];
  for (const [workload, checker, fix, config] of cases) {
    test(`${workload}: ${checker} (random, pct:3, bounded:1); none on gup; none with ${fix}`, { timeout: 120_000 }, async () => {
      for (const strategy of ['random', 'pct:3', 'bounded:1']) {
        const found = await search(workload, 'fast', { strategy, config, checkers: [checker] });
        expect(found.violations.map((v) => v.checker), strategy).toEqual([checker]);
        expect(found.complete).toBe(false);
      }
      expect((await search(workload, 'gup', { config, checkers: [checker], schedules: 200 })).violations).toEqual([]);
      expect((await search(workload, 'fast', { variant: [fix], config, checkers: [checker], schedules: 200 })).violations).toEqual([]);
    });
  }

  // The window (between the walker's lockless PMD read and its PTL) needs two switches in a row:
  // random schedules find it late (seed 576); PCT with depth 2 sooner, and bounded:2.
  test('dontneed-race with pteFreeImmediate=y: the use after free (on gup too, as docs/semantics.md says)', { timeout: 60_000 }, async () => {
    const config = { pteFreeImmediate: 'y' };
    for (const path of ['fast', 'gup'] as const) {
      const found = await search('dontneed-race', path, { strategy: 'pct:2', config, checkers: ['use-after-free'], schedules: 1000 });
      expect(found.violations.map((v) => v.checker), path).toEqual(['use-after-free']);
    }
    expect((await search('dontneed-race', 'fast', { strategy: 'pct:2', checkers: ['use-after-free'], schedules: 200 })).violations).toEqual([]);
  });
});

describe('bounded search', () => {
  const bounded = (...args: string[]) => boundedOn('cross-vma-race', ...args);
  const boundedOn = (workload: string, ...args: string[]) => {
    const r = mmtrace(['explore', workload, '--strategy=bounded:2', '--keep=', '--json', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ExploreSummary;
  };

  test('bounded:2 on cross-vma-race ends on gup and on fast with every fix, with a count and no violation; pruning saves most of it', { timeout: 240_000 }, () => {
    for (const path of ['gup', 'fast with every fix']) {
      const s = path === 'gup' ? bounded('--path=gup') : bounded('--path=fast', '--variant=singleVmaOnly,checkFollAnon,touch');
      expect(s.complete).toBe(true);
      expect(s.violations).toEqual([]);
      expect(s.schedules).toBeGreaterThan(5_000);
      // Equivalent states (same per-object orders and progress) are branched from once.
      expect(s.pruned).toBeGreaterThan(s.schedules);
      expect(s.covered).toBe('every schedule with at most 2 deviation(s) from the default scheduler at shared-state choice points');
    }
  });

  test('the count does not depend on how the search is split', { timeout: 240_000 }, () => {
    // The whole search runs its subtrees on two threads (this one and a worker); each shard takes
    // half of them, on one. Splitting does not depend on the search's size, so this is file-cmdline's
    // (570 schedules, 312 pruned, both shards with some of each: a few CPU-s in all) rather than
    // cross-vma-race's (7,394 schedules: 15 CPU-s again for the shards), whose size the test above needs.
    const whole = boundedOn('file-cmdline', '--path=gup', '--workers=2');
    const shards = [0, 1].map((k) => boundedOn('file-cmdline', '--path=gup', `--shard=${k}/2`, '--workers=1'));
    expect(shards.every((s) => s.schedules > 0 && s.pruned > 0)).toBe(true);
    expect(shards.reduce((n, s) => n + s.schedules, 0)).toBe(whole.schedules);
    expect(shards.reduce((n, s) => n + s.pruned, 0)).toBe(whole.pruned);
  });
});

describe('threads', () => {
  test('a search reports the same on one thread as on this thread and two workers', { timeout: 120_000 }, () => {
    const on = (workers: number) => {
      const r = mmtrace(['explore', 'cross-vma-race', '--path=fast', '--checkers=mixed-vmas', '--all', '--seeds=300', '--keep=', '--json', `--workers=${workers}`]);
      expect(r.status, r.stderr).toBe(1);
      const { schedulesPerSec: _rate, searchMs: _search, shrinkMs: _shrink, ...rest } = JSON.parse(r.stdout) as ExploreSummary;
      return rest;
    };
    const one = on(1);
    expect(one.schedules).toBe(300);
    expect(one.violationsByChecker['mixed-vmas']).toBeGreaterThan(1);
    expect(on(3)).toEqual(one);
  });
});

describe('shrinking', () => {
  test('ddmin keeps exactly what the failure needs', () => {
    const items = [...Array(40).keys()];
    let calls = 0;
    const minimal = ddmin(items, (c) => {
      calls++;
      return c.includes(3) && c.includes(17) && c.includes(31);
    });
    expect(minimal).toEqual([3, 17, 31]);
    expect(calls).toBeLessThan(200);
  });

  test('the cross-VMA race found by a random schedule shrinks to its known minimal schedule: one preemption, the reader at step 271', async () => {
    const found = await search('cross-vma-race', 'fast', { checkers: ['mixed-vmas'] });
    const v = found.violations[0]!;
    expect(v.foundWith).toBeGreaterThan(10);
    expect(v.schedule).toBe('schedule:271@5');
    expect([v.deviations, v.preemptions]).toEqual([1, 1]);
  });
});

describe('mmtrace explore', () => {
  const dir = tempDir();

  test('keeps the shrunk violation as a run; the printed command replays it in a fresh process, check reports it, verify passes', () => {
    const keep = join(dir, 'race.db');
    const r = mmtrace(['explore', 'cross-vma-race', '--checkers=mixed-vmas', `--keep=${keep}`, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as ExploreSummary;
    for (const key of ['schedules', 'schedulesPerSec', 'interleavings']) expect(typeof (s as unknown as Record<string, unknown>)[key]).toBe('number');
    const v = s.violations[0]!;
    expect(v).toMatchObject({ checker: 'mixed-vmas', seed: 1, preemptions: 1 });
    expect(v.replay).toBe(`npx mmtrace replay ${keep}#fast-mixed-vmas-1 --until=${v.seq}`);
    const replay = mmtrace(v.replay!.replace(/^npx mmtrace /, '').split(' '));
    expect(replay.status, replay.stderr).toBe(0);
    const [where, event] = replay.stdout.split('\n');
    expect(where!.startsWith(`${v.run}: event ${v.seq} of `)).toBe(true);
    expect(event).toMatch(/^ {2}\[reader\] copy addr=0x10001000 len=8 /);
    const checked = mmtrace(['check', v.run!, '--json']);
    expect(checked.status).toBe(1);
    const check = JSON.parse(checked.stdout) as { runs: { violations: { checker: string; seqs: number[] }[] }[] };
    expect(check.runs[0]!.violations.find((x) => x.checker === 'mixed-vmas')!.seqs.at(-1)).toBe(v.seq);
    expect(mmtrace(['replay', v.run!, '--verify']).status).toBe(0);
    const runs = mmtraceJson<{ rows: { name: string; strategy: string }[] }>(['query', keep, 'select name, strategy from runs']).rows;
    expect(runs).toEqual([{ name: 'fast-mixed-vmas-1', strategy: 'schedule:271@5 undirected' }]);
  });

  test('the text report: what was found, how it shrank, and the command', () => {
    const r = mmtrace(['explore', 'file-cmdline', '--checkers=foll-anon', `--keep=${join(dir, 'anon.db')}`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^explore file-cmdline on fast \(random\): \d+ schedule\(s\)/);
    expect(r.stdout).toMatch(/violation: foll-anon \(bug\) at seed \d+: monitor:\d+ \(FOLL_ANON\) returned/);
    expect(r.stdout).toMatch(/shrunk from \d+ deviation\(s\) to \d+ \(\d+ preemption\(s\)\)/);
    expect(r.stdout).toMatch(/^ {4}npx mmtrace replay .*anon\.db#fast-foll-anon-\d+ --until=\d+$/m);
  });

  test('shards cover the seeds once between them, and merge puts their keep files together', () => {
    const shard = (k: number) => {
      const r = mmtrace(['explore', 'cross-vma-race', '--checkers=mixed-vmas', '--seeds=100', '--all', `--shard=${k}/2`, `--keep=${join(dir, `shard${k}.db`)}`, '--json']);
      expect(r.status, r.stderr).toBe(1);
      return JSON.parse(r.stdout) as ExploreSummary;
    };
    const [a, b] = [shard(0), shard(1)];
    expect(a.schedules + b.schedules).toBe(100);
    const out = join(dir, 'merged.db');
    const merged = mmtrace(['merge', out, join(dir, 'shard0.db'), join(dir, 'shard1.db')]);
    expect(merged.status, merged.stderr).toBe(0);
    const names = mmtraceJson<{ runs: { name: string }[] }>(['list', out]).runs.map((r) => r.name).sort();
    expect(names).toEqual([...a.violations, ...b.violations].map((v) => v.run!.split('#')[1]!).sort());
    const again = mmtrace(['merge', out, join(dir, 'shard0.db')]);
    expect(again.status).toBe(2);
    expect(again.stderr.trim()).toMatch(/^mmtrace: .*merged\.db: nothing merged: a run named '.*' is in both/);
  });

  test('bad input: one line, exit 2, nothing kept', () => {
    const keep = join(dir, 'bad.db');
    for (const [args, message] of [
      [['--strategy=dfs'], "mmtrace: --strategy must be random, pct:D (D 1..64) or bounded:P (P 0..8), got 'dfs'"],
      [['--shard=2/2'], "mmtrace: --shard must be K/N with 0 <= K < N, got '2/2'"],
      [['--checkers=lockdeps'], /^mmtrace: unknown checker 'lockdeps' \(did you mean 'lockdep'\?\)/],
    ] as const) {
      const r = mmtrace(['explore', 'cross-vma-race', ...args, `--keep=${keep}`]);
      expect(r.status, args.join(' ')).toBe(2);
      if (typeof message === 'string') expect(r.stderr.trim()).toBe(message);
      else expect(r.stderr.trim()).toMatch(message);
    }
    expect(existsSync(keep)).toBe(false);
  });
});
