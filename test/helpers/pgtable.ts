import { entry_pfn } from '../../src/linux/arch/x86/include/pgtable_types.js';
import type { MmStruct } from '../../src/linux/mm/mm_types.js';
import { type EntryPtr, entry_ptr, tables } from '../../src/linux/mm/pgtable.js';
import { pmd_value } from '../../src/workloads/thp.js';

/** The PTE mapping `addr` in `mm`, read the way the MMU would (no event); call it inside a run. */
export function pte_at(mm: MmStruct, addr: number): number {
  const pte = tables().get(entry_pfn(pmd_value(mm, addr)))!;
  return pte.entries[entry_ptr(pte, addr).idx]!;
}

/** The PMD slot mapping `addr` in `mm` (its PGD and PUD entries present); call it inside a run. */
export function pmd_slot(mm: MmStruct, addr: number): EntryPtr {
  const below = (v: number) => tables().get(entry_pfn(v))!;
  const pud = below(mm.pgd.entries[entry_ptr(mm.pgd, addr).idx]!);
  const pmd = below(pud.entries[entry_ptr(pud, addr).idx]!);
  return entry_ptr(pmd, addr);
}
