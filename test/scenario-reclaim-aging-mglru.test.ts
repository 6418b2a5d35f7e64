/**
 * reclaim-aging with the multi-gen LRU (kernel-spec §12.3, §5.3; --config lru_gen_enabled=y): does
 * the classic finding -- GUP's FOLL_TOUCH ages P, the fast path's missing touch leaves P to reclaim
 * -- hold under MGLRU? A remote read through GUP is folio_mark_accessed -> lru_gen_inc_refs: a refs
 * count, no activation. The eviction (sort_folio) protects a folio of the oldest generation for
 * its refs only when they are all set and PG_workingset too (with no refault history the tier
 * controller protects no lower tier), and folio_check_references' lru_gen branch looks at PTEs
 * only. So two reads protect P no more than none: every path gets RECLAIM; from the 4th read on
 * (P's PG_referenced is already set by the aging that harvested its fault's young bit) GUP
 * protects P and the fast path without `touch` does not.
 */
import { describe, expect, it } from 'vitest';
import { pte_young } from '../src/linux/arch/x86/include/pgtable_types.js';
import { PG_active, PG_lru, PG_referenced, PG_workingset } from '../src/linux/mm/folio.js';
import { LRU_GEN_MASK, LRU_REFS_MASK } from '../src/linux/mm/lru_gen.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { resolveConfig } from '../src/record/config.js';
import { fieldValue } from '../src/trace/vocab/index.js';
import { WORKLOADS } from '../src/workloads/index.js';
import { P_OFFSET, P_PATTERN, PAGE_P, reclaimAging } from '../src/workloads/reclaim-aging.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace, type Trace } from './helpers/harness.js';

const MGLRU = { lru_gen_enabled: true };

const RUNS = [
  { path: 'gup', variant: [] as string[], touches: true },
  { path: 'fast', variant: [] as string[], touches: false },
  { path: 'fast', variant: ['touch'], touches: true },
] as const;

const label = (run: (typeof RUNS)[number]) => [run.path, ...run.variant].join('+');

/** gen + 1 as LRU_GEN holds it; 0: on no generation. */
const genField = (flags: number) => fieldValue(flags, LRU_GEN_MASK);
const refsField = (flags: number) => fieldValue(flags, LRU_REFS_MASK);

/** The folio the target's store to addr hit (its first store there). */
function folioOf(t: Trace, addr: number): number {
  return t.of('user_access', 'target', (e) => e.addr === addr && e.write)[0]!.folio;
}

function scenario(run: (typeof RUNS)[number], seed: number, params: Record<string, number> = {}) {
  const t = runTrace(reclaimAging, { path: run.path, variant: [...run.variant], seed, params, config: MGLRU });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  const p = folioOf(t, PAGE_P + P_OFFSET);
  const firstRead = t.of('request_begin', 'monitor')[0]!;
  return { t, p, firstRead, verdicts: t.of('reclaim_verdict', 'kswapd0') };
}

