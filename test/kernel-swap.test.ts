/**
 * Swap (mm/vmscan.c shrink_folio_list, mm/swap_state.c, mm/rmap.c try_to_unmap_one, mm/page_io.c,
 * mm/memory.c do_swap_page): the swap entry's encoding, and what reclaim and the swap-in do when
 * somebody else holds the folio -- pageout() keeps a folio with an extra reference
 * (is_page_cache_freeable), __remove_mapping()'s folio_ref_freeze fails on one (a fast-path-style
 * reader's) -- a zap of a swap entry, and a write fault that swaps a page in.
 */
import { describe, expect, test } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import {
  _PAGE_DIRTY, _PAGE_RW, entry_none, entry_present, is_migration_entry, is_real_swap_pte, is_swap_pte, make_swap_pte,
  pte_swp_exclusive, swp_offset, swp_type,
} from '../src/linux/arch/x86/include/pgtable_types.js';
import { type Folio, PG_dirty, PG_swapcache, folio_get, folio_put, folio_wait_writeback } from '../src/linux/mm/folio.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap, vma_lookup } from '../src/linux/mm/mmap.js';
import { mmap_read_lock, mmap_read_unlock } from '../src/linux/mm/mmap_lock.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { swapon } from '../src/linux/mm/page_io.js';
import { type FolioWalk, folio_walk_end, folio_walk_start } from '../src/linux/mm/pagewalk.js';
import { folio_referenced } from '../src/linux/mm/rmap.js';
import { shrink_node } from '../src/linux/mm/vmscan.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { type Process, spawn_process, thread } from '../src/workloads/lib.js';
import { folio_at } from '../src/workloads/reclaim-aging.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { pte_at } from './helpers/pgtable.js';

const AREA = 0x50000000;
const PATTERN = Uint8Array.from({ length: 256 }, (_, i) => (i * 13 + 7) & 0xff);

function clean(t: Trace): void {
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
}

/** A target process with a swap device and one anonymous page at AREA holding PATTERN. */
function* setup(): Gen<Process> {
  swapon(16, 200);
  const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
  return proc;
}

