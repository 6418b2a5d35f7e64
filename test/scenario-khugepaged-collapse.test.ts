/**
 * kernel-spec §12.4 (khugepaged form), §4.3, §3.5: a file THP collapse (collapse_file ->
 * retract_page_tables, holding only i_mmap_rwsem) clears the PMD and frees the PTE table a remote
 * reader is walking; and the anonymous collapse_huge_page, which cannot overlap the read.
 */
import { describe, expect, test } from 'vitest';
import { create_file, files } from '../src/linux/mm/filemap.js';
import { HPAGE_PMD_ORDER, PG_locked, PG_lru } from '../src/linux/mm/folio.js';
import { collapse_file, SCAN_PAGE_COUNT, SCAN_PAGE_FILLED, SCAN_SUCCEED } from '../src/linux/mm/khugepaged.js';
import { entry_pfn, PMD_SIZE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import type { ObservedEvent } from '../src/sim/directed.js';
import { outsider, spawn_process, thread } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import type { EventOf } from '../src/trace/vocab/index.js';
import {
  KH_ANON, KH_AREA, KH_FILE, KH_READ_AT, KH_READ_LEN, KH_TOUCHED, khFileByte, khugepagedCollapse,
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
  expect(thp.read(KH_READ_AT, 1)[0]).toBe(khFileByte(KH_READ_AT));
}

describe('§12.4 khugepaged file collapse frees a PTE table during a walk', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      const label = `${path}${variant.length ? '+fixes' : ''} seed ${seed}`;

      test(`(a) the reader takes the PTL first and holds its folio reference: the collapse aborts with SCAN_PAGE_COUNT (${label})`, () => {
        const t = run(path, variant, seed, { order: 0 });
        expect(read(t)).toEqual([KH_READ_LEN, FILE_BYTES]);
        const readerTid = t.tid('reader');
        // K, unmapping the old folio (try_to_unmap, an rmap walk taking the PTL), waited for the
        // PTL the reader held -- inside no pmd_lock section: retract_page_tables never ran.
        const contended = t.of('spin_contended', 'khugepaged', (e) => e.class === 'ptl');
        expect(contended).toHaveLength(1);
        expect(contended[0]!.owner).toBe(readerTid);
        expect(t.of('spin_lock', 'khugepaged', (e) => e.class === 'pmd_lock')).toHaveLength(0);
        const unmap = t.of('call_enter', 'khugepaged', (e) => e.fn === 'try_to_unmap');
        expect(unmap).toHaveLength(1);
        expect(unmap[0]!.seq).toBeLessThan(contended[0]!.seq);
        // The reader copied from the old small folio, and K cleared its PTE meanwhile.
        const copy = t.of('copy', 'reader');
        expect(copy).toHaveLength(1);
        const old = copy[0]!.folio;
        const unmapped = t.of('pgtable_set', 'khugepaged', (e) => e.addr === KH_AREA && e.value === 0 && t.isLeafEntry(e.old));
        expect(unmapped).toHaveLength(1);
        // When K counted, the reader's reference was still there: four, not the collapse's three.
        const [exit] = t.of('call_exit', 'khugepaged', (e) => e.fn === 'collapse_file');
        expect(exit!.ret).toBe(SCAN_PAGE_COUNT);
        const readerPut = t.of('folio_put', 'reader', (e) => e.folio === old);
        expect(readerPut).toHaveLength(1);
        expect(readerPut[0]!.seq).toBeGreaterThan(exit!.seq);
        // Rolled back: nothing left the page cache, no PMD was cleared, no table freed, the THP
        // was freed and the old folio is back on the LRU, unlocked.
        expect(t.of('page_cache_delete')).toHaveLength(0);
        expect(pmdClear(t)).toHaveLength(0);
        expect(t.of('pgtable_free', 'khugepaged')).toHaveLength(0);
        const thp = t.of('folio_alloc', 'khugepaged', (e) => e.order === HPAGE_PMD_ORDER)[0]!.folio;
        expect(t.of('folio_free', undefined, (e) => e.folio === thp)).toHaveLength(1);
        expect(t.of('folio_free', undefined, (e) => e.folio === old)).toHaveLength(0);
        const mapping = [...files(t.result.kernel).values()].find((f) => f.name === '/data/collapse.bin')!;
        const cached = mapping.i_pages.get(0)!;
        expect(cached.id).toBe(old);
        expect(cached.order).toBe(0);
        expect(cached.flags & PG_locked).toBe(0);
        expect(cached.flags & PG_lru).toBe(PG_lru);
        noChecks(t);
      });

      test(`(a) without the reader's reference (it copied first), the collapse succeeds (${label})`, () => {
        const t = run(path, variant, seed, { order: 0, holdRef: 0 });
        expect(read(t)).toEqual([KH_READ_LEN, FILE_BYTES]);
        const [exit] = t.of('call_exit', 'khugepaged', (e) => e.fn === 'collapse_file');
        expect(exit!.ret).toBe(SCAN_SUCCEED);
        const { olds, thp } = collapseFolios(t);
        expect(olds).toHaveLength(KH_TOUCHED);
        expect(t.of('folio_copy_page', 'khugepaged').map((e) => [e.dst, e.index, e.src])).toEqual(olds.map((o, i) => [thp, i, o]));
        // The reader's put came before K counted.
        const readerPut = t.of('folio_put', 'reader', (e) => e.folio === olds[0]);
        expect(readerPut).toHaveLength(1);
        expect(readerPut[0]!.seq).toBeLessThan(exit!.seq);
        retractLocks(t);
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

/**
 * A target thread faults a page of the range while K is in the middle of collapse_file: held until
 * K has scanned, locked, unmapped and counted every old folio and copies the first one. `page` 0
 * is an old folio K holds locked; `page` 5 was never cached (a hole the new folio fills from the
 * file).
 */
function faultDuringCollapse(page: number): Workload {
  const kCopies = (e: ObservedEvent) => e.task === 'khugepaged' && e.kind === 'folio_copy_page';
  const faulterDone = (e: ObservedEvent) => e.task === 'faulter' && e.kind === 'task_exit';
  const faulterWaits = (e: ObservedEvent) => e.task === 'faulter' && e.kind === 'sched_block';
  return {
    name: `fault-during-collapse-${page}`,
    description: 'a fault on the range while collapse_file holds the old folios locked',
    params: {},
    schedule: () => [
      { task: 'faulter', until: kCopies },
      // K waits until the faulter is done (page 5) or has come to wait for the folio lock (page 0).
      { task: 'khugepaged', after: kCopies, until: (e) => faulterDone(e) || faulterWaits(e) },
    ],
    *boot() {
      const proc = yield* spawn_process('target', ['target'], []);
      const ready = new Completion();
      const bytes = new Uint8Array(PMD_SIZE).map((_, o) => khFileByte(o));
      const file = yield* create_file(KH_FILE, bytes);
      thread(proc, 'setup', function* () {
        yield* sys_mmap(proc.mm, { addr: KH_AREA, len: PMD_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file });
        for (let p = 0; p < KH_TOUCHED; p++) yield* user_access(proc.mm, KH_AREA + p * PAGE_SIZE, new Uint8Array(16), false);
        yield* complete_all(ready);
      });
      thread(proc, 'faulter', function* () {
        yield* wait_for_completion(ready);
        yield* user_access(proc.mm, KH_AREA + page * PAGE_SIZE, new Uint8Array(16), false);
      });
      outsider('khugepaged', function* () {
        yield* wait_for_completion(ready);
        yield* collapse_file(file, 0);
      });
    },
  };
}

describe('collapse_file against a concurrent fault on its range', () => {
  test('a fault on an old folio waits for its lock, then finds the THP', () => {
    const t = runTrace(faultDuringCollapse(0), { path: 'gup', seed: 1 });
    expect(t.result.outcome).toBe('done');
    const [exit] = t.of('call_exit', 'khugepaged', (e) => e.fn === 'collapse_file');
    expect(exit!.ret).toBe(SCAN_SUCCEED);
    const { olds, thp } = collapseFolios(t);
    // The faulter slept on the old folio's lock (folio_lock) and woke after K unlocked it.
    const wait = t.of('sched_block', 'faulter');
    expect(wait.map((e) => e.on)).toContain(olds[0]);
    const unlock = t.of('folio_flags', 'khugepaged', (e) => e.folio === olds[0] && (e.new & PG_locked) === 0).at(-1)!;
    expect(unlock.seq).toBeGreaterThan(wait[0]!.seq);
    // It looked the page up again and mapped the THP's page 0, not the old folio.
    const mapped = t.of('pgtable_set', 'faulter', (e) => e.addr === KH_AREA && t.isLeafEntry(e.value));
    expect(mapped).toHaveLength(1);
    const thpPfn = t.of('folio_alloc', 'khugepaged', (e) => e.folio === thp)[0]!.pfn;
    expect(entry_pfn(mapped[0]!.value)).toBe(thpPfn);
    pageCacheIsThp(t);
    noChecks(t);
  });

  test('a fault that caches a hole of the range makes the collapse give up (SCAN_PAGE_FILLED)', () => {
    const t = runTrace(faultDuringCollapse(5), { path: 'gup', seed: 1 });
    expect(t.result.outcome).toBe('done');
    const [exit] = t.of('call_exit', 'khugepaged', (e) => e.fn === 'collapse_file');
    expect(exit!.ret).toBe(SCAN_PAGE_FILLED);
    expect(t.of('page_cache_delete')).toHaveLength(0);
    const mapping = [...files(t.result.kernel).values()].find((f) => f.name === KH_FILE)!;
    expect(mapping.i_pages.get(5)!.order).toBe(0);
    expect(mapping.i_pages.get(0)!.order).toBe(0);
    const thp = t.of('folio_alloc', 'khugepaged', (e) => e.order === HPAGE_PMD_ORDER)[0]!.folio;
    expect(t.of('folio_free', undefined, (e) => e.folio === thp)).toHaveLength(1);
    noChecks(t);
  });
});
