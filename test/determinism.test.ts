/**
 * Determinism (DESIGN.md "Determinism"): the same workload, options and seed give the same event
 * log byte for byte -- also in separate processes, on the mainline path and on the series' fast
 * path with its variant switches -- and another seed gives another log.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Variant } from '../src/linux/variants.js';
import { PctStrategy, RandomStrategy, type Strategy } from '../src/sim/strategy.js';
import { HASH_SEED, chain, eventHash, hashHex } from '../src/trace/hash.js';
import type { EventSink } from '../src/trace/sink.js';
import { WORKLOADS, findWorkload, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import type { AccessPath } from '../src/workloads/workload.js';
import { mmtraceJson, tempDir } from './helpers/cli.js';

/** A sink that keeps only the running hash and the names, as the recorder computes them. */
class HashSink implements EventSink {
  h = HASH_SEED;
  events = 0;
  names: string[] = [];
  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data?: Uint8Array) {
    this.h = chain(this.h, eventHash(seq, tick, tid, kind, a, b, c, d, data));
    this.events++;
  }
  name(_id: number, text: string) {
    this.names.push(text);
  }
  task() {}
}

const SMALL: Record<string, Record<string, string>> = {
  'cmdline-poll': {},
  'stuck-writer': { pages: '64' },
  scale: { iterations: '20', reads: '40' },
};

/** A kernel build of the runs: the access path and the fast path's variant switches. */
interface Build {
  path: AccessPath;
  variant: Variant[];
}

const MAINLINE: Build = { path: 'gup', variant: [] };

function runHash(workload: string, strategy: Strategy, seed: number, build = MAINLINE): { hash: string; events: number } {
  const w = findWorkload(workload)!;
  const sink = new HashSink();
  runWorkload({ workload: w, params: resolveParams(w, SMALL[workload] ?? {}), ...build, seed, strategy, sink });
  return { hash: hashHex(sink.h), events: sink.events };
}

/** The series' fast path as posted, with the review's fixes, and with GUP under the VMA lock. */
const FAST_BUILDS: Build[] = [
  { path: 'fast', variant: [] },
  { path: 'fast', variant: ['singleVmaOnly', 'checkFollAnon', 'touch', 'irqOffWalk', 'waitForWriter'] },
  { path: 'fast', variant: ['vmaGup', 'singleVmaOnly', 'waitForWriter'] },
];

describe('in one process', () => {
  for (const w of WORKLOADS) {
    test(`${w.name}: same seed, same log; another seed, another log (random)`, () => {
      const a = runHash(w.name, new RandomStrategy(3), 3);
      const b = runHash(w.name, new RandomStrategy(3), 3);
      const c = runHash(w.name, new RandomStrategy(4), 4);
      expect(a.events).toBeGreaterThan(150);
      expect(b).toEqual(a);
      expect(c.hash).not.toBe(a.hash);
    });
    test(`${w.name}: PCT is deterministic too`, () => {
      const a = runHash(w.name, new PctStrategy(5, 3, 5000), 5);
      const b = runHash(w.name, new PctStrategy(5, 3, 5000), 5);
      expect(b).toEqual(a);
    });
    test(`${w.name}: the fast path and its variant switches are deterministic too`, () => {
      for (const build of FAST_BUILDS) {
        const a = runHash(w.name, new RandomStrategy(6), 6, build);
        const b = runHash(w.name, new RandomStrategy(6), 6, build);
        expect(b, `${build.path}+${build.variant.join('+')}`).toEqual(a);
      }
    });
  }
});

describe('in separate processes', () => {
  test('two `mmtrace record` processes give identical event logs; another seed differs', () => {
    const dir = tempDir();
    const rec = (file: string, seed: number) =>
      mmtraceJson(['record', 'cmdline-poll', `--seed=${seed}`, `--out=${join(dir, file)}`]).runs[0];
    const a = rec('a.db', 7);
    const b = rec('b.db', 7);
    const c = rec('c.db', 8);
    expect(a.status).toBe('complete');
    expect(b.finalHash).toBe(a.finalHash);
    expect(b.events).toBe(a.events);
    expect(c.finalHash).not.toBe(a.finalHash);
    // Byte for byte: every stored event, name and decision batch is the same.
    const dump = (file: string) => {
      const db = new Database(join(dir, file), { readonly: true });
      const rows = [
        db.prepare('SELECT seq, tick, tid, kind, a, b, c, d, hex(data) FROM events ORDER BY seq').raw().all(),
        db.prepare('SELECT id, text FROM names ORDER BY id').raw().all(),
        db.prepare('SELECT last_seq, hash, hex(decisions) FROM batches ORDER BY last_seq').raw().all(),
      ];
      db.close();
      return JSON.stringify(rows);
    };
    expect(dump('b.db')).toBe(dump('a.db'));
    // The in-process hash agrees with the recorder's.
    expect(runHash('cmdline-poll', new RandomStrategy(7), 7).hash).toBe(a.finalHash);
  });
});
