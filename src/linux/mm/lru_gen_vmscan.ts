/**
 * The multi-gen LRU's reclaim (mm/vmscan.c, the CONFIG_LRU_GEN half; kernel-spec §5.3): the aging,
 * which walks page tables, harvests accessed bits and opens a new youngest generation
 * (try_to_inc_max_seq, walk_mm, inc_max_seq), the rmap walk's look-around, and the eviction of the
 * oldest generation (evict_folios: sort_folio, isolate_folio, then the shrink_folio_list shared
 * with the classic LRU). The generations and the flag helpers are in lru_gen.ts.
 *
 * What the kernel has and the model reduces, and why:
 *  - The PID controller between tiers and between types (get_tier_idx, get_type_to_scan) is not
 *    modelled: the model has no refaults (nothing comes back from swap yet), and with no refault
 *    history the controller's answer is fixed -- tier_idx MAX_NR_TIERS - 1 (only a folio whose refs
 *    and PG_workingset are all set is protected) and the file type first. Those fixed answers are
 *    used.
 *  - swappiness is vm_swappiness's default, 60, with swap assumed available (anon evictable), as
 *    the classic pass scans the inactive anon list.
 *  - A kswapd pass is one try_to_shrink_lruvec() as at the lowest priority: nr_to_scan is every
 *    folio of the evictable generations, not shifted down by sc->priority (the model has no
 *    watermarks and no priority loop, as the classic pass scans whole inactive lists). Like the
 *    kernel's, a pass that has to age ages and stops (get_nr_to_scan returns -1).
 *  - The aging walks every mm once per new generation (iterate_mm_list without the mm list's
 *    bookkeeping, no Bloom filters: every PTE table is visited, as with force_scan); non-leaf PMD
 *    accessed bits (should_clear_pmd_young) are not modelled, the MMU model sets leaf bits only.
 *  - No memcg LRU, one node and zone; no refault/eviction stats (protected[], evicted[]); the
 *    retry of folios that missed folio_rotate_reclaimable() is left out (no PG_reclaim here).
 */
import { current, name, sim } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import {
  PMD_LEVEL, PMD_SIZE, PTRS_PER_TABLE, entry_leaf, entry_none, entry_pfn, entry_present, pmd_addr,
  pte_dirty, pte_mkold, pte_young,
} from '../arch/x86/include/pgtable_types.js';
import { kernel } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { type SpinLock, spin_lock, spin_trylock, spin_unlock } from '../kernel/locking/spinlock.js';
import { type Folio, PG_active, PG_dirty, PG_lru, PG_referenced, PG_swapbacked, PG_workingset, folio_mark_dirty, folio_put, folio_try_get, is_huge_zero_pfn, is_zero_pfn, pages } from './folio.js';
import {
  LRU_GEN_ANON, LRU_GEN_FILE, LRU_REFS_FLAGS, LRU_REFS_MASK, LRU_REFS_WIDTH, MAX_LRU_BATCH, MAX_NR_GENS, MAX_NR_TIERS,
  MIN_LRU_BATCH, MIN_NR_GENS, folio_inc_gen, folio_lru_gen, folio_lru_refs, folio_lru_type, folio_update_gen,
  gen_list_add, gen_list_add_tail, gen_list_del, get_nr_gens, lru_gen_del_folio, lru_gen_folio_seq, lru_gen_from_seq,
  lru_gen_seq_changed, lru_gen_set_refs, lru_tier_from_refs, lrugen, set_mask_bits,
} from './lru_gen.js';
import { mmap_read_trylock, mmap_read_unlock } from './mmap_lock.js';
import {
  type MmStruct, type VmAreaStruct, PAGE_SIZE, VM_ACCESS_FLAGS, VM_DONTEXPAND, VM_IO, VM_LOCKED, VM_MIXEDMAP, VM_PFNMAP,
  is_vm_hugetlb_page, mms, vma_is_anonymous,
} from './mm_types.js';
import { type EntryPtr, type PageTable, entry_table, pmd_lockptr, read_entry, read_present_lockless, set_entry } from './pgtable.js';
import { pte_offset_map_rw_nolock, pte_unmap, pte_unmap_unlock } from './pgtable_generic.js';
import { folio_activate, lru_add_drain, lru_isolated, lru_lock } from './swap.js';

