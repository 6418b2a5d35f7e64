/**
 * mm/internal.h and the small helpers of include/linux/mm.h that the fault and walk paths share:
 * struct vm_fault, vmf_anon_prepare(), vm_normal_page() and vm_normal_page_pmd(). A header:
 * memory.ts, huge_memory.ts, gup.ts, pagewalk.ts and khugepaged.ts import these from here instead
 * of from one another.
 */
import { type Name, no_event } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { entry_pfn, pte_special } from '../arch/x86/include/pgtable_types.js';
import { is_huge_zero_pfn, is_zero_pfn } from './folio.js';
import { mmap_read_trylock, mmap_read_unlock, vma_end_read } from './mmap_lock.js';
import { FAULT_FLAG_VMA_LOCK, VM_FAULT_RETRY, type VmAreaStruct } from './mm_types.js';
import type { EntryPtr } from './pgtable.js';

/** struct vm_fault, reduced; `how` names the path that handled it (the fault event's `how`). */
export interface VmFault {
  readonly vma: VmAreaStruct;
  readonly address: number;
  readonly flags: number;
  /** The PUD slot of the address (pud_alloc'ed), and the PMD slot below it once there is one. */
  pudp: EntryPtr;
  pmdp: EntryPtr;
  how: Name;
}

/**
 * release_fault_lock() (include/linux/mm.h): give up the lock the fault runs under -- the VMA read
 * lock under FAULT_FLAG_VMA_LOCK, else mmap_lock for read -- before returning VM_FAULT_RETRY.
 */
export function* release_fault_lock(vmf: VmFault): Gen {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) yield* vma_end_read(vmf.vma);
  else yield* mmap_read_unlock(vmf.vma.vm_mm);
}

/**
 * vmf_anon_prepare(): a write fault needs the VMA's anon_vma. Under the VMA lock that needs
 * mmap_lock, which may only be tried: contention means VM_FAULT_RETRY (retry under mmap_lock).
 */
export function vmf_anon_prepare(vmf: VmFault): Gen<number> {
  if (vmf.vma.anon_vma) return no_event(0);
  return prepare_missing_anon_vma(vmf);
}

/** The rest of vmf_anon_prepare(), for a VMA without an anon_vma yet. */
function* prepare_missing_anon_vma(vmf: VmFault): Gen<number> {
  const vma = vmf.vma;
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) {
    if (!(yield* mmap_read_trylock(vma.vm_mm))) {
      // A RETRY under the VMA lock releases it (the caller must not).
      yield* vma_end_read(vma);
      return VM_FAULT_RETRY;
    }
    vma.anon_vma = true;
    yield* mmap_read_unlock(vma.vm_mm);
    return 0;
  }
  vma.anon_vma = true;
  return 0;
}

/** vm_normal_page(): the page a PTE maps, or null for special mappings (zero page, pfnmap). */
export function vm_normal_page(_vma: VmAreaStruct, pte: number): number | null {
  if (pte_special(pte)) return null;
  const pfn = entry_pfn(pte);
  if (is_zero_pfn(pfn)) return null;
  return pfn;
}

/**
 * vm_normal_page_pud(): the page a PUD leaf maps at its first address. PUD leaves here are
 * device-dax mappings of refcounted folios (vmf_insert_folio_pud), never special: there is no
 * huge zero PUD and no PUD-level pfnmap in the model.
 */
export function vm_normal_page_pud(_vma: VmAreaStruct, pud: number): number | null {
  return entry_pfn(pud);
}

/** vm_normal_page_pmd(): the page a PMD leaf maps at its first address; null for the huge zero page. */
export function vm_normal_page_pmd(_vma: VmAreaStruct, pmd: number): number | null {
  const pfn = entry_pfn(pmd);
  if (is_huge_zero_pfn(pfn)) return null;
  return pfn;
}