function* map_page(proc: Process): Gen {
  yield* sys_mmap(proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  yield* user_access(proc.mm, AREA, PATTERN, true);
}

/** An earlier aging pass: the page's PTE made old, so reclaim judges it RECLAIM. */
function* age(proc: Process): Gen<Folio> {
  const folio = folio_at(proc.mm, AREA)!;
  yield* folio_referenced(folio, { mapcount: 0, referenced: 0, vm_flags: 0 });
  return folio;
}

/** What the fast path does before copying: the folio under the PTL, and a reference on it. */
function* take_like_fast_path(proc: Process): Gen<Folio> {
  yield* mmap_read_lock(proc.mm);
  const vma = vma_lookup(proc.mm, AREA)!;
  const out: { result?: FolioWalk } = {};
  const folio = (yield* folio_walk_start(out, vma, AREA, 0))!;
  yield* folio_get(folio);
  yield* folio_walk_end(out.result!, vma);
  yield* mmap_read_unlock(proc.mm);
  return folio;
}

describe('swap entries (x86 encoding, simplified layout)', () => {
  test('a swap entry is not present, not none, not a migration entry, and carries type, offset and the exclusive bit', () => {
    const e = make_swap_pte(0, 0x123, true);
    const s = make_swap_pte(0, 0x123, false);
    for (const v of [e, s]) {
      expect([entry_none(v), entry_present(v), is_swap_pte(v), is_migration_entry(v), is_real_swap_pte(v)]).toEqual([false, false, true, false, true]);
      expect([swp_type(v), swp_offset(v)]).toEqual([0, 0x123]);
    }
    expect([pte_swp_exclusive(e), pte_swp_exclusive(s)]).toEqual([true, false]);
  });
});

describe('reclaim and a folio somebody else holds', () => {
  test('pageout() keeps a folio an extra reference holds (is_page_cache_freeable): unmapped, in the swap cache, dirty, not written', () => {
    let held: Folio | null = null;
    let after = { pte: 0, flags: 0 };
    const t = runBoot(function* () {
      const proc = yield* setup();
      thread(proc, 'worker', function* () {
        yield* map_page(proc);
        yield* age(proc);
        held = yield* take_like_fast_path(proc);
        yield* shrink_node();
        after = { pte: pte_at(proc.mm, AREA), flags: held.flags };
        yield* folio_put(held);
        // With the reference gone, the next pass writes it.
        yield* shrink_node();
        yield* folio_wait_writeback(held);
      });
    });
    clean(t);
    const f = held!.id;
    // add_to_swap and try_to_unmap happened (the PTE is a swap entry, the folio in the cache) ...
    expect(is_real_swap_pte(after.pte)).toBe(true);
    expect(after.flags & (PG_swapcache | PG_dirty)).toBe(PG_swapcache | PG_dirty);
    // ... but the first pageout saw isolation + cache + the reader: no write until the second pass.
    const writes = t.of('swap_io', 'swapio', (e) => e.write && e.folio === f);
    expect(writes).toHaveLength(1);
    const passes = t.of('call_enter', 'worker', (e) => e.fn === 'shrink_node');
    expect(writes[0]!.seq).toBeGreaterThan(passes[1]!.seq);
    expect(t.of('call_enter', 'worker', (e) => e.fn === 'swap_writepage' && e.seq < passes[1]!.seq)).toHaveLength(0);
  });

  test('a reader\'s reference (folio_walk_start + folio_get, as the fast path takes it) makes __remove_mapping\'s folio_ref_freeze fail: the folio stays', () => {
    let readBack = new Uint8Array();
    let swapin: Folio | null = null;
    const t = runBoot(function* () {
      const proc = yield* setup();
      thread(proc, 'worker', function* () {
        yield* map_page(proc);
        const first = yield* age(proc);
        yield* shrink_node(); // written out ...
        yield* folio_wait_writeback(first);
        yield* shrink_node(); // ... and freed: only the slot has the bytes
        // A read fault swaps it in: mapped, clean, and still in the swap cache (a read fault
        // keeps the slot).
        const buf = new Uint8Array(PATTERN.length);
        yield* user_access(proc.mm, AREA, buf, false);
        swapin = yield* age(proc);
        // The reader holds it while reclaim runs: no write is needed (clean), so it is the
        // refcount freeze that sees the reader.
        const folio = yield* take_like_fast_path(proc);
        yield* shrink_node();
        readBack = folio.read(0, PATTERN.length).slice();
        yield* folio_put(folio);
        yield* shrink_node(); // nobody holds it now
      });
    });
    clean(t);
    expect(readBack).toEqual(PATTERN);
    const f = swapin!.id;
    expect(t.of('swap_io', 'swapio', (e) => !e.write && e.folio === f)).toHaveLength(1);
    // Pass three: try_to_unmap gave the PTE back to the slot; isolation + cache = 2 expected,
    // the reader makes 3: the freeze fails and the folio is kept, unmapped, in the cache.
    // Pass four freezes it and frees it. No second write: it was clean.
    const freezes = t.of('folio_ref_freeze', 'worker', (e) => e.folio === f);
    expect(freezes.map((e) => [e.count, e.ok])).toEqual([[2, false], [2, true]]);
    const kept = freezes[0]!;
    expect(t.of('swap_cache_delete', 'worker', (e) => e.folio === f && e.seq < freezes[1]!.seq)).toHaveLength(0);
    expect(t.next('lru_move', kept.seq, 'worker', (e) => e.folio === f)).toMatchObject({ from: 'none', to: 'inactive_anon' });
    expect(t.of('folio_free', 'worker', (e) => e.folio === f).map((e) => e.seq > freezes[1]!.seq)).toEqual([true]);
    expect(t.of('swap_io', 'swapio', (e) => e.write)).toHaveLength(1);
  });
});

describe('swap entries and the other page-table users', () => {
  test('a zap of a swap entry gives the slot back and frees the swap cache folio that only the slot kept (free_swap_and_cache)', () => {
    let folio: Folio | null = null;
    const t = runBoot(function* () {
      const proc = yield* setup();
      thread(proc, 'worker', function* () {
        yield* map_page(proc);
        folio = yield* age(proc);
        yield* shrink_node();
        yield* folio_wait_writeback(folio);
        yield* sys_madvise(proc.mm, AREA, PAGE_SIZE, MADV_DONTNEED);
      });
    });
    clean(t);
    const slot = t.of('swap_cache_add', 'worker')[0]!.offset;
    const zap = t.of('call_enter', 'worker', (e) => e.fn === 'madvise_dontneed_single_vma')[0]!;
    const after = t.of('swap_map', 'worker', (e) => e.offset === slot && e.seq > zap.seq);
    // The PTE's reference goes, then __try_to_reclaim_swap takes the folio out of the cache.
    expect(after.map((e) => [e.count, e.cache])).toEqual([[0, true], [0, false]]);
    expect(t.of('folio_free', 'worker', (e) => e.folio === folio!.id && e.seq > zap.seq)).toHaveLength(1);
  });

  test('munmap of a page swapped in by a read gives its slot back when the gather releases the folio (free_pages_and_swap_cache)', () => {
    let folio: Folio | null = null;
    const t = runBoot(function* () {
      const proc = yield* setup();
      thread(proc, 'worker', function* () {
        yield* map_page(proc);
        const old = yield* age(proc);
        yield* shrink_node();
        yield* folio_wait_writeback(old);
        yield* shrink_node();
        yield* user_access(proc.mm, AREA, new Uint8Array(4), false);
        folio = folio_at(proc.mm, AREA);
        yield* sys_munmap(proc.mm, AREA, PAGE_SIZE);
      });
    });
    clean(t);
    const slot = t.of('swap_cache_add', 'worker')[0]!.offset;
    // The read fault left the folio in the swap cache, its slot held by the cache alone.
    expect(folio!.id).not.toBe(0);
    const munmap = t.of('call_enter', 'worker', (e) => e.fn === '__vm_munmap')[0]!;
    const before = t.of('swap_map', 'worker', (e) => e.offset === slot && e.seq < munmap.seq).at(-1)!;
    expect([before.count, before.cache]).toEqual([0, true]);
    // The zap drops the mapping; the gather's release takes the folio out of the cache (the slot is
    // free) and puts its reference, the last but the cache's, which went with it: the folio is freed.
    const flush = t.of('tlb_flush', 'worker', (e) => e.seq > munmap.seq)[0]!;
    const after = t.of('swap_map', 'worker', (e) => e.offset === slot && e.seq > munmap.seq);
    expect(after.map((e) => [e.count, e.cache])).toEqual([[0, false]]);
    expect(after[0]!.seq).toBeGreaterThan(flush.seq);
    expect(t.of('folio_free', 'worker', (e) => e.folio === folio!.id && e.seq > after[0]!.seq)).toHaveLength(1);
  });

  test('a write fault on a swapped-out exclusive page maps it writable and dirty and frees the slot (should_try_to_free_swap)', () => {
    let pte = 0;
    let bytes = new Uint8Array();
    const t = runBoot(function* () {
      const proc = yield* setup();
      thread(proc, 'worker', function* () {
        yield* map_page(proc);
        const folio = yield* age(proc);
        yield* shrink_node();
        yield* folio_wait_writeback(folio);
        yield* shrink_node();
        yield* user_access(proc.mm, AREA + 1, new Uint8Array([0xee]), true);
        pte = pte_at(proc.mm, AREA);
        yield* user_access(proc.mm, AREA, (bytes = new Uint8Array(4)), false);
      });
    });
    clean(t);
    const slot = t.of('swap_cache_add', 'worker')[0]!.offset;
    // The user fault: the read in flight, so the lock is dropped and the fault retried; the retry
    // finds the folio in the cache, drops the PTE's reference and, a write with only the cache
    // and itself holding the folio, takes it out of the cache: the slot is free.
    const hows = t.of('fault', 'worker', (e) => e.addr === AREA + 1).map((e) => e.how);
    expect(hows).toEqual(['do_swap_page:folio_lock_or_retry', 'do_swap_page']);
    expect(t.of('swap_map', undefined, (e) => e.offset === slot).at(-1)).toMatchObject({ count: 0, cache: false });
    // Exclusive (the swap entry said so): writable at once, dirty, no COW.
    expect([entry_present(pte), (pte & _PAGE_RW) !== 0, (pte & _PAGE_DIRTY) !== 0]).toEqual([true, true, true]);
    expect(t.of('fault', 'worker', (e) => e.how === 'do_wp_page:copy')).toHaveLength(0);
    expect([...bytes]).toEqual([PATTERN[0], 0xee, PATTERN[2], PATTERN[3]]);
  });
});
