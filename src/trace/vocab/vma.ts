/**
 * vma: mm and VMA lifecycles, the maple-tree lookup, files and the argument and environment ranges.
 */
import { defineFlags, kind } from './define.js';

/** vm_flags (include/linux/mm.h) as the model numbers them. */
export const VmFlags = defineFlags('vm_flags', {
  VM_READ: 0x1,
  VM_WRITE: 0x2,
  VM_EXEC: 0x4,
  VM_SHARED: 0x8,
  VM_MAYREAD: 0x10,
  VM_MAYWRITE: 0x20,
  VM_MAYEXEC: 0x40,
  VM_MAYSHARE: 0x80,
  VM_GROWSDOWN: 0x100,
  VM_PFNMAP: 0x400,
  VM_LOCKED: 0x2000,
  VM_IO: 0x4000,
  VM_DONTEXPAND: 0x40000,
  VM_ACCOUNT: 0x100000,
  VM_HUGETLB: 0x400000,
  VM_MIXEDMAP: 0x10000000,
  VM_HUGEPAGE: 0x20000000,
  /** x86 VM_HIGH_ARCH_5 in the kernel; the model has no map_shadow_stack(), so only tests set it. */
  VM_SHADOW_STACK: 0x40000000,
});

export const vma = {
  mas_walk: kind({ code: 41, fields: { addr: 'addr', vma: 'id' }, doc: 'the maple tree is searched for addr (vma 0: none)' }),
  vma_create: kind({
    code: 80, fields: { vma: 'id', mm: 'id', start: 'addr', end: 'addr' },
    doc: 'vm_area_alloc(): a detached VMA of mm over [start, end); the id names the slab object, which may be reused after vma_free (SLAB_TYPESAFE_BY_RCU)',
  }),
  vma_mark_attached: kind({ code: 81, fields: { vma: 'id', start: 'addr', end: 'addr' }, doc: 'the VMA enters the maple tree' }),
  vma_mark_detached: kind({ code: 82, fields: { vma: 'id', waited: 'bool' }, doc: 'the VMA leaves the tree (waited: for readers to drain)' }),
  vma_adjust: kind({
    code: 83, fields: { vma: 'id', start: 'addr', end: 'addr', pgoff: 'int' },
    doc: 'the VMA\'s range or page offset changed (split, merge, mremap; remap_pfn_range of a private mapping)',
  }),
  vma_flags: kind({ code: 84, fields: { vma: 'id', old: VmFlags, new: VmFlags }, doc: 'vm_flags changed' }),
  vma_free: kind({ code: 85, fields: { vma: 'id' }, doc: 'the VMA object is freed (its id may be created again)' }),
  vma_init: kind({
    code: 86, fields: { vma: 'id', flags: VmFlags, file: 'name', pgoff: 'int' },
    doc: 'follows every vma_create: vm_flags, the mapped file (\'\' = anonymous) and its page offset',
  }),
  expand_stack: kind({ code: 87, fields: { addr: 'addr', vma: 'id' }, doc: 'a stack VMA grows down to addr' }),
  mm_create: kind({ code: 88, fields: { mm: 'id', pid: 'int', mmap_lock: 'id' }, doc: 'an mm exists; mmap_lock: the id of its rwsem' }),
  mm_args: kind({ code: 89, fields: { mm: 'id', arg_start: 'addr', arg_end: 'addr' }, doc: 'mm->arg_start / arg_end are set' }),
  file_create: kind({
    code: 73, fields: { file: 'name', size: 'int', io_ticks: 'int' }, blob: { name: 'data', type: 'bytes' }, cost: 0,
    doc: 'a file exists with these contents; io_ticks: the time one page read-in takes',
  }),
  mm_env: kind({ code: 74, fields: { mm: 'id', env_start: 'addr', env_end: 'addr' }, doc: 'mm->env_start / env_end are set' }),
  lam_enable: kind({
    code: 122, fields: { mm: 'id', bits: 'int', shift: 'int' },
    doc: 'x86 LAM enabled: pointer bits shift..shift+bits-1 are ignored from now on (context.untag_mask)',
  }),
} as const;
