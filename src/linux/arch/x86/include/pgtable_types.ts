/**
 * x86-64 page-table entries (arch/x86/include/asm/pgtable_types.h): a value is pfn << 12 | flag bits,
 * so the trace shows entries as a kernel developer reads them (0x...067 = present, rw, user,
 * accessed, dirty). Four levels, P4D folded (no LA57). NX (bit 63) is not modelled: JS numbers
 * carry 53 bits exactly.
 */
export const _PAGE_PRESENT = 0x001;
export const _PAGE_RW = 0x002;
export const _PAGE_USER = 0x004;
export const _PAGE_ACCESSED = 0x020;
export const _PAGE_DIRTY = 0x040;
/** PSE: a huge leaf at PMD or PUD level. */
export const _PAGE_PSE = 0x080;
/** PROTNONE reuses the global bit on x86. */
export const _PAGE_PROTNONE = 0x100;
/** _PAGE_SPECIAL (software bit 9): no struct page refcounting (zero page, pfnmap). */
export const _PAGE_SPECIAL = 0x200;

export const PTE_LEVEL = 1;
export const PMD_LEVEL = 2;
export const PUD_LEVEL = 3;
export const PGD_LEVEL = 4;

export const PTRS_PER_TABLE = 512;
export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;
export const PGDIR_SHIFT = 39;
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const PGDIR_SIZE = 2 ** PGDIR_SHIFT;
/** User address space: 47 bits (TASK_SIZE_MAX without LA57). */
export const TASK_SIZE = 2 ** 47 - 4096;

const SHIFT_OF_LEVEL = [0, 12, PMD_SHIFT, PUD_SHIFT, PGDIR_SHIFT];

/** Index of addr in a table of `level` (pgd_index, pud_index, pmd_index, pte_index). */
export function table_index(level: number, addr: number): number {
  return Math.floor(addr / 2 ** SHIFT_OF_LEVEL[level]!) % PTRS_PER_TABLE;
}

/** Bytes one entry of a table of `level` maps. */
export function entry_size(level: number): number {
  return 2 ** SHIFT_OF_LEVEL[level]!;
}

export function mk_entry(pfn: number, flags: number): number {
  return pfn * 4096 + flags;
}

export function entry_pfn(v: number): number {
  return Math.floor(v / 4096);
}

export function entry_flags(v: number): number {
  return v % 4096;
}

export function entry_none(v: number): boolean {
  return v === 0;
}

export function entry_present(v: number): boolean {
  return (v & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
}

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

export function pte_young(v: number): boolean {
  return (v & _PAGE_ACCESSED) !== 0;
}

export function pte_special(v: number): boolean {
  return (v & _PAGE_SPECIAL) !== 0;
}

export function pte_protnone(v: number): boolean {
  return (v & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE;
}

/** Flags for a table pointer entry (_PAGE_TABLE). */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
