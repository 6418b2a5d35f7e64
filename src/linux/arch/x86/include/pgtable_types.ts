/**
 * x86-64 page-table entries (arch/x86/include/asm/pgtable_types.h): a value is pfn << 12 | flag bits,
 * so the trace shows entries as a kernel developer reads them (0x...067 = present, rw, user,
 * accessed, dirty). Four levels, P4D folded (no LA57). NX (bit 63) is not modelled: JS numbers
 * carry 53 bits exactly.
 *
 * The entry layout is part of the event vocabulary (an `entry` field is such a value), so the bits,
 * the page size and the level numbers are defined there once; this header gives them their kernel
 * names.
 */
import { entryBits, entryPfn, entryPresent, entryYoung, PAGE_SHIFT, PAGE_SIZE, PteBits, PtLevel } from '../../../../trace/vocab/index.js';

export { PAGE_SHIFT, PAGE_SIZE };

export const _PAGE_PRESENT = PteBits.bits._PAGE_PRESENT;
export const _PAGE_RW = PteBits.bits._PAGE_RW;
export const _PAGE_USER = PteBits.bits._PAGE_USER;
export const _PAGE_ACCESSED = PteBits.bits._PAGE_ACCESSED;
export const _PAGE_DIRTY = PteBits.bits._PAGE_DIRTY;
/** PSE: a huge leaf at PMD or PUD level. */
export const _PAGE_PSE = PteBits.bits._PAGE_PSE;
/** PROTNONE reuses the global bit on x86. */
export const _PAGE_PROTNONE = PteBits.bits._PAGE_PROTNONE;
/** _PAGE_SPECIAL (software bit 9): no struct page refcounting (zero page, pfnmap). */
export const _PAGE_SPECIAL = PteBits.bits._PAGE_SPECIAL;

// The levels of a table (P4D folded), as events carry them.
export const PTE_LEVEL = PtLevel.codes.pte;
export const PMD_LEVEL = PtLevel.codes.pmd;
export const PUD_LEVEL = PtLevel.codes.pud;
export const PGD_LEVEL = PtLevel.codes.pgd;

export const PTRS_PER_TABLE = 512;
export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;
export const PGDIR_SHIFT = 39;
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const PGDIR_SIZE = 2 ** PGDIR_SHIFT;
/** User address space: 47 bits (TASK_SIZE_MAX without LA57). */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;

const SHIFT_OF_LEVEL = [0, PAGE_SHIFT, PMD_SHIFT, PUD_SHIFT, PGDIR_SHIFT];

/**
 * Per level, the bytes one entry maps and its inverse. The walks index a table on every step, so the
 * powers are computed once; dividing by a power of two and multiplying by its inverse are both exact.
 */
const SIZE_OF_LEVEL = Float64Array.from(SHIFT_OF_LEVEL, (shift) => 2 ** shift);
const INVERSE_SIZE_OF_LEVEL = Float64Array.from(SHIFT_OF_LEVEL, (shift) => 2 ** -shift);

/**
 * Index of addr in a table of `level` (pgd_index, pud_index, pmd_index, pte_index); NaN for a level
 * that is none or an address that is none (negative, NaN). `>>> 0` truncates the (non-negative) quotient and keeps its low 32 bits, of which
 * the table's 512 entries take the low 9: the same as Math.floor and `% PTRS_PER_TABLE`, without a
 * floating-point remainder (17 against 7 ns in a loop; every walk step takes an index).
 */
export function table_index(level: number, addr: number): number {
  const inverse = INVERSE_SIZE_OF_LEVEL[level];
  // a nonsense address (negative, NaN) indexes nothing, as the division's NaN or negative did
  return inverse === undefined || !(addr >= 0) ? NaN : ((addr * inverse) >>> 0) & (PTRS_PER_TABLE - 1);
}

/** Bytes one entry of a table of `level` maps. */
export function entry_size(level: number): number {
  return SIZE_OF_LEVEL[level] ?? NaN;
}

export function mk_entry(pfn: number, flags: number): number {
  return pfn * PAGE_SIZE + flags;
}

/** The pfn an entry points to (pte_pfn, pmd_pfn). */
export const entry_pfn = entryPfn;

/** The flag bits of an entry (pte_flags). */
export const entry_flags = entryBits;

