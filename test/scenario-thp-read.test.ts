/**
 * kernel-spec §12.12 (THP PMD leaf), with §3.6 (huge leaves: lockless read, pmd_lock, re-read),
 * §6.6 (follow_huge_pmd + touch_pmd, page_mask 511), §7.1 step 5 (folio_walk_start at PMD level,
 * pmd_lock held until folio_walk_end), §8.3 (the fast path's span over one mapping entry) and
 * §12.3's last sentence (FOLL_TOUCH on a PMD-mapped THP is touch_pmd, not folio_mark_accessed).
 */
import { describe, expect, test } from 'vitest';
import { _PAGE_ACCESSED, _PAGE_PSE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { mms } from '../src/linux/mm/mm_types.js';
import { COPY_FROM_ZERO_PAGE } from '../src/trace/vocab/index.js';
import { THP_AREA, THP_READ_AT, THP_READ_LEN, pmd_value, thpRead } from '../src/workloads/thp.js';
import { runTrace, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', ['touch']]];
const label = (path: string, variant: string[], seed: number) => `${path}${variant.length ? `+${variant.join('+')}` : ''} seed ${seed}`;

function run(path: 'gup' | 'fast', variant: string[], seed: number, params: Record<string, number> = {}, generic = false): Trace {
  const t = runTrace(thpRead, { path, variant, seed, params, config: { accessFlagsGeneric: generic } });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

/** What the setup thread wrote: page p of the THP is filled with 'a' + p. */
function expected(): number[] {
  return Array.from({ length: THP_READ_LEN }, (_, i) => 0x61 + Math.floor((THP_READ_AT - THP_AREA + i) / 4096));
}

const calls = (t: Trace, fn: string, task = 'reader') => t.of('call_enter', task, (e) => e.fn === fn);
const locks = (t: Trace, cls: string, task = 'reader') => t.of('spin_lock', task, (e) => e.class === cls);

/** The target's PMD for the THP at the end of the run. */
function finalPmd(t: Trace): number {
  const mm = [...mms(t.result.kernel).values()].find((m) => m.mm_mt.load(THP_AREA))!;
  return pmd_value(mm, THP_AREA, t.result.kernel);
}

describe('§12.12 reads of a PMD-mapped THP', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      test(`the data, the PMD-level lookup and touch_pmd (${label(path, variant, seed)})`, () => {
        const t = run(path, variant, seed);
        // One write fault mapped an order-9 folio with a PMD leaf (do_huge_pmd_anonymous_page).
        expect(t.of('fault', 'setup').map((e) => e.how)).toEqual(['do_huge_pmd_anonymous_page']);
        expect(t.of('folio_alloc', undefined, (e) => e.order === 9)).toHaveLength(1);
        const [req] = t.requests('reader');
        expect(req!.result).toBe(THP_READ_LEN);
        expect(Array.from(req!.data)).toEqual(expected());
        // Four pieces (100 + 4096 + 4096 + 100 bytes), one per 4 KiB page.
        expect(t.of('copy', 'reader').map((e) => e.len)).toEqual([100, 4096, 4096, 100]);
        // No PTE-level lock anywhere in the read: the THP is found at PMD level, under pmd_lock.
        expect(locks(t, 'ptl')).toHaveLength(0);
        expect(t.of('fault', 'reader')).toHaveLength(0);
        if (path === 'fast') {
          // §8.3: one folio_walk_start (FW_LEVEL_PMD) covers the whole span: the PMD entry, the
          // folio and the VMA all extend past the end of the read.
          expect(calls(t, 'folio_walk_start')).toHaveLength(1);
          expect(locks(t, 'pmd_lock')).toHaveLength(1);
          expect(t.of('fast_path_fallback', 'reader')).toHaveLength(0);
          expect(t.of('mmap_lock_start_locking', 'reader')).toHaveLength(0);
          // pmd_lock is held from the walk until folio_walk_end, and the copy happens after it.
          const end = calls(t, 'folio_walk_end')[0]!;
          const unlock = t.next('spin_unlock', end.seq, 'reader')!;
          expect(unlock.class).toBe('pmd_lock');
          expect(t.of('copy', 'reader')[0]!.seq).toBeGreaterThan(unlock.seq);
          // v1 does not touch; `touch` calls touch_pmd once, for the one walk (not folio_mark_accessed).
          expect(calls(t, 'touch_pmd')).toHaveLength(variant.includes('touch') ? 1 : 0);
        } else {
          // §6.6: one follow_huge_pmd per page (page_mask 511 is not used: one page per GUP call),
          // each under pmd_lock, each with FOLL_TOUCH -> touch_pmd.
          expect(calls(t, 'follow_huge_pmd')).toHaveLength(4);
          expect(calls(t, 'touch_pmd')).toHaveLength(4);
          expect(locks(t, 'pmd_lock')).toHaveLength(4);
        }
        expect(t.of('folio_mark_accessed', 'reader')).toHaveLength(0);
        // x86 pmdp_set_access_flags writes only for a write access: the old PMD (aged by the rmap
        // walk before the read) stays old whichever path read it.
        expect(t.of('pgtable_set', 'ager', (e) => e.addr === THP_AREA)).toHaveLength(1);
        expect(t.of('pgtable_set', 'reader')).toHaveLength(0);
        expect(finalPmd(t) & _PAGE_PSE).toBe(_PAGE_PSE);
        expect(finalPmd(t) & _PAGE_ACCESSED).toBe(0);
      });

      test(`generic pmdp_set_access_flags: touch_pmd makes the PMD young (${label(path, variant, seed)})`, () => {
        const t = run(path, variant, seed, {}, true);
        const touches = path === 'gup' || variant.includes('touch');
        // GUP (and the `touch` variant) set the young bit once; fast v1 leaves the PMD old.
        expect(t.of('pgtable_set', 'reader', (e) => e.addr === THP_AREA)).toHaveLength(touches ? 1 : 0);
        expect(finalPmd(t) & _PAGE_ACCESSED).toBe(touches ? _PAGE_ACCESSED : 0);
      });

      test(`a concurrent split (partial mprotect) is excluded by the VMA / mmap lock (${label(path, variant, seed)})`, () => {
        const t = run(path, variant, seed, { split: 1 });
        const [req] = t.requests('reader');
        expect(req!.result).toBe(THP_READ_LEN);
        expect(Array.from(req!.data)).toEqual(expected());
        // The splitter slept while the reader was inside ...
        const block = t.of('sched_block', 'splitter')[0]!;
        expect(block.seq).toBeLessThan(req!.end);
        if (path === 'fast') {
          // ... in vma_start_write (the VMA split), until the reader's vma_end_read.
          const endRead = t.of('vma_end_read', 'reader')[0]!;
          const write = t.of('vma_start_write', 'splitter', (e) => e.waited)[0]!;
          expect(write.seq).toBeGreaterThan(endRead.seq);
          expect(block.seq).toBeLessThan(endRead.seq);
        } else {
          // ... for mmap_lock, until the reader's mmap_read_unlock.
          const released = t.of('mmap_lock_released', 'reader')[0]!;
          const got = t.of('mmap_lock_acquire_returned', 'splitter', (e) => e.write)[0]!;
          expect(got.seq).toBeGreaterThan(released.seq);
        }
        // split_huge_pmd ran only after the reader's last copy: the deposited table came back
        // (withdraw) and replaced the leaf with 512 PTEs.
        const withdraw = t.of('pgtable_deposit', 'splitter', (e) => e.op === 'withdraw');
        expect(withdraw).toHaveLength(1);
        const lastCopy = t.of('copy', 'reader').at(-1)!;
        expect(withdraw[0]!.seq).toBeGreaterThan(lastCopy.seq);
        expect(calls(t, '__split_huge_pmd', 'splitter')).toHaveLength(1);
        expect(finalPmd(t) & _PAGE_PSE).toBe(0); // a table pointer now
      });

      test(`the huge zero page: GUP copies it, fast falls back (${label(path, variant, seed)})`, () => {
        const t = run(path, variant, seed, { zero: 1 });
        expect(t.of('fault', 'setup').map((e) => e.how)).toEqual(['do_huge_pmd_anonymous_page:huge_zero_page']);
        const [req] = t.requests('reader');
        expect(req!.result).toBe(THP_READ_LEN);
        expect(Array.from(req!.data).every((b) => b === 0)).toBe(true);
        // Copies come from the (huge) zero page: folio 0.
        expect(t.of('copy', 'reader').every((e) => e.folio === COPY_FROM_ZERO_PAGE)).toBe(true);
        if (path === 'fast') {
          // No FW_ZEROPAGE: vm_normal_page_pmd() is NULL for the huge zero page -> not found.
          const fb = t.of('fast_path_fallback', 'reader');
          expect(fb.map((e) => [e.copied, e.reason])).toEqual([[0, 'folio_walk_start: not found']]);
        }
        expect(calls(t, 'follow_huge_pmd')).toHaveLength(4);
      });
    }
  }
});
