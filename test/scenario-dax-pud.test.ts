/**
 * PUD leaves (issue 11 item 15; kernel-spec §3.6, §6.6, §7.1 step 4, §8.3): a 1 GiB device-dax
 * mapping read remotely on every build -- gup, the fast path as posted and with each of the
 * review's switches (VARIANTS) -- so the patch's FW_LEVEL_PUD branch and GUP's follow_huge_pud
 * both run: the right bytes, the PUD-level lookup under pud_lock (page_table_lock) with its
 * re-read, no lock or walk below the PUD, and the zap of the leaf at munmap.
 */
import { describe, expect, test } from 'vitest';
import { PUD_SIZE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { VARIANTS } from '../src/linux/variants.js';
import { VM_FAULT_NOPAGE } from '../src/linux/mm/mm_types.js';
import {
  DAX_AREA, DAX_READ_AT, DAX_READ_LEN, DAX_STORES, DAX_TAIL_AT, DAX_TAIL_LEN, dax1g, daxByte,
} from '../src/workloads/dax.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace, type Trace } from './helpers/harness.js';

const BUILDS: { path: 'gup' | 'fast'; variant: string[] }[] = [
  { path: 'gup', variant: [] },
  { path: 'fast', variant: [] },
  ...Object.keys(VARIANTS).map((v) => ({ path: 'fast' as const, variant: [v] })),
];
const label = (b: { path: string; variant: string[] }) => [b.path, ...b.variant].join('+');

function run(path: 'gup' | 'fast', variant: string[], seed: number): Trace {
  const t = runTrace(dax1g, { path, variant, seed });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

const expected = (at: number, len: number) => Array.from({ length: len }, (_, i) => daxByte(at - DAX_AREA + i));
const calls = (t: Trace, fn: string, task = 'monitor') => t.of('call_enter', task, (e) => e.fn === fn);
const locks = (t: Trace, cls: string, task = 'monitor') => t.of('spin_lock', task, (e) => e.class === cls);
/** The walkers' reads of the PUD entry mapping the area: lockless, then under pud_lock. */
const pudReads = (t: Trace, lockless: boolean) =>
  t.of('pgtable_read', 'monitor', (e) => e.level === 'pud' && e.addr === DAX_AREA && e.lockless === lockless);

describe('PUD leaves: a 1 GiB device-dax mapping read remotely (FW_LEVEL_PUD, follow_huge_pud)', () => {
  for (const seed of [1, 2]) {
    for (const build of BUILDS) {
      test(`the bytes, the PUD-level lookup under pud_lock and the leaf's zap (${label(build)}, seed ${seed})`, () => {
        const t = run(build.path, build.variant, seed);
        // One fault mapped the device's order-18 folio with a PUD leaf (create_huge_pud ->
        // dev_dax_huge_fault -> vmf_insert_folio_pud): VM_FAULT_NOPAGE, the entry installed.
        expect(t.of('fault', 'setup').map((e) => [e.how, e.result])).toEqual([['dev_dax_huge_fault:pud', VM_FAULT_NOPAGE]]);
        const huge = t.of('folio_alloc', undefined, (e) => e.order === 18);
        expect(huge).toHaveLength(1);
        const folio = huge[0]!.folio;
        const leaf = t.of('pgtable_set', 'setup', (e) => e.addr === DAX_AREA && e.value !== 0);
        expect(leaf).toHaveLength(1);
        expect(t.isLeafEntry(leaf[0]!.value)).toBe(true);
        expect(t.of('user_access', 'setup', (e) => e.write && e.addr >= DAX_AREA).map((e) => [e.addr - DAX_AREA, e.folio]))
          .toEqual(DAX_STORES.map(([at]) => [at, folio]));

        const [first, tail] = t.requests('monitor');
        expect(first!.result).toBe(DAX_READ_LEN);
        expect(Array.from(first!.data)).toEqual(expected(DAX_READ_AT, DAX_READ_LEN));
        expect(tail!.result).toBe(DAX_TAIL_LEN);
        expect(Array.from(tail!.data)).toEqual(expected(DAX_TAIL_AT, DAX_TAIL_LEN));
        expect(t.of('copy', 'monitor').every((e) => e.folio === folio)).toBe(true);
        expect(t.of('copy', 'monitor').map((e) => e.len)).toEqual([100, 4096, 100, 64]);

        // Nothing below the PUD: no PMD or PTE lock, no fault, no fallback.
        expect(locks(t, 'pmd_lock')).toHaveLength(0);
        expect(locks(t, 'ptl')).toHaveLength(0);
        expect(t.of('fault', 'monitor')).toHaveLength(0);
        expect(t.of('fast_path_fallback', 'monitor')).toHaveLength(0);
        // GUP at PUD level touches nothing (follow_huge_pud has no FOLL_TOUCH effect), and the
        // `touch` variant does what GUP does.
        expect(t.of('folio_mark_accessed', 'monitor')).toHaveLength(0);
        expect(calls(t, 'touch_pmd')).toHaveLength(0);

        const walks = build.path === 'fast' && !build.variant.includes('vmaGup');
        if (walks) {
          // folio_walk_start: the lockless read sees a leaf, pud_lock, the re-read (level PUD), one
          // walk per read (the PUD entry, the folio and the VMA all reach past its end); the lock
          // is held until folio_walk_end, and the copies come after it.
          expect(calls(t, 'folio_walk_start')).toHaveLength(2);
          expect(calls(t, 'follow_huge_pud')).toHaveLength(0);
          expect(pudReads(t, true)).toHaveLength(2);
          expect(pudReads(t, false)).toHaveLength(2);
          expect(locks(t, 'page_table_lock')).toHaveLength(2);
          expect(t.of('mmap_lock_start_locking', 'monitor')).toHaveLength(0);
          for (const [i, walkEnd] of calls(t, 'folio_walk_end').entries()) {
            const lock = locks(t, 'page_table_lock')[i]!;
            const reread = pudReads(t, false)[i]!;
            const unlock = t.next('spin_unlock', walkEnd.seq, 'monitor')!;
            expect(reread.seq).toBeGreaterThan(lock.seq);
            expect(unlock.class).toBe('page_table_lock');
            expect(t.next('copy', unlock.seq, 'monitor')!.seq).toBeGreaterThan(unlock.seq);
          }
        } else {
          // follow_pud_mask -> pud_lock -> follow_huge_pud (re-reads the entry), one per page: three
          // pages of the first read, one of the second.
          expect(calls(t, 'follow_huge_pud')).toHaveLength(4);
          expect(pudReads(t, false)).toHaveLength(4);
          expect(locks(t, 'page_table_lock')).toHaveLength(4);
          expect(calls(t, 'folio_walk_start')).toHaveLength(0);
        }

        // munmap: zap_huge_pud under pud_lock clears the leaf and drops the rmap; the device keeps
        // its reference, so the folio (and its bytes) outlive the mapping.
        expect(calls(t, 'zap_huge_pud', 'setup')).toHaveLength(1);
        const cleared = t.of('pgtable_set', 'setup', (e) => e.addr === DAX_AREA && e.value === 0);
        expect(cleared).toHaveLength(1);
        const zapLock = t.of('spin_lock', 'setup', (e) => e.seq < cleared[0]!.seq && e.class === 'page_table_lock').at(-1)!;
        expect(t.of('spin_unlock', 'setup', (e) => e.seq > zapLock.seq && e.seq < cleared[0]!.seq)).toHaveLength(0);
        expect(t.of('folio_mapcount', undefined, (e) => e.folio === folio).map((e) => e.mapcount)).toEqual([1, 0]);
        expect(t.of('folio_free', undefined, (e) => e.folio === folio)).toHaveLength(0);
        expect(t.of('tlb_flush', 'setup', (e) => e.start <= DAX_AREA && e.end >= DAX_AREA + PUD_SIZE).length).toBeGreaterThan(0);
      });
    }
  }

  for (const build of [BUILDS[0]!, BUILDS[1]!]) {
    test(`the projection equals the live kernel after every event, a 1 GiB folio included (${label(build)})`, () => {
      const { events, firstMismatch } = checkEveryEvent(dax1g, { path: build.path, variant: build.variant, seed: 1 });
      expect(events).toBeGreaterThan(200);
      expect(firstMismatch).toBeNull();
    });
  }
});