/**
 * pte_mkyoung / pte_mkwrite / pte_mkold-style flag changes. Every flag here sits in the low 12 bits
 * (NX is not modelled), and an entry exceeds 32 bits once its pfn passes 2^20, where `|` and `&` on
 * the whole value would truncate it: so only the flag bits are combined, arithmetically put back.
 */
export function entry_set_bits(v: number, bits: number): number {
  return v - entry_flags(v) + (entry_flags(v) | bits);
}

export function entry_clear_bits(v: number, bits: number): number {
  return v - entry_flags(v) + (entry_flags(v) & ~bits);
}

export function entry_none(v: number): boolean {
  return v === 0;
}

/** pte_present(): present, or PROTNONE. */
export const entry_present = entryPresent;

/**
 * pmd_trans_huge()-like test that also covers an invalidated huge PMD (pmdp_invalidate clears
 * _PAGE_PRESENT but keeps _PAGE_PSE while a split is in progress): a huge entry, present or not.
 */
export function entry_huge(v: number): boolean {
  return v !== 0 && (v & _PAGE_PSE) !== 0;
}

/** HPAGE_PMD_MASK as an operation: the PMD-aligned base of addr. */
export function pmd_addr(addr: number): number {
  return Math.floor(addr / PMD_SIZE) * PMD_SIZE;
}

/** pmd_leaf / pud_leaf: a present huge mapping rather than a table pointer. */
export function entry_leaf(v: number): boolean {
  return entry_present(v) && (v & _PAGE_PSE) !== 0;
}

export function pte_write(v: number): boolean {
  return (v & _PAGE_RW) !== 0;
}

export function pte_dirty(v: number): boolean {
  return (v & _PAGE_DIRTY) !== 0;
}

export const pte_young = entryYoung;

/** pte_mkold() / pmd_mkold(): the accessed bit cleared (what the *_clear_young helpers store). */
export function pte_mkold(v: number): number {
  return entry_clear_bits(v, _PAGE_ACCESSED);
}

export function pte_special(v: number): boolean {
  return (v & _PAGE_SPECIAL) !== 0;
}

