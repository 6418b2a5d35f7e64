/**
 * Golden logs: every built-in workload, on the mainline path and on the fast path with the review's
 * variant switches, with two seeds, gives exactly the events it gave when the fixture was made --
 * same count, same running hash (the recorder's finalHash), same interned names in the same order.
 * A change that is meant to be invisible in the log (a faster simulator, lazily allocated folio
 * bytes) must leave every entry alone; determinism.test.ts only compares a build with itself.
 *
 * A change that is meant to alter logs regenerates the fixture, and the diff of the fixture shows
 * which runs moved:
 *   UPDATE_GOLDEN=1 npx vitest run test/golden-hashes.test.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { RandomStrategy } from '../src/sim/strategy.js';
import { bytesHash, chain, eventHash, HASH_SEED, hashHex } from '../src/trace/hash.js';
import type { EventSink } from '../src/trace/sink.js';
import { WORKLOADS, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'golden-hashes.json');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

/** The kernel builds of the review: mainline, the series as posted, with the fixes, with GUP under the VMA lock. */
const BUILDS: readonly { path: 'gup' | 'fast'; variant: string[] }[] = [
  { path: 'gup', variant: [] },
  { path: 'fast', variant: [] },
  { path: 'fast', variant: ['singleVmaOnly', 'checkFollAnon', 'touch', 'irqOffWalk', 'waitForWriter'] },
  { path: 'fast', variant: ['vmaGup', 'singleVmaOnly', 'waitForWriter'] },
];

const SEEDS = [1, 2];

/** scale's defaults make millions of events; this keeps its whole mix at a test's size. */
const PARAMS: Record<string, Record<string, string>> = { scale: { iterations: '20', reads: '40' } };

interface Golden {
  events: number;
  finalHash: string;
  names: string;
  outcome: string;
}

/** Keeps what the recorder hashes, and the names in interning order. */
class GoldenSink implements EventSink {
  hash = HASH_SEED;
  events = 0;
  private readonly names: string[] = [];
  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data?: Uint8Array) {
    this.hash = chain(this.hash, eventHash(seq, tick, tid, kind, a, b, c, d, data));
    this.events++;
  }
  name(id: number, text: string) {
    this.names.push(`${id}:${text}`);
  }
  task() {}
  namesHash(): string {
    return hashHex(bytesHash(new TextEncoder().encode(this.names.join('\n'))));
  }
}

function golden(workload: (typeof WORKLOADS)[number], build: (typeof BUILDS)[number], seed: number): Golden {
  const sink = new GoldenSink();
  const r = runWorkload({
    workload, params: resolveParams(workload, PARAMS[workload.name] ?? {}), ...build, seed, strategy: new RandomStrategy(seed), sink,
  });
  return { events: sink.events, finalHash: hashHex(sink.hash), names: sink.namesHash(), outcome: r.outcome };
}

const expected: Record<string, Golden> = !UPDATE && existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, 'utf8')) : {};
const computed: Record<string, Golden> = {};

describe('every workload logs exactly its golden events', () => {
  for (const w of WORKLOADS) {
    test(w.name, () => {
      for (const build of BUILDS) {
        for (const seed of SEEDS) {
          const key = `${w.name} ${[build.path, ...build.variant].join('+')} seed=${seed}`;
          computed[key] = golden(w, build, seed);
          if (!UPDATE) expect(computed[key], key).toEqual(expected[key]);
        }
      }
    });
  }
  afterAll(() => {
    if (UPDATE) writeFileSync(FIXTURE, `${JSON.stringify(computed, null, 1)}\n`);
  });
});
