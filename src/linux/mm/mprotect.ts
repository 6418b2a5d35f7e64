/**
 * mprotect(2) (mm/mprotect.c, kernel-spec §10): under mmap_write_lock_killable, per VMA
 * mprotect_fixup: split at the range edges, write-lock, change vm_flags, change the PTEs under their
 * PTLs, flush, and merge with compatible neighbours.
 */
import { vma_is_dax } from '../drivers/dax/device.js';
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  entry_clear_bits, entry_huge, entry_none, entry_set_bits, is_migration_entry_dirty,
  is_migration_entry_young, is_swap_pte, is_writable_migration_entry, make_migration_entry,
  _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, pfn_swap_entry_to_page, PMD_SIZE, pte_dirty, pte_protnone, pte_write,
  SWP_MIGRATION_READ, SWP_MIGRATION_READ_EXCLUSIVE,
} from '../arch/x86/include/pgtable_types.js';
import { page_folio } from './folio.js';
import { __split_huge_pmd, change_huge_pmd } from './huge_memory.js';
import { untag } from '../arch/x86/include/uaccess_64.js';
import { EINTR, EINVAL, ENOMEM } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { syscall } from '../kernel/syscall.js';
import { walk_to_pmd } from './memory.js';
import { PAGE_ALIGN, is_length, vm_flags_for } from './mmap.js';
import { mmap_write_lock_killable, mmap_write_unlock, vma_start_write } from './mmap_lock.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, VM_ACCESS_FLAGS, VM_SHARED, VM_WRITE, is_vm_hugetlb_page, vm_page_prot } from './mm_types.js';
import { vm_normal_page, vm_normal_page_pmd } from './internal.js';
import { entry_ptr, read_entry, set_entry } from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';
import { type MmuGather, tlb_end_vma, tlb_finish_mmu, tlb_gather_mmu, tlb_track_range } from './mmu_gather.js';
import { vma_modify_flags } from './vma.js';

const SYS_MPROTECT = name('mprotect');

/**
 * pte_modify(): the entry under the VMA's new protection. Write comes from the new vm_page_prot:
 * added where it is writable (a shared mapping without write notification), taken away where the
 * VMA is not writable. Elsewhere a writable entry keeps it: the kernel takes it away and
 * MM_CP_TRY_CHANGE_WRITABLE gives it back (can_change_writable), which for an entry already
 * writable in a writable VMA always holds (an exclusive anonymous page, or a dirty shared one).
 */
function new_pte(old: number, vma: VmAreaStruct): number {
  const vm_flags = vma.vm_flags;
  let pte = old;
  if (!(vm_flags & VM_ACCESS_FLAGS)) {
    pte = entry_set_bits(entry_clear_bits(pte, _PAGE_PRESENT), _PAGE_PROTNONE);
  } else if (pte & _PAGE_PROTNONE) {
    pte = entry_set_bits(entry_clear_bits(pte, _PAGE_PROTNONE), _PAGE_PRESENT);
  }
  if (vm_page_prot(vma) & _PAGE_RW) pte = entry_set_bits(pte, _PAGE_RW);
  else if (!(vm_flags & VM_WRITE)) pte = entry_clear_bits(pte, _PAGE_RW);
  return pte;
}

/**
 * can_change_pte_writable() / can_change_pmd_writable(): may this entry of a writable VMA become
 * writable now, without the write fault? Not if it is not even readable (protnone). In a private
 * mapping only an exclusive anonymous page (its write fault would reuse it at once); in a shared one
 * a dirty entry (the filesystem has had its write notification). Soft-dirty and uffd-wp, which
 * would also want the fault, are not modelled.
 */
function can_change_writable(vma: VmAreaStruct, entry: number, page: number | null): boolean {
  if (pte_protnone(entry)) return false;
  if (!(vma.vm_flags & VM_SHARED)) {
    if (page === null) return false;
    const folio = page_folio(page);
    return folio.anon && folio.anon_exclusive;
  }
  return pte_dirty(entry);
}

/**
 * The entry change_protection() writes: pte_modify(), then -- with MM_CP_TRY_CHANGE_WRITABLE, which
 * mprotect_fixup() asks for when the VMA is writable and, if shared, wants write notification
 * (vma_wants_manual_pte_write_upgrade(); one that wants none has write in its vm_page_prot, which
 * pte_modify() gave) -- write added where can_change_writable() allows.
 */
function protected_entry(vma: VmAreaStruct, old: number, page: (entry: number) => number | null): number {
  const entry = new_pte(old, vma);
  if (!(vma.vm_flags & VM_WRITE) || pte_write(entry)) return entry;
  return can_change_writable(vma, entry, page(entry)) ? entry_set_bits(entry, _PAGE_RW) : entry;
}

/**
 * change_protection() over [start, end) of one VMA. A present entry that changed goes into the
 * gather's range (tlb_flush_pte_range; x86's pte_needs_flush() asks for a flush for every change
 * the model makes to a present entry: write, user, NX), and tlb_end_vma flushes it: no flush when
 * nothing mapped changed.
 */