export function pte_protnone(v: number): boolean {
  return (v & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE;
}

/** Flags for a table pointer entry (_PAGE_TABLE). */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

// --- Non-present entries: swap and migration entries (include/linux/swapops.h, kernel-spec §3.1) ---
//
// A swap entry is a non-present, non-none entry carrying a swap type and an offset. x86-64 today
// stores the type in the top 5 bits and the offset inverted below it (the L1TF mitigation); JS
// numbers hold 53 bits exactly, so this model uses a simplified layout (the shape of the pre-L1TF
// x86-64 one, SWP_TYPE_FIRST_BIT = 1, with the offset moved up to bit 12 so that entry_pfn() of a
// migration entry is the pfn it carries and a trace shows it as a kernel developer reads a PTE):
//
//   bit 0 (_PAGE_PRESENT) 0 | bits 1-5 swap type | bit 7 (_PAGE_PSE) 0 | bit 8 (_PAGE_PROTNONE) 0 |
//   bit 9 swap exclusive | bit 10 migration young | bit 11 migration dirty |
//   bits 12.. offset (a migration entry: the pfn; a swap entry: the slot in the swap device)
//
// The kernel keeps a migration entry's young/dirty bits in the offset (SWP_MIG_YOUNG_BIT,
// SWP_MIG_DIRTY_BIT, migration_entry_supports_ad()); here they are the two software bits 10-11.
// x86 keeps _PAGE_SWP_EXCLUSIVE (the swapped-out page was PageAnonExclusive) in bit 3, _PAGE_PWT,
// which this layout gives to the type: here it is bit 9. Migration entries (try_to_migrate) and
// swap entries of swap type 0 (try_to_unmap of an anonymous folio in the swap cache) are written.

/** MAX_SWAPFILES_SHIFT: 5 bits of swap type. */
export const MAX_SWAPFILES_SHIFT = 5;
const SWP_TYPE_FIRST_BIT = 1;
const SWP_TYPE_MASK = ((1 << MAX_SWAPFILES_SHIFT) - 1) << SWP_TYPE_FIRST_BIT;
/**
 * The special swap types (include/linux/swap.h) without CONFIG_DEVICE_PRIVATE: MAX_SWAPFILES = 32 -
 * 3 migration - 1 hwpoison - 1 pte marker = 27 swap files, then SWP_HWPOISON, the three migration
 * types and SWP_PTE_MARKER.
 */
export const MAX_SWAPFILES = 27;
export const SWP_MIGRATION_READ = MAX_SWAPFILES + 1;
export const SWP_MIGRATION_READ_EXCLUSIVE = MAX_SWAPFILES + 2;
export const SWP_MIGRATION_WRITE = MAX_SWAPFILES + 3;
/** Migration entry young / dirty (software bits 10 and 11 here). */
export const _PAGE_SWP_MIG_YOUNG = 0x400;
export const _PAGE_SWP_MIG_DIRTY = 0x800;

/** is_swap_pte(): not none and not present (protnone counts as present on x86). */
export function is_swap_pte(v: number): boolean {
  return !entry_none(v) && !entry_present(v);
}

/** __swp_entry() + swp_entry_to_pte(): a swap-type entry with this type and offset. */
export function swp_entry_to_pte(type: number, offset: number): number {
  return offset * PAGE_SIZE + type * 2 ** SWP_TYPE_FIRST_BIT;
}

/** swp_type(pte_to_swp_entry(pte)). */
export function swp_type(v: number): number {
  return (entry_flags(v) & SWP_TYPE_MASK) >> SWP_TYPE_FIRST_BIT;
}

/** swp_offset(pte_to_swp_entry(pte)). */
export function swp_offset(v: number): number {
  return entry_pfn(v);
}

/** is_migration_entry(pte_to_swp_entry(pte)): a non-present entry of one of the migration types. */
export function is_migration_entry(v: number): boolean {
  if (!is_swap_pte(v) || (v & _PAGE_PSE) !== 0) return false;
  const type = swp_type(v);
  return type === SWP_MIGRATION_READ || type === SWP_MIGRATION_READ_EXCLUSIVE || type === SWP_MIGRATION_WRITE;
}

/** is_writable_migration_entry(). */
export function is_writable_migration_entry(v: number): boolean {
  return is_migration_entry(v) && swp_type(v) === SWP_MIGRATION_WRITE;
}

/** is_readable_exclusive_migration_entry(). */
export function is_readable_exclusive_migration_entry(v: number): boolean {
  return is_migration_entry(v) && swp_type(v) === SWP_MIGRATION_READ_EXCLUSIVE;
}

/**
 * make_{readable,readable_exclusive,writable}_migration_entry(pfn), with the young/dirty bits
 * (make_migration_entry_young / _dirty): the entry try_to_migrate() installs for a PTE.
 */
export function make_migration_entry(pfn: number, type: number, young: boolean, dirty: boolean): number {
  return swp_entry_to_pte(type, pfn) + (young ? _PAGE_SWP_MIG_YOUNG : 0) + (dirty ? _PAGE_SWP_MIG_DIRTY : 0);
}

/** is_migration_entry_young() / is_migration_entry_dirty(). */
export function is_migration_entry_young(v: number): boolean {
  return (v & _PAGE_SWP_MIG_YOUNG) !== 0;
}

export function is_migration_entry_dirty(v: number): boolean {
  return (v & _PAGE_SWP_MIG_DIRTY) !== 0;
}

/**
 * pfn_swap_entry_to_page(pte_to_swp_entry(pte)): the page (its pfn) a migration entry stands for
 * -- a page of the folio being migrated away from, which stays allocated (and locked) until the
 * migration is done.
 */
export function pfn_swap_entry_to_page(v: number): number {
  return swp_offset(v);
}

/** _PAGE_SWP_EXCLUSIVE (bit 9 here, see the layout above): the swapped-out page was exclusive. */
export const _PAGE_SWP_EXCLUSIVE = 0x200;

/**
 * swp_entry_to_pte(swp_entry(type, offset)), with pte_swp_mkexclusive() when `exclusive`: what
 * try_to_unmap_one() installs for a page of an anonymous folio in the swap cache.
 */
export function make_swap_pte(type: number, offset: number, exclusive: boolean): number {
  return swp_entry_to_pte(type, offset) + (exclusive ? _PAGE_SWP_EXCLUSIVE : 0);
}

/** non_swap_entry()'s negation: a swap entry of a real swap device (not migration, hwpoison, marker). */
export function is_real_swap_pte(v: number): boolean {
  return is_swap_pte(v) && (v & _PAGE_PSE) === 0 && swp_type(v) < MAX_SWAPFILES;
}

/** pte_swp_exclusive(). */
export function pte_swp_exclusive(v: number): boolean {
  return (v & _PAGE_SWP_EXCLUSIVE) !== 0;
}
