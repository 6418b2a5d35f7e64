/**
 * kernel-spec §12.4 (khugepaged form), §4.3, §3.5: a file THP collapse (collapse_file ->
 * retract_page_tables, holding only i_mmap_rwsem) clears the PMD and frees the PTE table a remote
 * reader is walking; and the anonymous collapse_huge_page, which cannot overlap the read.
 */
import { describe, expect, test } from 'vitest';
import { files } from '../src/linux/mm/filemap.js';
import { HPAGE_PMD_ORDER } from '../src/linux/mm/folio.js';
import type { EventOf } from '../src/trace/vocab/index.js';
import {
  KH_ANON, KH_AREA, KH_READ_AT, KH_READ_LEN, KH_TOUCHED, khFileByte, khugepagedCollapse,
} from '../src/workloads/khugepaged-collapse.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', ['singleVmaOnly', 'checkFollAnon', 'touch']]];
const FILE_BYTES = Array.from({ length: KH_READ_LEN }, (_, i) => khFileByte(KH_READ_AT + i));

function run(path: 'gup' | 'fast', variant: string[], seed: number, params: Record<string, number>, pteFreeImmediate = false): Trace {
  const t = runTrace(khugepagedCollapse, { path, variant, seed, params, config: { pteFreeImmediate } });
  expect(t.result.outcome).toBe('done');
  return t;
}

const read = (t: Trace) => {
  const [r] = t.requests('reader');
  return [r!.result, Array.from(r!.data)];
};

/** The folio ids khugepaged's collapse_file replaced, and the THP it made. */
function collapseFolios(t: Trace): { olds: number[]; thp: number } {
  const olds = t.of('page_cache_delete', 'khugepaged').map((e) => e.folio);
  const thp = t.of('folio_alloc', 'khugepaged', (e) => e.order === HPAGE_PMD_ORDER)[0]!.folio;
  return { olds, thp };
}

/** K's PMD clear (pmdp_collapse_flush): the PMD entry of KH_AREA, a table pointer, set to 0. */
const pmdClear = (t: Trace) => t.of('pgtable_set', 'khugepaged', (e) => e.addr === KH_AREA && e.value === 0 && !t.isLeafEntry(e.old));

/** The table K queued with pte_free_defer, and the RCU callback's free of it. */
function tableFree(t: Trace): { queued: EventOf<'pgtable_free'>; freed: EventOf<'pgtable_free'> } {
  const queued = t.of('pgtable_free', 'khugepaged', (e) => e.level === 'pte' && e.mode === 'rcu_queued');
  expect(queued).toHaveLength(1);
  const freed = t.of('pgtable_free', undefined, (e) => e.table === queued[0]!.table && e.mode === 'rcu_freed');
  expect(freed).toHaveLength(1);
  // Freed by the RCU callback (the grace-period kthread), after the grace period.
  expect(t.taskName(freed[0]!.tid)).toBe('rcu_gp');
  return { queued: queued[0]!, freed: freed[0]! };
}

function noChecks(t: Trace) {
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('deadlock')).toHaveLength(0);
}

/** retract_page_tables holds only i_mmap_rwsem for read: no mmap_lock, no VMA lock of the target. */
function retractLocks(t: Trace) {
  expect(t.of('mmap_lock_start_locking', 'khugepaged')).toHaveLength(0);
  expect(t.of('vma_start_write', 'khugepaged')).toHaveLength(0);
  const i_mmap = t.of('rwsem_acquire', 'khugepaged', (e) => e.class === 'i_mmap_rwsem');
  expect(i_mmap.map((e) => e.mode)).toEqual(['read']);
  const clear = pmdClear(t);
  expect(clear).toHaveLength(1);
  expect(clear[0]!.seq).toBeGreaterThan(i_mmap[0]!.seq);
}

/** After the run the file's page cache holds one order-9 folio for the range. */
function pageCacheIsThp(t: Trace) {
  const mapping = [...files(t.result.kernel).values()].find((f) => f.name === '/data/collapse.bin')!;
  const thp = mapping.i_pages.get(0)!;
  expect(thp.order).toBe(9);
  expect(mapping.i_pages.get(511)).toBe(thp);
  expect(thp.data[KH_READ_AT]).toBe(khFileByte(KH_READ_AT));
}

