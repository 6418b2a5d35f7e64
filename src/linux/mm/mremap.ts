/**
 * mremap(2) (mm/mremap.c, kernel-spec §10): shrink in place, or move -- mmap_write_lock_killable,
 * vma_start_write(old), copy_vma (a new VMA, write-locked and attached), move_page_tables (the PTEs
 * move under both tables' PTLs, with the rmap locks held), then unmap the old range with the write
 * lock kept, and mmap_write_unlock.
 * Simplifications: PTEs move one by one (the kernel may move whole PMD/PUD entries); the new VMA
 * does not merge with its neighbours; growing always moves (no in-place expansion).
 */
import { vma_is_dax } from '../drivers/dax/device.js';
import type { Gen } from '../../sim/task.js';
import { name } from '../../sim/sim.js';
import { EFAULT, EINTR, EINVAL, ENOMEM } from '../include/errno.js';
import { down_write, up_write } from '../kernel/locking/rwsem.js';
import { spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { traced } from '../kernel/ftrace.js';
import { syscall } from '../kernel/syscall.js';
import { PMD_SIZE, entry_huge, entry_none } from '../arch/x86/include/pgtable_types.js';
import { __split_huge_pmd } from './huge_memory.js';
import { pte_table_alloc, walk_to_pmd } from './memory.js';
import { PAGE_ALIGN, get_unmapped_area, is_length } from './mmap.js';
import { mmap_write_lock_killable, mmap_write_unlock, vma_start_write } from './mmap_lock.js';
import { type MmStruct, type VmAreaStruct, PAGE_SIZE, is_vm_hugetlb_page, vma_is_anonymous } from './mm_types.js';
import { entry_ptr, entry_table, read_entry, set_entry } from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';
import {
  __split_vma, vm_area_alloc, vma_iter_clear, vma_iter_store_new, vms_complete_munmap_vmas, vms_gather_munmap_vmas,
} from './vma.js';

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;

const SYS_MREMAP = name('mremap');

/** do_vmi_munmap(unlock = false): unmap with mmap_lock kept for write. */
function* do_vmi_munmap(mm: MmStruct, start: number, len: number): Gen {
  const vmas = yield* vms_gather_munmap_vmas(mm, start, start + len);
  vma_iter_clear(mm, vmas);
  if (vmas.length > 0) yield* vms_complete_munmap_vmas(mm, vmas, start, start + len, true);
}

/**
 * move_ptes(): move the PTEs of [old_addr, old_end) of one PTE table to new_addr, holding the old
 * table's PTL and (nested, if different) the new one's; the folios keep their references and
 * mapcounts -- only the mapping address changes.
 */
function* move_ptes(vma: VmAreaStruct, old_addr: number, old_end: number, new_addr: number): Gen {
  const mm = vma.vm_mm;
  const old_pmd = yield* walk_to_pmd(mm, old_addr);
  if (!old_pmd) return;
  const new_pmd = yield* pte_table_alloc(mm, new_addr);
  if (!new_pmd) return;
  // take_rmap_locks(): file mappings hold i_mmap_rwsem for write while PTEs move.
  if (vma.vm_file) yield* down_write(vma.vm_file.i_mmap_rwsem);
  // move_page_tables(): a THP is split first, then its PTEs move like any others (the kernel
  // moves a PMD the range covers whole with move_huge_pmd instead: same mappings, fewer steps).
  if (entry_huge(yield* read_entry(old_pmd, true))) yield* __split_huge_pmd(vma, old_pmd, old_addr);
  const old = yield* pte_offset_map_lock(mm, old_pmd, old_addr);
  if (old) {
    const new_table = entry_table(new_pmd.table.entries[new_pmd.idx]!);
    const nested = new_table.ptl !== old.ptl && new_table.ptl !== null;
    if (nested) yield* spin_lock(new_table.ptl!);
    for (let a = old_addr, b = new_addr; a < old_end; a += PAGE_SIZE, b += PAGE_SIZE) {
      const from = entry_ptr(old.ptep.table, a);
      const pte = from.table.entries[from.idx]!;
      if (entry_none(pte)) continue;
      yield* set_entry(from, 0); // ptep_get_and_clear
      yield* set_entry(entry_ptr(new_table, b), pte); // set_pte_at
    }
    if (nested) yield* spin_unlock(new_table.ptl!);
    yield* pte_unmap_unlock(old.ptl);
  }
  if (vma.vm_file) yield* up_write(vma.vm_file.i_mmap_rwsem);
}

/** move_page_tables(): extent by extent, neither crossing a PMD boundary of old or new. */
const move_page_tables = traced('move_page_tables', function* (
  vma: VmAreaStruct, old_addr: number, new_addr: number, len: number,
): Gen {
  for (let done = 0; done < len; ) {
    const o = old_addr + done;
    const n = new_addr + done;
    const extent = Math.min(len - done, PMD_SIZE - (o % PMD_SIZE), PMD_SIZE - (n % PMD_SIZE));
    yield* move_ptes(vma, o, o + extent, n);
    done += extent;
  }
});

/** move_vma(): the moving part of mremap, with mmap_lock write-held. Returns the new address. */
const move_vma = traced('move_vma', function* (
  vma: VmAreaStruct, old_addr: number, old_len: number, new_addr: number, new_len: number,
): Gen<number> {
  const mm = vma.vm_mm;
  yield* vma_start_write(vma);
  // copy_vma(): the new VMA, write-locked before it becomes visible.
  // An anonymous VMA never faulted takes its new address as vm_pgoff, to merge more readily there.
  const pgoff = vma_is_anonymous(vma) && !vma.anon_vma ? new_addr / PAGE_SIZE : vma.vm_pgoff + (old_addr - vma.vm_start) / PAGE_SIZE;
  const fresh = yield* vm_area_alloc(mm, new_addr, new_addr + new_len, vma.vm_flags, vma.vm_ops, vma.vm_file, pgoff);
  fresh.anon_vma = vma.anon_vma;
  yield* vma_start_write(fresh);
  yield* vma_iter_store_new(mm, fresh);
  yield* move_page_tables(vma, old_addr, new_addr, Math.min(old_len, new_len));
  // The old range has no PTEs left; unmapping it frees its tables and the VMA.
  yield* do_vmi_munmap(mm, old_addr, old_len);
  return new_addr;
});

export function sys_mremap(
  mm: MmStruct, old_addr: number, old_len: number, new_len: number, flags: number, new_addr = 0,
): Gen<number> {
  return syscall(SYS_MREMAP, old_addr, old_len, new_len, () => do_mremap(mm, old_addr, old_len, new_len, flags, new_addr));
}

function* do_mremap(mm: MmStruct, old_addr: number, old_len: number, new_len: number, flags: number, new_addr: number): Gen<number> {
  if (!is_length(old_len) || !is_length(new_len)) return -EINVAL;
  old_len = PAGE_ALIGN(old_len);
  new_len = PAGE_ALIGN(new_len);
  if (old_addr % PAGE_SIZE !== 0 || new_len === 0) return -EINVAL;
  if (flags & MREMAP_FIXED && (!(flags & MREMAP_MAYMOVE) || new_addr % PAGE_SIZE !== 0)) return -EINVAL;
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  const ret = yield* mremap_locked(mm, old_addr, old_len, new_len, flags, new_addr);
  yield* mmap_write_unlock(mm);
  return ret;
}

function* mremap_locked(mm: MmStruct, old_addr: number, old_len: number, new_len: number, flags: number, new_addr: number): Gen<number> {
  if (new_len < old_len && !(flags & MREMAP_FIXED)) {
    // Shrinking in place is an unmap of the tail.
    yield* do_vmi_munmap(mm, old_addr + new_len, old_len - new_len);
    return old_addr;
  }
  let vma = mm.mm_mt.load(old_addr);
  if (!vma || old_addr + old_len > vma.vm_end) return -EFAULT;
  if (is_vm_hugetlb_page(vma) || vma_is_dax(vma)) return -EINVAL; // not modelled (hugetlb.ts, huge_memory.ts headers)
  if (new_len !== old_len && !(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  if (new_len === old_len && !(flags & MREMAP_MAYMOVE)) return old_addr;
  if (flags & MREMAP_FIXED) {
    if (new_addr < old_addr + old_len && old_addr < new_addr + new_len) return -EINVAL; // overlap
    yield* do_vmi_munmap(mm, new_addr, new_len);
    // mremap_to(): the unmap may have split the very VMA being moved (a move to elsewhere in the
    // same VMA), so the VMA found before it is stale: look it up again.
    vma = mm.mm_mt.load(old_addr);
    if (!vma) return -EFAULT;
  } else {
    new_addr = get_unmapped_area(mm, new_len);
  }
  // The moved range becomes a VMA of its own.
  if (old_addr > vma.vm_start) yield* __split_vma(vma, old_addr, true);
  vma = mm.mm_mt.load(old_addr)!;
  if (old_addr + old_len < vma.vm_end) yield* __split_vma(vma, old_addr + old_len, false);
  return yield* move_vma(vma, old_addr, old_len, new_addr, new_len);
}
