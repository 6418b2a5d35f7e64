/**
 * wp_can_reuse_anon_folio() (mm/memory.c): a write fault on an anonymous page not known to be
 * exclusive (as after fork, which the model does not have: the tests clear the flag) reuses the
 * folio when the mapping's reference is the last one, and copies it otherwise:
 *  - a folio the swap cache also holds (swapped in by a read) is reused: under the folio lock the
 *    swap cache lets it go and frees its slot;
 *  - the same folio, its lock held by somebody, is copied (the lock is only tried);
 *  - a PTE-mapped large folio is reused when every reference is one of its mappings, and copied
 *    when only the page written is mapped (the large folio is better given back).
 */
import { describe, expect, test } from 'vitest';
import { _PAGE_RW, entry_pfn, PMD_SIZE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { type Folio, PG_swapcache, folio_lock, folio_unlock, folio_wait_writeback, page_folio } from '../src/linux/mm/folio.js';
import { MADV_DONTNEED, MADV_HUGEPAGE, sys_madvise } from '../src/linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { type MmStruct, PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { swapon } from '../src/linux/mm/page_io.js';
import { folio_referenced } from '../src/linux/mm/rmap.js';
import { shrink_node } from '../src/linux/mm/vmscan.js';
import type { Gen } from '../src/sim/task.js';
import { spawn_process, thread } from '../src/workloads/lib.js';
import { folio_at } from '../src/workloads/reclaim-aging.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { pte_at } from './helpers/pgtable.js';

const AREA = 0x60000000; // 2 MiB-aligned, for the THP
const RW = PROT_READ | PROT_WRITE;
const WORD = Uint8Array.of(1, 2, 3, 4);

function run(body: (mm: MmStruct) => Gen): Trace {
  const t = runBoot(function* () {
    swapon(16, 200);
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    thread(proc, 'worker', () => body(proc.mm));
  });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

/** The worker's faults at addr: how each went. */
function faultsAt(t: Trace, addr: number): string[] {
  return t.of('fault', 'worker', (e) => e.addr === addr).map((e) => String(e.how));
}

/**
 * A page of AREA written, no longer known to be exclusive, swapped out (aged, written, freed) and
 * swapped in again by a read: mapped read-only, still in the swap cache, which holds the only other
 * reference. Returns the folio.
 */
function* swappedInByARead(mm: MmStruct): Gen<Folio> {
  yield* sys_mmap(mm, { addr: AREA, len: PAGE_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  yield* user_access(mm, AREA, WORD, true);
  const old = folio_at(mm, AREA)!;
  old.anon_exclusive = false; // as after fork: the swap entry will say so too
  yield* folio_referenced(old, { mapcount: 0, referenced: 0, vm_flags: 0 }); // an earlier aging pass
  yield* shrink_node();
  yield* folio_wait_writeback(old);
  yield* shrink_node();
  yield* user_access(mm, AREA + 8, new Uint8Array(4), false);
  return folio_at(mm, AREA)!;
}

describe('a write to an anonymous page not known to be exclusive (wp_can_reuse_anon_folio)', () => {
  test('swapped in by a read, held by the swap cache too: reused, the swap cache lets it go and its slot is freed', () => {
    const seen: { folio?: Folio; inCache?: boolean; refs?: number; writable?: boolean; samePage?: boolean } = {};
    const t = run(function* (mm) {
      const folio = yield* swappedInByARead(mm);
      Object.assign(seen, { folio, inCache: (folio.flags & PG_swapcache) !== 0, refs: folio._refcount, writable: (pte_at(mm, AREA) & _PAGE_RW) !== 0 });
      yield* user_access(mm, AREA + 16, WORD, true);
      seen.samePage = page_folio(entry_pfn(pte_at(mm, AREA))) === folio;
    });
    expect([seen.inCache, seen.refs, seen.writable]).toEqual([true, 2, false]);
    expect(faultsAt(t, AREA + 16)).toEqual(['do_wp_page:reuse']);
    expect(seen.samePage).toBe(true);
    expect(seen.folio!.flags & PG_swapcache).toBe(0);
    expect(seen.folio!._refcount).toBe(1);
    const slot = t.of('swap_cache_add', 'worker')[0]!.offset;
    expect(t.of('swap_map', 'worker', (e) => e.offset === slot).at(-1)).toMatchObject({ count: 0, cache: false });
  });

  test('the same, its folio lock held by somebody: copied, the old folio left to the swap cache', () => {
    const seen: { folio?: Folio; copied?: boolean } = {};
    const t = run(function* (mm) {
      const folio = yield* swappedInByARead(mm);
      // As a swap-in or reclaim elsewhere would hold it (the swap cache's reference keeps it).
      yield* folio_lock(folio);
      yield* user_access(mm, AREA + 16, WORD, true);
      yield* folio_unlock(folio);
      seen.folio = folio;
      seen.copied = page_folio(entry_pfn(pte_at(mm, AREA))) !== folio;
    });
    expect(faultsAt(t, AREA + 16)).toEqual(['do_wp_page:copy']);
    expect(seen.copied).toBe(true);
    // Only the swap cache holds the old folio now; its slot stays in use by the cache.
    expect([seen.folio!.freed, seen.folio!._refcount, (seen.folio!.flags & PG_swapcache) !== 0]).toEqual([false, 1, true]);
    const slot = t.of('swap_cache_add', 'worker')[0]!.offset;
    expect(t.of('swap_map', 'worker', (e) => e.offset === slot).at(-1)).toMatchObject({ count: 0, cache: true });
  });

  /** A THP written at AREA, then PTE-mapped (a split of its PMD by a partial mprotect), no longer known to be exclusive, write-protected. */
  function* pteMappedThp(mm: MmStruct): Gen<Folio> {
    yield* sys_mmap(mm, { addr: AREA, len: PMD_SIZE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
    yield* sys_madvise(mm, AREA, PMD_SIZE, MADV_HUGEPAGE);
    yield* user_access(mm, AREA, WORD, true);
    yield* sys_mprotect(mm, AREA + PAGE_SIZE, PAGE_SIZE, PROT_READ); // splits the PMD
    yield* sys_mprotect(mm, AREA + PAGE_SIZE, PAGE_SIZE, RW);
    const thp = folio_at(mm, AREA)!;
    thp.anon_exclusive = false;
    yield* sys_mprotect(mm, AREA, PMD_SIZE, PROT_READ);
    yield* sys_mprotect(mm, AREA, PMD_SIZE, RW);
    return thp;
  }

  test('a PTE-mapped large folio every reference of which is a mapping: reused', () => {
    const seen: { thp?: Folio; mapped?: number; refs?: number; same?: boolean } = {};
    const t = run(function* (mm) {
      const thp = yield* pteMappedThp(mm);
      Object.assign(seen, { thp, mapped: thp.mapcount, refs: thp._refcount });
      yield* user_access(mm, AREA + 256, WORD, true);
      seen.same = page_folio(entry_pfn(pte_at(mm, AREA))) === thp;
    });
    expect(seen.thp!.order).toBeGreaterThan(0);
    expect([seen.mapped, seen.refs]).toEqual([PMD_SIZE / PAGE_SIZE, PMD_SIZE / PAGE_SIZE]);
    expect(faultsAt(t, AREA + 256)).toEqual(['do_wp_page:reuse']);
    expect(seen.same).toBe(true);
  });

  test('a PTE-mapped large folio of which only the page written is mapped: copied, so that the large folio can go', () => {
    const seen: { thp?: Folio; mapped?: number } = {};
    const t = run(function* (mm) {
      const thp = yield* pteMappedThp(mm);
      yield* sys_madvise(mm, AREA + PAGE_SIZE, PMD_SIZE - PAGE_SIZE, MADV_DONTNEED);
      Object.assign(seen, { thp, mapped: thp.mapcount });
      yield* user_access(mm, AREA + 256, WORD, true);
    });
    expect(seen.mapped).toBe(1);
    expect(faultsAt(t, AREA + 256)).toEqual(['do_wp_page:copy']);
    expect(seen.thp!.freed).toBe(true);
  });
});