/** vm_swappiness's default; 0 would leave anon alone, SWAPPINESS_ANON_ONLY file. */
const SWAPPINESS = 60;
const MAX_SWAPPINESS = 200;
const SWAPPINESS_ANON_ONLY = MAX_SWAPPINESS + 1;

/** VM_SPECIAL (include/linux/mm.h): mappings whose pages are not the LRU's business. */
const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

const WHY_ISOLATE = name('isolate_folio');
const WHY_REJECTED = name('evict_folios: rejected');

/** The types the eviction may take from (min_type..max_type): anon unless swappiness is 0, file unless anon-only. */
function evictable_types(swappiness: number): number[] {
  const types: number[] = [];
  for (let type = swappiness ? LRU_GEN_ANON : LRU_GEN_FILE; type <= (swappiness < SWAPPINESS_ANON_ONLY ? LRU_GEN_FILE : LRU_GEN_ANON); type++) {
    types.push(type);
  }
  return types;
}

function evictable_min_seq(swappiness: number): number {
  const { min_seq } = lrugen();
  return Math.min(...evictable_types(swappiness).map((type) => min_seq[type]!));
}

// --- current->reclaim_state->mm_walk -----------------------------------------------------------

/** Tasks reclaiming with an mm_walk (kswapd's pgdat->mm_walk, set_mm_walk): the aging batch. */
function mm_walkers(): Set<Task> {
  return kernel().subsystem('lru_gen_mm_walk', () => new Set<Task>());
}

function has_mm_walk(): boolean {
  return mm_walkers().has(current());
}

// --- promotion through page tables -------------------------------------------------------------

/**
 * get_pte_pfn() + get_pfn_folio(): the folio a young, present entry maps, if it is on a
 * generation's list (not isolated, not the zero page).
 */
function young_lru_folio(v: number): Folio | null {
  if (entry_none(v) || !entry_present(v) || !pte_young(v)) return null;
  const pfn = entry_pfn(v);
  if (is_zero_pfn(pfn) || is_huge_zero_pfn(pfn)) return null;
  const folio = pages().get(pfn);
  if (!folio || folio_lru_gen(folio) < 0) return null;
  return folio;
}

/**
 * walk_update_folio(): a folio found young through its PTEs. With an mm_walk (the aging, or kswapd's
 * rmap walk) folio_update_gen moves it to the youngest generation (the second time it is seen);
 * without one, lru_gen_set_refs and, if that says promote, folio_activate. A dirty PTE dirties the
 * folio, unless it is anon without swap cache (swap-out will dirty it anyway).
 */
function* walk_update_folio(walk: boolean, folio: Folio | null, gen: number, dirty: boolean): Gen {
  if (!folio) return;
  const anon_no_swapcache = folio.anon && (folio.flags & PG_swapbacked) !== 0;
  if (dirty && !(folio.flags & PG_dirty) && !anon_no_swapcache) yield* folio_mark_dirty(folio);
  if (walk) {
    // update_batch_size(): the lists' sizes are read off the lists here; nothing to batch.
    yield* folio_update_gen(folio, gen);
  } else if (yield* lru_gen_set_refs(folio)) {
    const old_gen = folio_lru_gen(folio);
    if (old_gen >= 0 && old_gen !== gen) yield* folio_activate(folio);
  }
}

/**
 * Clear the young bits of the entries [from, to) of a PTE table (the PTL held) whose folios are on
 * the LRU, and promote those folios: the loop walk_pte_range() and lru_gen_look_around() share.
 * `skip`: entries of VMAs the walk leaves alone.
 */
