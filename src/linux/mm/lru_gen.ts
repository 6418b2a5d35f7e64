/**
 * The multi-gen LRU (MGLRU, CONFIG_LRU_GEN; kernel().config.lru_gen_enabled), its generations and
 * the counters in folio->flags. The kernel keeps this part in include/linux/mm_inline.h and
 * include/linux/mmzone.h (lru_gen_add_folio / lru_gen_del_folio, lru_gen_folio_seq, the tiers), in
 * mm/swap.c (lru_gen_inc_refs) and in mm/vmscan.c (lru_gen_set_refs, folio_update_gen,
 * folio_inc_gen, inc_min_seq); the aging walk and the eviction are in lru_gen_vmscan.ts.
 *
 * Generations: max_seq (the youngest) and min_seq[anon|file] (the oldest of each type) only grow;
 * a folio on lrugen->folios[gen][type] has gen + 1 in its LRU_GEN field, gen = seq % MAX_NR_GENS.
 * A folio accessed through page tables is promoted by the aging (folio_update_gen: the young bit
 * seen twice puts it in the youngest generation); one accessed through a file descriptor or GUP
 * (folio_mark_accessed) only counts refs (lru_gen_inc_refs), and the eviction decides what the
 * count is worth (sort_folio). Moving between tiers is flag arithmetic; moving between lists is done
 * lazily, by the eviction.
 *
 * Reduced: one node, one memcg, one zone (lists per [gen][type]); no nr_pages counters (sizes are
 * read off the lists, exact, where the kernel's are eventually consistent); no PG_reclaim and no
 * swap cache (lru_gen_folio_seq's "cold but can't be evicted" case is every anon folio).
 */