describe('reclaim-aging under the multi-gen LRU (§12.3)', () => {
  it('the config switch is lru_gen_enabled, y/n like every boolean switch, default off', () => {
    expect(resolveConfig({}).lru_gen_enabled).toBe(false);
    expect(resolveConfig({ lru_gen_enabled: 'y' }).lru_gen_enabled).toBe(true);
  });

  for (const run of RUNS) {
    for (const seed of [1, 2, 3]) {
      it(`${label(run)}, seed ${seed}: two reads do not protect P -- RECLAIM on every path; the used neighbours ACTIVATE`, () => {
        const { t, p, firstRead, verdicts } = scenario(run, seed);

        // A faulted-in folio starts young (folio_add_lru in a fault: PG_active, then
        // lru_gen_folio_seq: max_seq - 1 = 2 of a fresh lruvec, LRU_GEN = gen + 1 = 3).
        const added = t.of('folio_flags', 'target', (e) => e.folio === p && e.why === 'lru_gen_add_folio')[0]!;
        expect([(added.old & PG_active) !== 0, (added.new & PG_active) !== 0, genField(added.new)]).toEqual([true, false, 3]);
        expect(t.next('lru_move', added.seq, 'target', (e) => e.folio === p)).toMatchObject({ from: 'none', to: 'gen_anon' });

        // kswapd's passes before the reads: min_seq skips the empty generations, then two agings.
        const seqs = t.of('lru_gen_seq', 'kswapd0', (e) => e.seq < firstRead.seq);
        expect(seqs.map((e) => [e.max_seq, e.min_seq_anon])).toEqual([[3, 2], [4, 2], [5, 2]]);
        // The first aging's page-table walk harvested P's young bit and, seeing it for the first
        // time, only set PG_referenced (folio_update_gen): P stays in its generation, now the oldest.
        const harvested = t.of('pgtable_set', 'kswapd0', (e) => e.addr === PAGE_P && e.seq < firstRead.seq);
        expect(harvested).toHaveLength(1);
        expect([pte_young(harvested[0]!.old), pte_young(harvested[0]!.value)]).toEqual([true, false]);
        const seen = t.of('folio_flags', 'kswapd0', (e) => e.folio === p && e.seq < firstRead.seq);
        expect(seen.map((e) => e.why)).toEqual(['folio_update_gen']);
        expect(seen.map((e) => [e.old & PG_referenced, e.new & PG_referenced, genField(e.new)])).toEqual([[0, PG_referenced, 3]]);

        // The reads: lru_gen_inc_refs counts them in LRU_REFS; nothing moves, no batch claims P.
        const touches = t.of('folio_mark_accessed', 'monitor', (e) => e.folio === p);
        if (run.touches) expect(touches.map((e) => [refsField(e.from), refsField(e.to)])).toEqual([[0, 1], [1, 2]]);
        else expect(touches).toHaveLength(0);
        for (const r of t.of('request_end', 'monitor')) expect(r.data).toEqual(P_PATTERN);
        expect(t.of('lru_move', 'monitor')).toHaveLength(0);
        expect(t.of('folio_flags', 'monitor', (e) => (e.old & PG_lru) !== (e.new & PG_lru))).toHaveLength(0);

        // The eviction takes P's generation: P is isolated whatever its refs, and with its PTE old
        // the lru_gen branch of folio_check_references says RECLAIM -- the same on every path.
        const pVerdicts = verdicts.filter((e) => e.folio === p);
        expect(pVerdicts.map((e) => [e.verdict, e.ptes, e.referenced])).toEqual([['reclaim', 0, true]]);

        // The neighbours, stored to again after the aging: a young PTE and PG_referenced from the
        // aging -> lru_gen_set_refs sets PG_workingset -> ACTIVATE, back into the youngest generation.
        for (let i = 1; i < 8; i++) {
          const n = folioOf(t, PAGE_P + i * PAGE_SIZE);
          const v = verdicts.filter((e) => e.folio === n);
          expect(v.map((e) => [e.verdict, e.ptes, e.referenced])).toEqual([['activate', 1, true]]);
          const readd = t.next('folio_flags', v[0]!.seq, 'kswapd0', (e) => e.folio === n && e.why === 'lru_gen_add_folio')!;
          expect([(readd.old & PG_workingset) !== 0, genField(readd.new)]).toEqual([true, (5 % 4) + 1]);
        }
      });
    }
  }

  it('gup protects P from the 4th read on (all refs and PG_workingset: sort_folio moves it up a generation); fast does not', () => {
    for (const reads of [0, 1, 2, 3, 4, 5]) {
      for (const run of RUNS) {
        const { t, p, verdicts } = scenario(run, 1, { reads });
        const judged = verdicts.filter((e) => e.folio === p).map((e) => e.verdict);
        const protectedBySort = t.of('folio_flags', 'kswapd0', (e) => e.folio === p && e.why === 'folio_inc_gen');
        if (run.touches && reads >= 4) {
          expect(judged, `${label(run)} reads=${reads}`).toEqual([]);
          expect(protectedBySort).toHaveLength(1);
          const inc = protectedBySort[0]!;
          // Refs spent (LRU_REFS and PG_referenced cleared), PG_workingset kept, one generation up.
          expect([refsField(inc.old), (inc.old & PG_workingset) !== 0]).toEqual([3, true]);
          expect([refsField(inc.new), inc.new & PG_referenced, (inc.new & PG_workingset) !== 0]).toEqual([0, 0, true]);
          expect(genField(inc.new)).toBe(genField(inc.old) % 4 + 1);
        } else {
          expect(judged, `${label(run)} reads=${reads}`).toEqual(['reclaim']);
          expect(protectedBySort).toHaveLength(0);
        }
      }
    }
  });

  it('lru_gen_inc_refs: PG_referenced, then LRU_REFS 1..3, then PG_workingset, then nothing more', () => {
    const { t, p } = scenario(RUNS[0], 1, { reads: 6 });
    const touches = t.of('folio_mark_accessed', 'monitor', (e) => e.folio === p);
    // PG_referenced was set by the aging before the first read.
    expect(touches.map((e) => [refsField(e.to), (e.to & PG_workingset) !== 0])).toEqual([
      [1, false], [2, false], [3, false], [3, true], [3, true], [3, true],
    ]);
    expect(touches.slice(4).every((e) => e.from === e.to)).toBe(true);
  });

  it('the projection equals the live kernel after every event (generations and refs are page-flag events)', () => {
    for (const run of RUNS) {
      for (const params of [{}, { overlap: 1 }, { reads: 4 }] as Record<string, number>[]) {
        const r = checkEveryEvent(reclaimAging, { path: run.path, variant: [...run.variant], seed: 2, params, config: MGLRU });
        expect(r.firstMismatch, `${label(run)} ${JSON.stringify(params)}`).toBeNull();
      }
    }
  });

  it('folios leave and join generations through migration, page-cache faults and exit as the projection says', () => {
    // Not reclaim-aging's paths: folio_isolate_lru / folio_putback_lru, filemap's folio_add_lru,
    // __folio_put off a generation.
    for (const name of ['migration-race', 'file-cmdline', 'process-exit']) {
      const workload = WORKLOADS.find((w) => w.name === name)!;
      for (const path of ['gup', 'fast'] as const) {
        expect(checkEveryEvent(workload, { path, seed: 1, config: MGLRU }).firstMismatch, `${name} ${path}`).toBeNull();
      }
    }
  });

  it('overlap: kswapd evicting while the reads run never loses P from the LRU (seeds 1..12)', () => {
    for (const run of RUNS) {
      for (let seed = 1; seed <= 12; seed++) {
        const { t, p } = scenario(run, seed, { overlap: 1 });
        for (const r of t.of('request_end', 'monitor')) expect(r.data).toEqual(P_PATTERN);
        const moves = t.of('lru_move', undefined, (e) => e.folio === p);
        expect(moves.filter((e) => e.to === 'none').length).toBe(moves.filter((e) => e.from === 'none').length - 1);
        expect(moves.at(-1)!.to).toBe('gen_anon');
      }
    }
  });
});