function* clear_young_range(table: PageTable, from: number, to: number, skip: (idx: number) => boolean): Gen {
  const gen = lru_gen_from_seq(lrugen().max_seq);
  const walk = has_mm_walk();
  let last: Folio | null = null;
  let dirty = false;
  for (let i = from; i < to; i++) {
    const v = table.entries[i]!; // ptep_get() under the PTL
    const folio = young_lru_folio(v);
    if (!folio || skip(i)) continue;
    yield* set_entry({ table, idx: i }, pte_mkold(v)); // ptep_clear_young_notify
    if (last !== folio) {
      yield* walk_update_folio(walk, last, gen, dirty);
      last = folio;
      dirty = false;
    }
    if (pte_dirty(v)) dirty = true;
  }
  yield* walk_update_folio(walk, last, gen, dirty);
}

/**
 * lru_gen_look_around(): the rmap walk of shrink_folio_list (folio_referenced_one) found the
 * folio's PTE `p` (value `v`, its PTL `ptl` held). Test-and-clear its young bit; if it was young,
 * also harvest the young PTEs around it (up to MIN_LRU_BATCH within the PMD and the VMA), since
 * neighbours in the address space tend to be used together. Returns whether the PTE was young.
 * (The feedback into the aging's Bloom filter is not modelled.)
 */
export function* lru_gen_look_around(vma: VmAreaStruct, p: EntryPtr, addr: number, v: number, ptl: SpinLock): Gen<boolean> {
  if (!pte_young(v)) return false;
  yield* set_entry(p, pte_mkold(v));
  if (ptl.waiters.length > 0) return true; // spin_is_contended(pvmw->ptl)
  // Special VMAs may hold anon pages from COW: leave them alone.
  if (vma.vm_flags & VM_SPECIAL) return true;
  let start = Math.max(pmd_addr(addr), vma.vm_start);
  let end = Math.min(pmd_addr(addr) + PMD_SIZE, vma.vm_end);
  if (end - start === PAGE_SIZE) return true;
  const window = MIN_LRU_BATCH * PAGE_SIZE;
  if (end - start > window) {
    if (addr - start < window / 2) end = start + window;
    else if (end - addr < window / 2) start = end - window;
    else [start, end] = [addr - window / 2, addr + window / 2];
  }
  const first = p.idx - (addr - start) / PAGE_SIZE;
  yield* clear_young_range(p.table, first, first + (end - start) / PAGE_SIZE, () => false);
  return true;
}

// --- the aging -----------------------------------------------------------------------------------

/** should_skip_vma(): VMAs the aging's walk leaves out (every VMA has recency here). */
function should_skip_vma(vma: VmAreaStruct | undefined, swappiness: number): boolean {
  if (!vma) return true;
  if (!(vma.vm_flags & VM_ACCESS_FLAGS)) return true; // !vma_is_accessible
  if (is_vm_hugetlb_page(vma)) return true;
  if (vma.vm_flags & (VM_LOCKED | VM_SPECIAL)) return true;
  if (vma_is_anonymous(vma)) return !swappiness;
  return swappiness > MAX_SWAPPINESS;
}

/**
 * walk_pte_range(): one PTE table, locked with a trylock (the aging does not wait for a PTL; a
 * busy table is skipped), the PMD re-checked as pte_offset_map_lock does.
 */
function* walk_pte_range(mm: MmStruct, pmdp: EntryPtr, swappiness: number): Gen {
  const mapped = yield* pte_offset_map_rw_nolock(mm, pmdp, pmdp.table.addrOf(pmdp.idx));
  if (!mapped) return;
  if (!(yield* spin_trylock(mapped.ptl))) {
    yield* pte_unmap();
    return;
  }
  const now = yield* read_entry(pmdp, true); // pmd_same(pmdval, pmdp_get_lockless(pmd))
  if (now === mapped.pmdval) {
    const table = mapped.ptep.table;
    yield* clear_young_range(table, 0, PTRS_PER_TABLE, (i) => should_skip_vma(mm.mm_mt.load(table.addrOf(i)), swappiness));
  }
  yield* pte_unmap_unlock(mapped.ptl);
}