describe('§12.4 khugepaged file collapse frees a PTE table during a walk', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      const label = `${path}${variant.length ? '+fixes' : ''} seed ${seed}`;

      test(`(a) the reader takes the PTL first: K waits for it inside pmd_lock; the read copies the old page (${label})`, () => {
        const t = run(path, variant, seed, { order: 0 });
        expect(read(t)).toEqual([KH_READ_LEN, FILE_BYTES]);
        const { olds, thp } = collapseFolios(t);
        expect(olds).toHaveLength(KH_TOUCHED);
        // The collapse copied the cached pages into the THP.
        expect(t.of('folio_copy_page', 'khugepaged').map((e) => [e.dst, e.index, e.src])).toEqual(olds.map((o, i) => [thp, i, o]));
        // The reader copied from the old small folio, not the THP.
        const copy = t.of('copy', 'reader');
        expect(copy.map((e) => e.folio)).toEqual([olds[0]]);
        // K contended on the PTL the reader held, inside its pmd_lock section.
        const readerTid = t.tid('reader');
        const contended = t.of('spin_contended', 'khugepaged', (e) => e.class === 'ptl');
        expect(contended).toHaveLength(1);
        expect(contended[0]!.owner).toBe(readerTid);
        const pml = t.of('spin_lock', 'khugepaged', (e) => e.class === 'pmd_lock' && e.seq < contended[0]!.seq).at(-1)!;
        const pmlUnlock = t.next('spin_unlock', pml.seq, 'khugepaged', (e) => e.lock === pml.lock)!;
        expect(pmlUnlock.seq).toBeGreaterThan(contended[0]!.seq);
        // The PMD is cleared only after the reader released the PTL.
        const readerUnlock = t.of('spin_unlock', 'reader', (e) => e.lock === contended[0]!.lock)[0]!;
        expect(pmdClear(t)[0]!.seq).toBeGreaterThan(readerUnlock.seq);
        retractLocks(t);
        // pte_free_defer: queued, freed after a grace period that follows the reader's RCU section.
        const { queued, freed } = tableFree(t);
        const rcuUnlock = t.next('rcu_read_unlock', readerUnlock.seq, 'reader', (e) => e.nesting === 0)!;
        expect(freed.seq).toBeGreaterThan(rcuUnlock.seq);
        expect(freed.seq).toBeGreaterThan(queued.seq);
        expect(t.of('pmd_recheck', 'reader', (e) => !e.same)).toHaveLength(0);
        expect(t.of('fast_path_fallback', 'reader')).toHaveLength(0);
        // The old folios are gone at the end (the reader's reference was the last).
        for (const o of olds) expect(t.of('folio_free', undefined, (e) => e.folio === o)).toHaveLength(1);
        pageCacheIsThp(t);
        noChecks(t);
      });

      test(`(b) K clears the PMD between the PMD read and the PTL: the re-check fails, GUP maps the THP (${label})`, () => {
        const t = run(path, variant, seed, { order: 1 });
        // The same file bytes, now from the THP.
        expect(read(t)).toEqual([KH_READ_LEN, FILE_BYTES]);
        const { thp } = collapseFolios(t);
        expect(t.of('copy', 'reader').map((e) => e.folio)).toEqual([thp]);
        const recheck = t.of('pmd_recheck', 'reader', (e) => !e.same);
        expect(recheck.length).toBeGreaterThanOrEqual(1);
        expect(recheck[0]!.value).toBe(0); // the PMD the reader saw under the PTL: none
        expect(recheck[0]!.seq).toBeGreaterThan(pmdClear(t)[0]!.seq);
        if (path === 'fast') {
          const fb = t.of('fast_path_fallback', 'reader');
          expect(fb.map((e) => [e.copied, e.reason])).toEqual([[0, 'folio_walk_start: not found']]);
        } else {
          expect(t.of('fast_path_fallback', 'reader')).toHaveLength(0);
        }
        // GUP faulted the range in again: do_read_fault PTE-maps the THP's page (a new PTE table).
        expect(t.of('fault', 'reader').map((e) => e.how)).toEqual(['do_read_fault']);
        const mapped = t.of('pgtable_set', 'reader', (e) => e.addr === KH_AREA && t.isLeafEntry(e.value));
        expect(mapped).toHaveLength(1);
        retractLocks(t);
        // The table was queued while the reader was still inside pte_offset_map's RCU section: the
        // grace period waited for it, and the table was freed after its rcu_read_unlock.
        const { queued, freed } = tableFree(t);
        const gp = t.next('rcu_gp_start', queued.seq, 'rcu_gp')!;
        expect(gp.readers).toBeGreaterThanOrEqual(1);
        const rcuUnlock = t.next('rcu_read_unlock', recheck[0]!.seq, 'reader', (e) => e.nesting === 0)!;
        expect(rcuUnlock.seq).toBeGreaterThan(queued.seq);
        expect(freed.seq).toBeGreaterThan(rcuUnlock.seq);
        pageCacheIsThp(t);
        noChecks(t);
      });

      test(`(c) pteFreeImmediate: the walker takes the PTL inside the freed table (${label})`, () => {
        const t = run(path, variant, seed, { order: 1 }, true);
        const uaf = t.of('use_after_free', 'reader');
        expect(uaf.length).toBeGreaterThanOrEqual(1);
        expect(uaf[0]!.what).toBe('PTL of a freed page table');
        expect(t.of('pgtable_free', 'khugepaged', (e) => e.level === 'pte' && e.mode === 'immediate')).toHaveLength(1);
        expect(read(t)).toEqual([KH_READ_LEN, FILE_BYTES]);
      });

      test(`anon collapse_huge_page cannot overlap the read: it waits for the reader's lock (${label})`, () => {
        const t = run(path, variant, seed, { anon: 1 });
        expect(read(t)).toEqual([KH_READ_LEN, Array(KH_READ_LEN).fill(0x61)]);
        const blocked = t.of('sched_block', 'khugepaged');
        expect(blocked.length).toBeGreaterThanOrEqual(1);
        const copy = t.of('copy', 'reader')[0]!;
        // The reader copied from the small page while K waited; K went on only after the reader let go.
        expect(copy.seq).toBeGreaterThan(blocked[0]!.seq);
        expect(t.isLeafEntry(t.of('pgtable_set', 'khugepaged', (e) => e.addr === KH_ANON).at(-1)!.value)).toBe(true);
        if (path === 'fast') {
          expect(blocked[0]!.wait).toBe('vma_writer_wait');
          const write = t.of('vma_start_write', 'khugepaged');
          expect(write.map((e) => e.waited)).toEqual([true]);
          const endRead = t.of('vma_end_read', 'reader').at(-1)!;
          expect(write[0]!.seq).toBeGreaterThan(endRead.seq);
          expect(endRead.seq).toBeGreaterThan(copy.seq);
        } else {
          expect(blocked[0]!.wait).toBe('rwsem_down_write');
          const acquired = t.of('mmap_lock_acquire_returned', 'khugepaged', (e) => e.write && e.success)[0]!;
          const released = t.of('mmap_lock_released', 'reader')[0]!;
          expect(acquired.seq).toBeGreaterThan(released.seq);
        }
        // The PMD goes only after the read.
        const clear = t.of('pgtable_set', 'khugepaged', (e) => e.addr === KH_ANON && e.value === 0)[0]!;
        expect(clear.seq).toBeGreaterThan(copy.seq);
        noChecks(t);
      });
    }
  }
});

describe('khugepaged-collapse: projection equals the live kernel after every event', () => {
  const modes: Record<string, number>[] = [{ order: 0 }, { order: 1 }, { anon: 1 }];
  for (const params of modes) {
    for (const [path, variant] of PATHS) {
      test(`${JSON.stringify(params)} ${path}${variant.length ? '+fixes' : ''}`, () => {
        for (const seed of SEEDS) {
          const { events, firstMismatch } = checkEveryEvent(khugepagedCollapse, { path, variant, seed, params });
          expect(events).toBeGreaterThan(150);
          expect(firstMismatch).toBeNull();
        }
      });
    }
  }
});
