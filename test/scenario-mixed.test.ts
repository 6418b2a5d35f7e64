/**
 * The mixed workload: a seeded random mix of address-space changes, remote readers and ptrace, on
 * every build. Whatever the interleaving, the kernel model must not warn, free under a walker or
 * deadlock, and every cmdline read returns the target's argv.
 */
import { describe, expect, test } from 'vitest';
import { mixed } from '../src/workloads/mixed.js';
import { runTrace } from './helpers/harness.js';

const ARGV = new TextEncoder().encode('/usr/bin/target\0--serve\0--port=8080\0config.toml\0');

describe('mixed: no kernel-model check fires on any build, for many seeds', () => {
  for (const [path, variant] of [['gup', []], ['fast', []], ['fast', ['singleVmaOnly', 'checkFollAnon', 'touch']]] as const) {
    test(`${path}${variant.length ? '+fixes' : ''}`, () => {
      for (let seed = 1; seed <= 8; seed++) {
        for (const pct of [false, true]) {
          const t = runTrace(mixed, { path, variant: [...variant], seed, strategy: pct ? { pct: 3 } : 'random' });
          const where = `seed ${seed}${pct ? ' PCT' : ''}`;
          expect(t.result.outcome, where).toBe('done');
          expect(t.of('warn'), where).toHaveLength(0);
          expect(t.of('use_after_free'), where).toHaveLength(0);
          const cmdlines = t.of('request_end').filter((e) => t.of('request_begin', e.tid, (b) => b.req === e.req)[0]!.op === 'cmdline');
          expect(cmdlines.length, where).toBeGreaterThan(0);
          for (const e of cmdlines) expect(Array.from(e.data!), where).toEqual(Array.from(ARGV));
        }
      }
    });
  }
});