/** walk_pmd_range_locked() for one PMD-mapped THP: its young bit under the PMD lock (trylock). */
function* walk_pmd_leaf(mm: MmStruct, pmdp: EntryPtr, addr: number, swappiness: number): Gen {
  if (should_skip_vma(mm.mm_mt.load(addr), swappiness)) return;
  const ptl = pmd_lockptr(mm, pmdp);
  if (!(yield* spin_trylock(ptl))) return;
  const v = yield* read_entry(pmdp, false);
  const folio = entry_leaf(v) ? young_lru_folio(v) : null;
  if (folio) {
    yield* set_entry(pmdp, pte_mkold(v)); // pmdp_clear_young_notify
    yield* walk_update_folio(true, folio, lru_gen_from_seq(lrugen().max_seq), pte_dirty(v));
  }
  yield* spin_unlock(ptl);
}

/** The walk_page_range() of walk_mm: every table of the mm, upper levels read locklessly. */
function* walk_tables(mm: MmStruct, table: PageTable, swappiness: number): Gen {
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const v = yield* read_present_lockless(table, i);
    if (!v) continue;
    const p: EntryPtr = { table, idx: i };
    if (table.level === PMD_LEVEL) {
      if (entry_leaf(v)) yield* walk_pmd_leaf(mm, p, table.addrOf(i), swappiness);
      else yield* walk_pte_range(mm, p, swappiness);
    } else if (table.level > PMD_LEVEL && !entry_leaf(v)) {
      yield* walk_tables(mm, entry_table(v), swappiness);
    }
  }
}

/**
 * walk_mm(): age one mm under mmap_read_trylock (the caller might hold it for write: then skip),
 * unless another aging opened generation `seq` + 1 meanwhile.
 */
function* walk_mm(mm: MmStruct, seq: number, swappiness: number): Gen {
  if (seq !== lrugen().max_seq) return;
  if (!(yield* mmap_read_trylock(mm))) return;
  if (mm.pgd) yield* walk_tables(mm, mm.pgd, swappiness);
  yield* mmap_read_unlock(mm);
}

/**
 * inc_min_seq(): retire the oldest generation of a type to make room for a new one: its folios go
 * to the next generation (folio_inc_gen, at the list's old end), then min_seq moves on. false if
 * the batch ran out first (MAX_LRU_BATCH folios): the caller drops the lock and tries again.
 */
function* inc_min_seq(type: number, swappiness: number): Gen<boolean> {
  const g = lrugen();
  const retired = (type === LRU_GEN_FILE && swappiness === SWAPPINESS_ANON_ONLY) || (type === LRU_GEN_ANON && !swappiness);
  if (!retired) {
    // Prevent cold/hot inversion: the oldest generation's folios are not left behind.
    let remaining = MAX_LRU_BATCH;
    for (const folio of [...g.folios[lru_gen_from_seq(g.min_seq[type]!)]![type]!]) {
      const new_gen = yield* folio_inc_gen(folio);
      gen_list_del(folio);
      gen_list_add_tail(folio, new_gen, type);
      if (!--remaining) return false;
    }
  }
  g.min_seq[type]!++;
  yield* lru_gen_seq_changed();
  return true;
}

/** inc_max_seq(): open generation seq + 1 under lru_lock (retiring the oldest if all MAX_NR_GENS are in use). */
function* inc_max_seq(seq: number, swappiness: number): Gen<boolean> {
  const g = lrugen();
  const lock = lru_lock();
  for (;;) {
    if (seq < g.max_seq) return false;
    yield* spin_lock(lock);
    if (seq !== g.max_seq) {
      yield* spin_unlock(lock);
      return false;
    }
    let retry = false;
    for (const type of [LRU_GEN_ANON, LRU_GEN_FILE]) {
      if (get_nr_gens(type) !== MAX_NR_GENS) continue;
      if (yield* inc_min_seq(type, swappiness)) continue;
      retry = true;
      break;
    }
    if (retry) {
      yield* spin_unlock(lock);
      continue;
    }
    g.max_seq++;
    yield* lru_gen_seq_changed();
    yield* spin_unlock(lock);
    return true;
  }
}

