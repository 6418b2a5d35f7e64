/**
 * Folios: allocation with their bytes, references, flags and LRU lists, the page cache, copies
 * between folios; the swap device's slots, the swap cache, and swap I/O moving bytes between them.
 */
import { PageBytes } from '../../trace/page-bytes.js';
import { LruList, PAGE_SIZE, PageFlags } from '../../trace/vocab/index.js';
import type { Folds, MSwapSlot, Model } from '../model-types.js';

const { PG_active, PG_dirty, PG_lru, PG_swapcache, PG_uptodate } = PageFlags.bits;

/**
 * Offset of the byte at user address `addr` within the folio it maps to: addr modulo the folio's
 * size. Exact for order 0 (the offset in the page) and for large folios because the kernel model
 * maps them naturally aligned (a THP's PMD or its split PTEs at a 2 MiB-aligned address; no
 * mremap) -- the emitters (user_access, copy_to_folio) check that and refuse anything else.
 */
export function folioOffset(m: Model, folio: number, addr: number): number {
  const f = m.folios.get(folio);
  return addr % (PAGE_SIZE * 2 ** (f?.order ?? 0));
}

function setRefcount(m: Model, folio: number, ref: number): void {
  const f = m.folios.get(folio);
  if (f) f.refcount = ref;
}

function setFlags(m: Model, folio: number, flags: number): void {
  const f = m.folios.get(folio);
  if (f) f.flags = flags;
}

/** The slot at offset, which an event shows in use (made, zero-filled, on its first event). */
function slot(m: Model, offset: number): MSwapSlot {
  let x = m.swap.get(offset);
  if (!x) m.swap.set(offset, (x = { offset, count: 0, cache: false, folio: null, data: new Uint8Array(PAGE_SIZE) }));
  return x;
}

/**
 * Which list an lru_move put the folio on decides PG_lru and PG_active, as lruvec_add_folio does.
 * A multi-gen LRU list leaves PG_active alone: lru_gen_add_folio() clears it with the generation it
 * sets, which the folio_flags event before the move carries.
 */
function onList(flags: number, list: keyof typeof LruList.codes): number {
  if (list === 'none') return flags & ~(PG_lru | PG_active);
  const onLru = flags | PG_lru;
  return list === 'active_anon' || list === 'active_file' ? onLru | PG_active : onLru;
}

export const folioFolds: Folds = {
  folio_alloc(m, e) {
    m.folios.set(e.folio, {
      folio: e.folio, pfn: e.pfn, order: e.order, refcount: 1, mapcount: 0, flags: e.flags, lru: 0, file: null, index: 0,
      data: new PageBytes(PAGE_SIZE * 2 ** e.order),
    });
  },
  folio_get(m, e) {
    setRefcount(m, e.folio, e.ref);
  },
  folio_try_get(m, e) {
    setRefcount(m, e.folio, e.ref);
  },
  folio_put(m, e) {
    setRefcount(m, e.folio, e.ref);
  },
  folio_free(m, e) {
    m.folios.delete(e.folio);
  },
  folio_mark_accessed(m, e) {
    setFlags(m, e.folio, e.to);
  },
  folio_flags(m, e) {
    setFlags(m, e.folio, e.new);
  },
  lru_move(m, e) {
    const f = m.folios.get(e.folio);
    if (!f) return;
    f.lru = LruList.codes[e.to];
    f.flags = onList(f.flags, e.to);
  },
  folio_mapcount(m, e) {
    const f = m.folios.get(e.folio);
    if (f) f.mapcount = e.mapcount;
  },
  folio_mark_dirty(m, e) {
    const f = m.folios.get(e.folio);
    if (f) f.flags |= PG_dirty;
  },
  folio_copy(m, e) {
    const dst = m.folios.get(e.dst);
    if (!dst) return;
    const size = dst.data.size;
    const src = m.folios.get(e.src);
    // A source the model no longer holds copies as zeros.
    if (src) dst.data.copyFrom(src.data, e.index * PAGE_SIZE, size, 0);
    else dst.data.copyFrom(new PageBytes(size), 0, size, 0);
  },
  folio_copy_page(m, e) {
    const dst = m.folios.get(e.dst);
    if (!dst) return;
    const src = m.folios.get(e.src)?.data ?? new PageBytes(PAGE_SIZE);
    dst.data.copyFrom(src, 0, PAGE_SIZE, e.index * PAGE_SIZE);
  },
  page_cache_add(m, e) {
    const f = m.folios.get(e.folio);
    if (!f) return;
    f.file = e.file;
    f.index = e.index;
    f.flags |= PG_uptodate;
    // A large folio enters the cache whole: it holds the file's bytes of all its pages.
    const file = m.files.get(e.file);
    const from = e.index * PAGE_SIZE;
    if (file) f.data.write(file.data.subarray(from, Math.min(from + f.data.size, file.data.length)), 0);
  },
  page_cache_delete(m, e) {
    const f = m.folios.get(e.folio);
    if (f) f.file = null;
  },
  folio_ref_freeze(m, e) {
    if (e.ok) setRefcount(m, e.folio, 0);
  },
  folio_ref_unfreeze(m, e) {
    setRefcount(m, e.folio, e.ref);
  },
  swap_map(m, e) {
    if (e.count === 0 && !e.cache) {
      m.swap.delete(e.offset);
      return;
    }
    const x = slot(m, e.offset);
    x.count = e.count;
    x.cache = e.cache;
  },
  swap_cache_add(m, e) {
    slot(m, e.offset).folio = e.folio;
    const f = m.folios.get(e.folio);
    if (f) f.flags |= PG_swapcache;
  },
  swap_cache_delete(m, e) {
    const x = m.swap.get(e.offset);
    if (x) x.folio = null;
    const f = m.folios.get(e.folio);
    if (f) f.flags &= ~PG_swapcache;
  },
  swap_io(m, e) {
    const f = m.folios.get(e.folio);
    const x = slot(m, e.offset);
    if (!f) return;
    if (e.write) x.data = f.data.read(0, PAGE_SIZE).slice();
    else f.data.write(x.data.subarray(0, Math.min(PAGE_SIZE, f.data.size)), 0);
  },
};
