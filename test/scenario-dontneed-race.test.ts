/**
 * kernel-spec §12.4 (MADV_DONTNEED form): a zap under the VMA read lock empties and frees the PTE
 * table a remote reader is walking (§4.4 PT_RECLAIM, §3.5 pte_offset_map_lock re-check).
 */
import { describe, expect, test } from 'vitest';
import { dontneedRace } from '../src/workloads/dontneed-race.js';
import { runTrace, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', ['singleVmaOnly', 'checkFollAnon', 'touch']]];

function run(path: 'gup' | 'fast', variant: string[], seed: number, order: number, pteFreeImmediate = false): Trace {
  const t = runTrace(dontneedRace, { path, variant, seed, params: { order }, config: { pteFreeImmediate } });
  expect(t.result.outcome).toBe('done');
  return t;
}

const read = (t: Trace) => {
  const end = t.of('request_end', 'reader')[0]!;
  return [end.result, Array.from(end.data ?? []).slice(0, 4)];
};

describe('§12.4 MADV_DONTNEED frees a PTE table during a walk', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      const label = `${path}${variant.length ? '+fixes' : ''} seed ${seed}`;
      test(`(a) the reader takes the PTL first: the zap waits, the read returns the data (${label})`, () => {
        const t = run(path, variant, seed, 0);
        expect(read(t)).toEqual([16, [0x44, 0x44, 0x44, 0x44]]);
        // The zapper contended on the PTL the reader held.
        expect(t.of('spin_contended', 'zapper').map((e) => e.class)).toContain('ptl');
        expect(t.of('use_after_free')).toHaveLength(0);
      });

      test(`(b) the zap lands between the PMD read and the PTL: the re-check fails, the page reads as zeros (${label})`, () => {
        const t = run(path, variant, seed, 1);
        expect(read(t)).toEqual([16, [0, 0, 0, 0]]);
        expect(t.of('pmd_recheck', 'reader', (e) => !e.same).length).toBeGreaterThanOrEqual(1);
        // The emptied table went through tlb_remove_table: queued, then freed after the grace period,
        // which waited for the reader's RCU read-side section.
        const queued = t.of('pgtable_free', 'zapper', (e) => e.level === 'pte' && e.mode === 'rcu_queued');
        expect(queued).toHaveLength(1);
        const freed = t.of('pgtable_free', undefined, (e) => e.table === queued[0]!.table && e.mode === 'rcu_freed')[0]!;
        const unlocked = t.of('rcu_read_unlock', 'reader', (e) => e.seq > queued[0]!.seq && e.nesting === 0)[0]!;
        expect(freed.seq).toBeGreaterThan(unlocked.seq);
        if (path === 'fast') expect(t.of('fast_path_fallback', 'reader')[0]!.reason).toBe('folio_walk_start: not found');
        // GUP faulted the zero page in.
        expect(t.of('fault', 'reader').map((e) => e.how)).toContain('do_anonymous_page:zero_page');
        expect(t.of('use_after_free')).toHaveLength(0);
      });

      test(`(c) without RCU-deferred freeing the walker takes the PTL inside the freed table: use-after-free (${label})`, () => {
        const t = run(path, variant, seed, 1, true);
        const uaf = t.of('use_after_free', 'reader');
        expect(uaf.length).toBeGreaterThanOrEqual(1);
        expect(uaf[0]!.what).toBe('PTL of a freed page table');
        expect(t.of('pgtable_free', 'zapper', (e) => e.level === 'pte' && e.mode === 'immediate')).toHaveLength(1);
      });
    }
  }
});