/**
 * try_to_inc_max_seq(): the aging. Walk every mm's page tables (iterate_mm_list, reduced to all
 * of them) clearing accessed bits and promoting what was used, then open a new generation.
 */
const try_to_inc_max_seq = traced('try_to_inc_max_seq', function* (seq: number, swappiness: number): Gen<boolean> {
  for (const mm of [...mms().values()]) yield* walk_mm(mm, seq, swappiness);
  return yield* inc_max_seq(seq, swappiness);
});

/**
 * try_to_inc_min_seq() (lru_lock held): let min_seq skip the empty oldest generations of each
 * evictable type, keeping anon and file within reach of each other.
 */
function* try_to_inc_min_seq(swappiness: number): Gen<boolean> {
  const g = lrugen();
  const min_seq = [...g.min_seq];
  let moved = false;
  for (const type of evictable_types(swappiness)) {
    while (min_seq[type]! + MIN_NR_GENS <= g.max_seq && g.folios[lru_gen_from_seq(min_seq[type]!)]![type]!.size === 0) {
      min_seq[type]!++;
      moved = true;
    }
  }
  if (!moved) return false;
  if (swappiness && swappiness <= MAX_SWAPPINESS) {
    const seq = g.max_seq - MIN_NR_GENS;
    if (min_seq[LRU_GEN_ANON]! > seq && min_seq[LRU_GEN_FILE]! < seq) min_seq[LRU_GEN_ANON] = seq;
    else if (min_seq[LRU_GEN_FILE]! > seq && min_seq[LRU_GEN_ANON]! < seq) min_seq[LRU_GEN_FILE] = seq;
  }
  let success = false;
  for (const type of evictable_types(swappiness)) {
    if (min_seq[type]! <= g.min_seq[type]!) continue;
    g.min_seq[type] = min_seq[type]!;
    success = true;
  }
  if (success) yield* lru_gen_seq_changed();
  return success;
}

// --- the eviction --------------------------------------------------------------------------------

/** Move a folio within its type's generations: to the young end (list_move) or the old end (list_move_tail). */
function gen_list_move(folio: Folio, gen: number, tail: boolean): void {
  gen_list_del(folio);
  if (tail) gen_list_add_tail(folio, gen, folio_lru_type(folio));
  else gen_list_add(folio, gen, folio_lru_type(folio));
}

/**
 * sort_folio(): a folio of the oldest generation the eviction will not take. Promoted by the
 * aging (its generation moved on): to that list. Protected: its tier is above tier_idx, or all its
 * refs and PG_workingset are set (lazily promoted, the accesses through file descriptors or GUP it
 * has had): one generation up, the refs spent. Ineligible (PG_lru clear: a pending batch holds
 * it): one generation up. A dirty file folio: up too, waiting for writeback. (No unevictable folio
 * is on a generation here, nor a folio under writeback; one zone, so none is above reclaim_idx.)
 */
function* sort_folio(folio: Folio, tier_idx: number): Gen<boolean> {
  const gen = folio_lru_gen(folio);
  const type = folio_lru_type(folio);
  const refs = folio_lru_refs(folio);
  const workingset = (folio.flags & PG_workingset) !== 0;
  const tier = lru_tier_from_refs(refs, workingset);
  if (gen !== lru_gen_from_seq(lrugen().min_seq[type]!)) {
    gen_list_move(folio, gen, false);
    return true;
  }
  if (tier > tier_idx || refs + (workingset ? 1 : 0) === (1 << LRU_REFS_WIDTH) + 1) {
    gen_list_move(folio, yield* folio_inc_gen(folio), false);
    return true;
  }
  if (!(folio.flags & PG_lru)) {
    gen_list_move(folio, yield* folio_inc_gen(folio), true);
    return true;
  }
  if (type === LRU_GEN_FILE && folio.flags & PG_dirty) {
    gen_list_move(folio, yield* folio_inc_gen(folio), false);
    return true;
  }
  return false;
}

