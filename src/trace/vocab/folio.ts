/**
 * folio: allocation, references, page flags, LRU lists, mapcounts, the page cache, reclaim's
 * verdicts, and swap: the swap device's slots, the swap cache and swap I/O.
 */
import { defineEnum, defineFlags, kind } from './define.js';

/** Page flags (include/linux/page-flags.h) as the model numbers them. */
export const PageFlags = defineFlags('page_flags', {
  PG_locked: 1 << 0,
  PG_writeback: 1 << 1,
  PG_referenced: 1 << 2,
  PG_uptodate: 1 << 3,
  PG_dirty: 1 << 4,
  PG_lru: 1 << 5,
  PG_active: 1 << 8,
  PG_workingset: 1 << 9,
  /** PG_owner_priv_1 of a swap-backed folio: it is in the swap cache */
  PG_swapcache: 1 << 10,
  PG_reserved: 1 << 13,
  PG_swapbacked: 1 << 17,
  PG_unevictable: 1 << 18,
  PG_idle: 1 << 24,
}, {
  // The multi-gen LRU's counters in folio->flags (include/linux/mmzone.h): LRU_REFS counts
  // accesses through file descriptors beyond PG_referenced (LRU_REFS_WIDTH = MAX_NR_TIERS - 2
  // bits); LRU_GEN holds gen+1 while the folio is on a generation's list, else 0
  // (order_base_2(MAX_NR_GENS + 1) bits). The kernel places them above the page flags, as here.
  LRU_REFS: 0b11 << 25,
  LRU_GEN: 0b111 << 27,
});

/** enum lru_list, with `none` for a folio on no list. */
export const LruList = defineEnum('lru_lists', {
  none: 0, inactive_anon: 1, active_anon: 2, inactive_file: 3, active_file: 4, unevictable: 5,
  // The multi-gen LRU (lru_gen_enabled): lrugen->folios[gen][type]; the generation is in the
  // folio's LRU_GEN field, and the list stands for all the generations of its type.
  gen_anon: 6, gen_file: 7,
});

/** enum folio_references (mm/vmscan.c): what folio_check_references() decided. */
export const FolioReferences = defineEnum('folio_references', { reclaim: 0, reclaim_clean: 1, keep: 2, activate: 3 });

export const folio = {
  folio_alloc: kind({
    code: 60, fields: { folio: 'id', pfn: 'int', order: 'int', flags: PageFlags },
    doc: 'a folio is allocated with its initial flags (PG_swapbacked: anonymous; PG_reserved: the zero page)',
  }),
  folio_get: kind({ code: 61, fields: { folio: 'id', ref: 'int' }, doc: 'folio_get(): a reference taken (ref: the count after)' }),
  folio_try_get: kind({ code: 62, fields: { folio: 'id', ref: 'int', ok: 'bool' }, doc: 'folio_try_get(): fails on a folio whose count is 0' }),
  folio_put: kind({ code: 63, fields: { folio: 'id', ref: 'int' }, doc: 'folio_put(): a reference dropped (ref: the count after)' }),
  folio_free: kind({ code: 64, fields: { folio: 'id' }, doc: 'the last reference is gone and the folio is freed' }),
  folio_mark_accessed: kind({ code: 65, fields: { folio: 'id', from: PageFlags, to: PageFlags }, doc: 'folio_mark_accessed(): flags before and after' }),
  lru_move: kind({ code: 66, fields: { folio: 'id', from: LruList, to: LruList }, doc: 'a folio moves between LRU lists' }),
  folio_mapcount: kind({ code: 67, fields: { folio: 'id', mapcount: 'int' }, doc: 'the folio\'s mapcount changed' }),
  folio_mark_dirty: kind({ code: 68, fields: { folio: 'id' }, doc: 'folio_mark_dirty()' }),
  page_cache_add: kind({
    code: 69, fields: { folio: 'id', file: 'name', index: 'int' },
    doc: 'the folio enters the page cache of file at index, uptodate, holding the file\'s bytes from there on',
  }),
  folio_flags: kind({
    code: 120, fields: { folio: 'id', old: PageFlags, new: PageFlags, why: 'name' },
    doc: 'a page flag changed outside folio_mark_accessed / lru_move (reclaim\'s test-and-clear, folio_set_referenced, lock ...)',
  }),
  reclaim_verdict: kind({
    code: 121, fields: { folio: 'id', verdict: FolioReferences, ptes: 'int', referenced: 'bool' },
    doc: 'folio_check_references() decided: ptes, young PTEs the rmap walk cleared (-1: rmap lock contention); referenced: PG_referenced was set',
  }),
  lru_gen_seq: kind({
    code: 130, fields: { max_seq: 'int', min_seq_anon: 'int', min_seq_file: 'int' },
    doc: 'the multi-gen LRU\'s generation numbers moved: the youngest (max_seq, the aging) or an oldest (min_seq, the eviction); a folio\'s LRU_GEN is gen+1 with gen = seq % 4',
  }),
  page_cache_delete: kind({
    code: 126, fields: { folio: 'id', file: 'name', index: 'int' },
    doc: 'the folio left the page cache of file (collapse_file replaced it); its bytes and references are unchanged',
  }),
  swap_map: kind({
    code: 140, fields: { offset: 'int', count: 'int', cache: 'bool' },
    doc: 'swap_map[offset] of the swap device changed: count, swap PTEs that refer to the slot; cache, SWAP_HAS_CACHE (a folio of the swap cache holds it). 0 and false: the slot is free',
  }),
  swap_cache_add: kind({
    code: 141, fields: { folio: 'id', offset: 'int' },
    doc: 'the folio enters the swap cache for slot offset (PG_swapcache, folio->swap); the cache holds a reference, counted in folio_get events',
  }),
  swap_cache_delete: kind({
    code: 142, fields: { folio: 'id', offset: 'int' },
    doc: 'the folio leaves the swap cache (PG_swapcache cleared); its bytes and references are unchanged',
  }),
  swap_io: kind({
    code: 143, fields: { folio: 'id', offset: 'int', write: 'bool' },
    doc: 'a swap I/O completed: write, the slot now holds the folio\'s bytes (end_swap_bio_write); read, the folio now holds the slot\'s bytes (end_swap_bio_read)',
  }),
  folio_ref_freeze: kind({
    code: 144, fields: { folio: 'id', count: 'int', ok: 'bool' },
    doc: 'folio_ref_freeze(folio, count): the reference count was exactly count and is now 0 (ok), or it was not and is unchanged',
  }),
  folio_ref_unfreeze: kind({
    code: 145, fields: { folio: 'id', ref: 'int' },
    doc: 'folio_ref_unfreeze(): a frozen count is given back (ref: the count after)',
  }),
} as const;