import { emit, LruList, PageFlags } from '../../trace/vocab/index.js';
import { name, type Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { current_task } from '../kernel/sched.js';
import {
  type Folio, folio_is_file_lru, LRU_GEN_ANON_LIST, LRU_GEN_FILE_LIST, LRU_NONE, PG_active, PG_lru, PG_referenced,
  PG_unevictable, PG_workingset,
} from './mm_types.js';

/** The minimum number of generations: a fresh fault's young bit is seen twice (second chance). */
export const MIN_NR_GENS = 2;
export const MAX_NR_GENS = 4;
/** Tiers of a generation: a folio accessed N times through file descriptors is in tier order_base_2(N). */
export const MAX_NR_TIERS = 4;
export const LRU_REFS_WIDTH = MAX_NR_TIERS - 2;
/** BITS_PER_LONG: the eviction's batch. */
export const MIN_LRU_BATCH = 64;
export const MAX_LRU_BATCH = MIN_LRU_BATCH * 64;

export const LRU_GEN_ANON = 0;
export const LRU_GEN_FILE = 1;

export const LRU_GEN_MASK = PageFlags.fields.LRU_GEN!;
export const LRU_REFS_MASK = PageFlags.fields.LRU_REFS!;
const LRU_GEN_PGOFF = Math.log2(LRU_GEN_MASK & -LRU_GEN_MASK);
const LRU_REFS_PGOFF = Math.log2(LRU_REFS_MASK & -LRU_REFS_MASK);
/** What a refs count consists of: the extra accesses and the first one, PG_referenced. */
export const LRU_REFS_FLAGS = LRU_REFS_MASK | PG_referenced;

/** struct lru_gen_folio, reduced to the sequence numbers and the lists. */
export interface LruGen {
  max_seq: number;
  /** min_seq[LRU_GEN_ANON], min_seq[LRU_GEN_FILE]. */
  readonly min_seq: [number, number];
  /**
   * folios[gen][type], oldest first: the kernel's list tail, where the eviction takes folios from
   * (lru_to_folio), is the first entry here; list_add puts a folio at the other end.
   */
  readonly folios: Set<Folio>[][];
}

/** The node's lrugen; lru_gen_init_lruvec(): max_seq MIN_NR_GENS + 1, min_seq zero. */
export function lrugen(): LruGen {
  return kernel().subsystem('lru_gen', () => ({
    max_seq: MIN_NR_GENS + 1,
    min_seq: [0, 0] as [number, number],
    folios: Array.from({ length: MAX_NR_GENS }, () => [new Set<Folio>(), new Set<Folio>()]),
  }));
}

export function lru_gen_enabled(): boolean {
  return kernel().config.lru_gen_enabled;
}

/** lru_gen_in_fault(): the current task is in a page fault of a VMA with recency. */
export function lru_gen_in_fault(): boolean {
  return current_task().in_lru_fault;
}

export function lru_gen_from_seq(seq: number): number {
  return seq % MAX_NR_GENS;
}

/** The LRU_GEN_* type of a folio (folio_is_file_lru). */
export function folio_lru_type(folio: Folio): number {
  return folio_is_file_lru(folio) ? LRU_GEN_FILE : LRU_GEN_ANON;
}

function order_base_2(n: number): number {
  return n > 1 ? Math.ceil(Math.log2(n)) : 0;
}

/** lru_tier_from_refs(): PG_workingset is the last tier. */
export function lru_tier_from_refs(refs: number, workingset: boolean): number {
  return workingset ? MAX_NR_TIERS - 1 : order_base_2(refs);
}

/** folio_lru_refs(): accesses through file descriptors, PG_referenced included (0 without it). */
export function folio_lru_refs(folio: Folio): number {
  if (!(folio.flags & PG_referenced)) return 0;
  return ((folio.flags & LRU_REFS_MASK) >>> LRU_REFS_PGOFF) + 1;
}

/** folio_lru_gen(): the generation whose list the folio is on, -1 if none. */
export function folio_lru_gen(folio: Folio): number {
  return ((folio.flags & LRU_GEN_MASK) >>> LRU_GEN_PGOFF) - 1;
}

function gen_flags(gen: number): number {
  return (gen + 1) << LRU_GEN_PGOFF;
}

/** lru_gen_is_active(): the two youngest generations count as active (/proc/vmstat's view). */
export function lru_gen_is_active(gen: number): boolean {
  const { max_seq } = lrugen();
  return gen === lru_gen_from_seq(max_seq) || gen === lru_gen_from_seq(max_seq - 1);
}

/** get_nr_gens(): how many generations the type has. */
export function get_nr_gens(type: number): number {
  const g = lrugen();
  return g.max_seq - g.min_seq[type]! + 1;
}

/** set_mask_bits() on folio->flags, with a folio_flags event if anything changed. */
export function* set_mask_bits(folio: Folio, mask: number, bits: number, why: Name): Gen {
  const old = folio.flags;
  const now = (old & ~mask) | bits;
  if (now === old) return;
  folio.flags = now;
  yield emit.folio_flags({ folio: folio.id, old, new: now, why: why.id });
}

/** The lru_gen_seq event: the sequence numbers after a change. */
export function* lru_gen_seq_changed(): Gen {
  const g = lrugen();
  yield emit.lru_gen_seq({ max_seq: g.max_seq, min_seq_anon: g.min_seq[LRU_GEN_ANON], min_seq_file: g.min_seq[LRU_GEN_FILE] });
}

// --- the lists (mm_inline.h) ---------------------------------------------------------------------

/** list_add(): at the young end of the generation's list. */
export function gen_list_add(folio: Folio, gen: number, type: number): void {
  lrugen().folios[gen]![type]!.add(folio);
}

/** list_add_tail(): at the old end, first in line for the eviction. */
export function gen_list_add_tail(folio: Folio, gen: number, type: number): void {
  const lists = lrugen().folios[gen]!;
  lists[type] = new Set([folio, ...lists[type]!]);
}

/** list_del() from whichever generation's list of its type holds it (lists are sorted lazily). */
export function gen_list_del(folio: Folio): void {
  const type = folio_lru_type(folio);
  for (const lists of lrugen().folios) if (lists[type]!.delete(folio)) return;
}

/**
 * lru_gen_folio_seq(): the generation a folio joins. Accessed through page tables (PG_active while
 * isolated, set by a fault or by reclaim's activation): one of the two youngest, the youngest with
 * PG_workingset; cold but not immediately evictable (an anon folio not in the swap cache): the
 * second oldest; else the oldest (reclaiming: the oldest, even with PG_workingset).
 */
export function lru_gen_folio_seq(folio: Folio, reclaiming: boolean): number {
  const g = lrugen();
  const workingset = (folio.flags & PG_workingset) !== 0 ? 1 : 0;
  let gen: number;
  if (folio.flags & PG_active) gen = MIN_NR_GENS - workingset;
  else if (reclaiming) gen = MAX_NR_GENS;
  else if (!folio_is_file_lru(folio)) gen = MIN_NR_GENS; // !folio_test_swapcache: no swap cache here
  else gen = MAX_NR_GENS - workingset;
  return Math.max(g.max_seq - gen + 1, g.min_seq[folio_lru_type(folio)]!);
}

const WHY_ADD = name('lru_gen_add_folio');
const WHY_DEL = name('lru_gen_del_folio');

function gen_list_code(folio: Folio): number {
  return folio_is_file_lru(folio) ? LRU_GEN_FILE_LIST : LRU_GEN_ANON_LIST;
}

/**
 * lru_gen_add_folio() (lru_lock held): on its generation's list with PG_active cleared (the list
 * says what PG_active said), PG_lru set (lru_add's folio_set_lru). An unevictable folio is left
 * alone: the kernel's returns false for it, which sends it to the classic unevictable list, and
 * lru_move_to_flagged_list() sends it there without asking.
 */
export function* lru_gen_add_folio(folio: Folio, reclaiming: boolean): Gen {
  if (folio.flags & PG_unevictable) return;
  const type = folio_lru_type(folio);
  const gen = lru_gen_from_seq(lru_gen_folio_seq(folio, reclaiming));
  yield* set_mask_bits(folio, LRU_GEN_MASK | PG_active, gen_flags(gen), WHY_ADD);
  if (reclaiming) gen_list_add_tail(folio, gen, type);
  else gen_list_add(folio, gen, type);
  const to = gen_list_code(folio);
  folio.lru = to;
  folio.flags |= PG_lru;
  yield emit.lru_move({ folio: folio.id, from: 'none', to: LruList.name(to) });
}

/**
 * lru_gen_del_folio() (lru_lock held): off its generation's list, PG_lru cleared with it (the
 * caller's folio_test_clear_lru). Not reclaiming, a folio of an active generation gets PG_active
 * for whoever puts it back (folio_migrate_flags, the activation's re-add).
 */
export function* lru_gen_del_folio(folio: Folio, reclaiming: boolean): Gen {
  const gen = folio_lru_gen(folio);
  gen_list_del(folio);
  const from = folio.lru;
  folio.lru = LRU_NONE;
  folio.flags &= ~(PG_lru | PG_active);
  yield emit.lru_move({ folio: folio.id, from: LruList.name(from), to: 'none' });
  const active = !reclaiming && gen >= 0 && lru_gen_is_active(gen) ? PG_active : 0;
  yield* set_mask_bits(folio, LRU_GEN_MASK, active, WHY_DEL);
}

// --- refs and generations in folio->flags (swap.c, vmscan.c) --------------------------------------

/**
 * lru_gen_inc_refs() (mm/swap.c), folio_mark_accessed() with the multi-gen LRU: the first access
 * sets PG_referenced (and clears a stale count), later ones count up in LRU_REFS, and once that is
 * full PG_workingset is set. No list moves. The caller emits the folio_mark_accessed event.
 */
export function lru_gen_inc_refs(folio: Folio): void {
  if (folio.flags & PG_unevictable) return;
  if (!(folio.flags & PG_referenced)) {
    folio.flags = (folio.flags & ~LRU_REFS_MASK) | PG_referenced;
    return;
  }
  if ((folio.flags & LRU_REFS_MASK) === LRU_REFS_MASK) {
    folio.flags |= PG_workingset;
    return;
  }
  folio.flags += 1 << LRU_REFS_PGOFF;
}

const WHY_SET_REFS = name('lru_gen_set_refs');
const WHY_UPDATE_GEN = name('folio_update_gen');
const WHY_INC_GEN = name('folio_inc_gen');

/**
 * lru_gen_set_refs() (mm/vmscan.c): the rmap walk found a young PTE. The first time, PG_referenced;
 * after that PG_workingset (refs cleared) and true: promote. Page-table accesses are counted in
 * these two flags only, never in LRU_REFS.
 */
export function* lru_gen_set_refs(folio: Folio): Gen<boolean> {
  if (!(folio.flags & (PG_referenced | PG_workingset))) {
    yield* set_mask_bits(folio, LRU_REFS_MASK, PG_referenced, WHY_SET_REFS);
    return false;
  }
  yield* set_mask_bits(folio, LRU_REFS_FLAGS, PG_workingset, WHY_SET_REFS);
  return true;
}

/**
 * folio_update_gen() (mm/vmscan.c), the aging's promotion of a folio with a young PTE: the first
 * time only PG_referenced; after that into generation `gen` with PG_workingset. Returns the old
 * generation, or -1 if it did not move (or is isolated). The folio stays on its old list until the
 * eviction sorts it.
 */
export function* folio_update_gen(folio: Folio, gen: number): Gen<number> {
  if (!(folio.flags & (PG_referenced | PG_workingset))) {
    yield* set_mask_bits(folio, LRU_REFS_MASK, PG_referenced, WHY_UPDATE_GEN);
    return -1;
  }
  if (!(folio.flags & LRU_GEN_MASK)) return -1;
  const old = folio_lru_gen(folio);
  yield* set_mask_bits(folio, LRU_GEN_MASK | LRU_REFS_FLAGS, gen_flags(gen) | PG_workingset, WHY_UPDATE_GEN);
  return old;
}

/**
 * folio_inc_gen() (mm/vmscan.c): move a folio of the oldest generation to the next one, its refs
 * spent (LRU_REFS_FLAGS cleared). A folio the aging promoted meanwhile keeps its generation.
 * Returns the generation it is in now; the caller moves it to that list. (`reclaiming` would set
 * PG_reclaim for folio_end_writeback(); the model has no writeback.)
 */
export function* folio_inc_gen(folio: Folio): Gen<number> {
  const old_gen = lru_gen_from_seq(lrugen().min_seq[folio_lru_type(folio)]!);
  const gen = folio_lru_gen(folio);
  if (gen >= 0 && gen !== old_gen) return gen;
  const new_gen = (old_gen + 1) % MAX_NR_GENS;
  yield* set_mask_bits(folio, LRU_GEN_MASK | LRU_REFS_FLAGS, gen_flags(new_gen), WHY_INC_GEN);
  return new_gen;
}