/**
 * isolate_folio(): take a folio off its generation for shrink_folio_list, with a reference; a
 * stale refs count (without PG_referenced) is cleared. kswapd may do I/O, so the swap-constrained
 * case does not arise.
 */
function* isolate_folio(folio: Folio): Gen<boolean> {
  if (!(yield* folio_try_get(folio))) return false;
  if (!(folio.flags & PG_lru)) {
    // Raced with another isolation (folio_test_clear_lru failed).
    yield* folio_put(folio);
    return false;
  }
  if (!(folio.flags & PG_referenced)) yield* set_mask_bits(folio, LRU_REFS_MASK, 0, WHY_ISOLATE);
  lru_isolated().add(folio);
  yield* lru_gen_del_folio(folio, true);
  return true;
}

/**
 * scan_folios(): go through the oldest generation of `type` from its old end, sorting what stays
 * and isolating what goes, up to MIN_LRU_BATCH isolated or skipped. Skipped folios go back to the
 * young end. Returns the pages scanned, 0 if nothing could be isolated.
 */
function* scan_folios(nr_to_scan: number, type: number, tier_idx: number, isolated: Folio[]): Gen<number> {
  const g = lrugen();
  if (get_nr_gens(type) === MIN_NR_GENS) return 0;
  const gen = lru_gen_from_seq(g.min_seq[type]!);
  let remaining = Math.min(nr_to_scan, MAX_LRU_BATCH);
  let scanned = 0;
  let taken = 0;
  const skipped: Folio[] = [];
  let skipped_pages = 0;
  for (const folio of [...g.folios[gen]![type]!]) {
    scanned += folio.nr_pages;
    if (yield* sort_folio(folio, tier_idx)) {
      // sorted onto another list
    } else if (yield* isolate_folio(folio)) {
      isolated.push(folio);
      taken += folio.nr_pages;
    } else {
      skipped.push(folio);
      skipped_pages += folio.nr_pages;
    }
    if (!--remaining || Math.max(taken, skipped_pages) >= MIN_LRU_BATCH) break;
  }
  for (const folio of skipped) gen_list_move(folio, gen, false);
  return taken || !remaining ? scanned : 0;
}

/**
 * isolate_folios(): from the type get_type_to_scan picks, else the other. The PID controller's
 * choices with no refault history (see the header): file first, tier_idx MAX_NR_TIERS - 1.
 */
function* isolate_folios(nr_to_scan: number, swappiness: number, isolated: Folio[]): Gen<number> {
  let type = swappiness <= 1 ? LRU_GEN_FILE : swappiness >= MAX_SWAPPINESS ? LRU_GEN_ANON : LRU_GEN_FILE;
  for (let i = 0; i < evictable_types(swappiness).length; i++) {
    const scanned = yield* scan_folios(nr_to_scan, type, MAX_NR_TIERS - 1, isolated);
    if (scanned) return scanned;
    type = type === LRU_GEN_FILE ? LRU_GEN_ANON : LRU_GEN_FILE;
  }
  return 0;
}

/** What the eviction uses of the classic reclaim in vmscan.ts (the kernel has both in one file). */
export interface SharedReclaim {
  /** shrink_folio_list(): judge and reclaim isolated folios; returns the pages freed and the folios kept. */
  shrink_folio_list(folios: Folio[]): Gen<{ reclaimed: number; kept: Folio[] }>;
  /** move_folios_to_lru(): put isolated folios back where their flags say (lru_lock held). */
  move_folios_to_lru(folios: Folio[]): Gen;
}

