/**
 * `mmtrace/linux`: the emulated kernel's functions and constants, for workload modules (syscalls,
 * user accesses) and path modules (docs/writing-a-path.md): everything the built-in fast path
 * (src/linux/mm/access_remote_fast.ts) uses, under the kernel's own names.
 *
 * mmtrace loads a module with this specifier resolved to this very file, so the module calls the
 * same kernel model mmtrace runs, not a copy.
 */

// Syscalls a target's threads make, and their flags.
export {
  MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, type MmapRequest, PROT_EXEC, PROT_NONE, PROT_READ,
  PROT_WRITE, find_vma, sys_mmap, sys_munmap, vma_lookup,
} from '../linux/mm/mmap.js';
export { sys_mprotect } from '../linux/mm/mprotect.js';
export { MREMAP_FIXED, MREMAP_MAYMOVE, sys_mremap } from '../linux/mm/mremap.js';
export { MADV_DONTNEED, MADV_HUGEPAGE, sys_madvise } from '../linux/mm/madvise.js';
export { sys_move_pages } from '../linux/mm/migrate.js';
/** A thread's own load or store: the hardware walk, then do_user_addr_fault (per-VMA lock first). */
export { user_access } from '../linux/arch/x86/mm/fault.js';
export { create_file } from '../linux/mm/filemap.js';

// __access_remote_vm() and the hook a path module implements.
export { __access_remote_vm, access_process_vm, access_remote_vm } from '../linux/mm/access_remote.js';
import type { AccessRemoteVmHook } from '../linux/mm/access_remote_fast.js';
export type { AccessRemoteVmHook };

/**
 * What a path module default-exports: the hook __access_remote_vm() calls before taking mmap_lock
 * (the series' access_remote_vm_fast_hook), built into the kernel in place of the series' own.
 */
export interface AccessPathModule {
  /** One line: what this version of the patch does. */
  readonly description: string;
  readonly access_remote_vm_fast_hook: AccessRemoteVmHook;
}

// The kernel: its config and build, and what the fast path walks, locks and copies.
export { type Kernel, type KernelConfig, kernel, variant } from '../linux/kernel.js';
export {
  type MmStruct, type VmAreaStruct, VM_IO, VM_MAYREAD, VM_PFNMAP, VM_READ, VM_WRITE, is_vm_hugetlb_page, vma_is_anonymous,
} from '../linux/mm/mm_types.js';
export { PAGE_SIZE, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL, entry_size } from '../linux/arch/x86/include/pgtable_types.js';
export { untag } from '../linux/arch/x86/include/uaccess_64.js';
export { EBUSY, EFAULT, EINVAL, ENOMEM } from '../linux/include/errno.js';
export { traced } from '../linux/kernel/ftrace.js';
export { local_irq_disable, local_irq_enable, rcu_read_lock, rcu_read_unlock } from '../linux/kernel/rcu/tree.js';
export { type Folio, folio_get, folio_mark_dirty, folio_mark_dirty_lock, folio_page_idx, folio_put, page_folio } from '../linux/mm/folio.js';
export {
  FOLL_ANON, FOLL_FORCE, FOLL_WRITE, IS_ERR, check_vma_flags, get_user_page_vma_locked,
} from '../linux/mm/gup.js';
export { touch_pmd } from '../linux/mm/huge_memory.js';
export { copy_from_folio, copy_to_folio } from '../linux/mm/memory.js';
export {
  lock_vma_under_rcu, lock_vma_under_rcu_wait, mmap_read_lock_killable, mmap_read_unlock, vma_end_read,
} from '../linux/mm/mmap_lock.js';
export {
  FW_LEVEL_PMD, FW_LEVEL_PTE, FW_LEVEL_PUD, FW_VMA_LOCKED, type FolioWalk, folio_walk_end, folio_walk_start,
} from '../linux/mm/pagewalk.js';
export { vma_is_secretmem } from '../linux/mm/secretmem.js';
export { folio_mark_accessed } from '../linux/mm/swap.js';

// The trace: events a path emits (fast_path_fallback), and interned names for their reasons.
export { emit } from '../trace/vocab/index.js';
export { type Name, name } from '../sim/sim.js';
export type { Gen } from '../sim/task.js';
