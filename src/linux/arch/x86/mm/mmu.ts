/**
 * The MMU: the hardware page-table walk of a load or store, and the memory it reaches. No kernel
 * code runs and nothing is locked: a target's own accesses (fault.ts user_access) and the kernel's
 * copies through a user address (__copy_from_user_inatomic) see the tables as they are.
 */
import type { Folio } from '../../../mm/folio.js';
import { page_folio } from '../../../mm/folio.js';
import { iomem_page } from '../../../mm/iomem.js';
import { type MmStruct, PAGE_SIZE } from '../../../mm/mm_types.js';
import { entry_table } from '../../../mm/pgtable.js';
import {
  entry_leaf, entry_none, entry_pfn, entry_present, entry_size, pte_protnone, pte_special, pte_write, table_index,
} from '../include/pgtable_types.js';

/** The leaf the walk ended at: its entry, where it sits, and the 4 KiB page it maps at the address. */
export interface MmuLeaf {
  readonly value: number;
  /** The table holding the leaf; null if some level was missing or not present. */
  readonly table: ReturnType<typeof entry_table> | null;
  readonly idx: number;
  readonly pfn: number;
}

const NO_LEAF: MmuLeaf = Object.freeze({ value: 0, table: null, idx: 0, pfn: 0 });

/**
 * The hardware walk: the leaf entry for addr (a PTE, a PMD leaf or a PUD leaf) and the pfn of the
 * 4 KiB page it maps there; table null if any level is missing or not present.
 */
export function mmu_walk(mm: MmStruct, addr: number): MmuLeaf {
  let table = mm.pgd;
  for (let level = 4; level > 1; level--) {
    const idx = table_index(table.level, addr);
    const v = table.entries[idx]!;
    if (entry_none(v) || !entry_present(v)) return NO_LEAF;
    if (entry_leaf(v)) {
      // A PUD leaf (1 GiB, device-dax) or a PMD leaf (2 MiB): the page within the mapping.
      const leaf_size = entry_size(table.level);
      return { value: v, table, idx, pfn: entry_pfn(v) + Math.floor((addr % leaf_size) / PAGE_SIZE) };
    }
    table = entry_table(v);
  }
  const idx = table_index(table.level, addr);
  const value = table.entries[idx]!;
  return { value, table, idx, pfn: entry_pfn(value) };
}

/** Does the leaf let this access through without a fault: present, not PROT_NONE, writable for a store? */
export function mmu_permits(leaf: MmuLeaf, write: boolean): boolean {
  return leaf.table !== null && entry_present(leaf.value) && !pte_protnone(leaf.value) && (!write || pte_write(leaf.value));
}

/**
 * The memory a permitted leaf maps at an address: a folio (and the offset in it), or device memory
 * -- a special PTE of remap_pfn_range() over I/O memory, which has no struct page and so no folio.
 * (The zero page's PTEs are special too; it is a folio here.)
 */
export type MmuPage =
  | { readonly folio: Folio; readonly device: null; readonly offset: number }
  | { readonly folio: null; readonly device: Uint8Array; readonly offset: number };

export function mmu_page(leaf: MmuLeaf, addr: number): MmuPage {
  const device = pte_special(leaf.value) ? iomem_page(leaf.pfn) : null;
  if (device !== null) return { folio: null, device, offset: addr % PAGE_SIZE };
  const folio = page_folio(leaf.pfn);
  const offset = (leaf.pfn - folio.pfn) * PAGE_SIZE + (addr % PAGE_SIZE);
  // The replay model places the bytes at addr % folio size (model.ts folioOffset): large folios
  // are mapped naturally aligned here (THP at a 2 MiB-aligned address, device-dax at 1 GiB; no mremap).
  if (offset !== addr % folio.size()) throw new Error(`folio ${folio.id} mapped unaligned at ${addr.toString(16)}`);
  return { folio, device: null, offset };
}

/** `len` bytes of the page from its offset on, for copying from: maybe a view, never to be written through. */
export function mmu_load(page: MmuPage, len: number): Uint8Array {
  if (page.device !== null) return page.device.subarray(page.offset, page.offset + len);
  return page.folio.read(page.offset, len);
}

/** Store `bytes` into the page at its offset. */
export function mmu_store(page: MmuPage, bytes: Uint8Array): void {
  if (page.device !== null) page.device.set(bytes, page.offset);
  else page.folio.write(bytes, page.offset);
}