/**
 * evict_folios(): isolate from the oldest generation under lru_lock, let min_seq skip emptied
 * generations, judge the folios with shrink_folio_list (folio_check_references' lru_gen branch),
 * and put back what is left -- an activated folio to a young generation, and none to the oldest
 * (a rejected folio that would land there is made active, its refs spent).
 */
function* evict_folios(nr_to_scan: number, swappiness: number, reclaim: SharedReclaim): Gen<{ scanned: number; reclaimed: number }> {
  const g = lrugen();
  const lock = lru_lock();
  const folios: Folio[] = [];
  yield* spin_lock(lock);
  let scanned = yield* isolate_folios(nr_to_scan, swappiness, folios);
  if (yield* try_to_inc_min_seq(swappiness)) scanned++;
  if (evictable_min_seq(swappiness) + MIN_NR_GENS > g.max_seq) scanned = 0;
  yield* spin_unlock(lock);
  if (folios.length === 0) return { scanned, reclaimed: 0 };
  // Freed folios are gone from the list; only the ones kept go back.
  const { reclaimed, kept } = yield* reclaim.shrink_folio_list(folios);
  for (const folio of [...kept].reverse()) {
    if (lru_gen_folio_seq(folio, false) === g.min_seq[folio_lru_type(folio)]) {
      yield* set_mask_bits(folio, LRU_REFS_FLAGS, PG_active, WHY_REJECTED);
    }
  }
  yield* spin_lock(lock);
  yield* reclaim.move_folios_to_lru(kept);
  yield* spin_unlock(lock);
  return { scanned, reclaimed };
}

/**
 * should_run_aging() + get_nr_to_scan(): age if eviction is impossible (fewer than MIN_NR_GENS + 1
 * generations of an evictable type) or about to be (exactly that many); the aging ends the pass
 * (-1). Else every folio of the evictable generations may be scanned (see the header on priority).
 */
function* get_nr_to_scan(swappiness: number): Gen<number> {
  const g = lrugen();
  const min_seq = evictable_min_seq(swappiness);
  if (min_seq + MIN_NR_GENS >= g.max_seq) return (yield* try_to_inc_max_seq(g.max_seq, swappiness)) ? -1 : 0;
  let size = 0;
  for (const type of evictable_types(swappiness)) {
    for (let seq = g.min_seq[type]!; seq <= g.max_seq; seq++) {
      for (const folio of g.folios[lru_gen_from_seq(seq)]![type]!) size += folio.nr_pages;
    }
  }
  return size;
}

/** try_to_shrink_lruvec(): evict until the pass has scanned what it set out to, or ages. */
function* try_to_shrink_lruvec(reclaim: SharedReclaim): Gen<number> {
  let scanned = 0;
  let reclaimed = 0;
  for (;;) {
    const nr_to_scan = yield* get_nr_to_scan(SWAPPINESS);
    if (nr_to_scan <= 0) break;
    const evicted = yield* evict_folios(nr_to_scan, SWAPPINESS, reclaim);
    reclaimed += evicted.reclaimed;
    if (!evicted.scanned) break;
    scanned += evicted.scanned;
    if (scanned >= nr_to_scan) break;
    // should_abort_scan(): no reclaim target or watermarks in the model.
  }
  return reclaimed;
}

/**
 * lru_gen_shrink_node(): kswapd's pass with the multi-gen LRU (shrink_node's lru_gen branch):
 * drain this CPU's batches, take the node's mm_walk (set_mm_walk) and shrink the one lruvec.
 * Returns the pages freed.
 */
export const lru_gen_shrink_node = traced('lru_gen_shrink_node', function* (reclaim: SharedReclaim): Gen<number> {
  yield* lru_add_drain();
  const walkers = mm_walkers();
  walkers.add(sim().running!);
  const reclaimed = yield* try_to_shrink_lruvec(reclaim);
  walkers.delete(sim().running!);
  return reclaimed;
});