function* change_protection(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): Gen {
  const mm = vma.vm_mm;
  for (let addr = start; addr < end; ) {
    const next = Math.min(end, Math.floor(addr / PMD_SIZE) * PMD_SIZE + PMD_SIZE);
    const pmdp = yield* walk_to_pmd(mm, addr);
    if (pmdp && entry_huge(yield* read_entry(pmdp, true))) {
      // change_pmd_range(): a huge PMD the range covers whole changes in place (change_huge_pmd);
      // one it covers in part is split first (the VMA is write-locked: no fast-path reader inside).
      const pmd_entry = (old: number) => protected_entry(vma, old, (e) => vm_normal_page_pmd(vma, e));
      if (next - addr === PMD_SIZE && (yield* change_huge_pmd(tlb, vma, pmdp, addr, pmd_entry))) {
        addr = next;
        continue;
      }
      yield* __split_huge_pmd(vma, pmdp, addr);
    }
    const locked = pmdp ? yield* pte_offset_map_lock(mm, pmdp, addr) : null;
    if (locked) {
      for (let a = addr; a < next; a += PAGE_SIZE) {
        const ptep = entry_ptr(locked.ptep.table, a);
        const old = ptep.table.entries[ptep.idx]!;
        if (entry_none(old)) continue;
        if (is_swap_pte(old)) {
          // change_pte_range(): a non-present entry keeps its kind; a writable migration entry
          // becomes a readable one ("a protection check is difficult so just be safe and disable
          // write"), exclusive for an anonymous folio. A swap entry stays as it is (the
          // swap-in maps the page with the VMA's protection of the time).
          if (is_writable_migration_entry(old)) {
            const pfn = pfn_swap_entry_to_page(old);
            const type = page_folio(pfn).anon ? SWP_MIGRATION_READ_EXCLUSIVE : SWP_MIGRATION_READ;
            yield* set_entry(ptep, make_migration_entry(pfn, type, is_migration_entry_young(old), is_migration_entry_dirty(old)));
          }
          continue;
        }
        const pte = protected_entry(vma, old, (e) => vm_normal_page(vma, e));
        if (pte === old) continue;
        yield* set_entry(ptep, pte);
        tlb_track_range(tlb, a, a + PAGE_SIZE);
      }
      yield* pte_unmap_unlock(locked.ptl);
    }
    addr = next;
  }
  yield* tlb_end_vma(tlb);
}

/**
 * mprotect_fixup(): the range becomes a VMA of its own (merged into a neighbour that already has
 * the new flags, or split off), which is write-locked and given the flags before the page tables
 * change. Returns that VMA.
 */
const mprotect_fixup = traced('mprotect_fixup', function* (
  tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, newflags: number,
): Gen<VmAreaStruct> {
  if (newflags === vma.vm_flags) return vma;
  vma = yield* vma_modify_flags(vma, start, end, newflags);
  yield* vma_start_write(vma);
  const old = vma.vm_flags;
  vma.vm_flags = newflags;
  // A neighbour merged into has the flags already.
  if (old !== newflags) yield emit.vma_flags({ vma: vma.id, old, new: newflags });
  yield* change_protection(tlb, vma, start, end);
  return vma;
});

/** do_mprotect_pkey(). 0 or -errno (-ENOMEM when part of the range is unmapped). */
export function sys_mprotect(mm: MmStruct, start: number, len: number, prot: number): Gen<number> {
  return syscall(SYS_MPROTECT, start, len, prot, () => do_mprotect(mm, start, len, prot));
}

/** The arguments are checked, and an empty range done with, before mmap_lock is taken. */
function* do_mprotect(mm: MmStruct, start: number, len: number, prot: number): Gen<number> {
  start = untag(mm, start); // untagged_addr(): the caller's own mask
  if (start % PAGE_SIZE !== 0 || !is_length(len)) return -EINVAL;
  if (len === 0) return 0;
  const end = start + PAGE_ALIGN(len);
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  const tlb = tlb_gather_mmu(mm);
  let addr = start;
  let ret = 0;
  while (addr < end) {
    const vma = mm.mm_mt.load(addr);
    if (!vma) {
      ret = -ENOMEM;
      break;
    }
    if (is_vm_hugetlb_page(vma) || vma_is_dax(vma)) {
      // hugetlb_change_protection and change_huge_pud are not modelled (hugetlb.ts,
      // huge_memory.ts headers)
      ret = -EINVAL;
      break;
    }
    const tmp = Math.min(end, vma.vm_end);
    const newflags = (vma.vm_flags & ~VM_ACCESS_FLAGS) | (vm_flags_for(prot, 0) & VM_ACCESS_FLAGS);
    const after = yield* mprotect_fixup(tlb, vma, addr, tmp, newflags);
    addr = Math.max(tmp, Math.min(after.vm_end, end));
  }
  yield* tlb_finish_mmu(tlb);
  yield* mmap_write_unlock(mm);
  return ret;
}
