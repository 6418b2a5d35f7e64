/**
 * memfd_secret(2) mappings (mm/secretmem.c): their folios are removed from the kernel's direct map,
 * so any kernel-side copy from them faults. GUP refuses them in check_vma_flags.
 *
 * Model: memfd_secret() makes an inode whose page cache is private to secretmem; a fault on a
 * secretmem mapping reaches that page cache through the generic file fault path (the kernel's
 * secretmem_fault allocates a zeroed folio, set_direct_map_invalid_noflush()es it and adds it to
 * the page cache, which is what the generic path's read-in of an all-zero file amounts to here).
 * "Not in the direct map" is a property of every folio of a secretmem inode: folio_is_secretmem().
 */
import type { Gen } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { type AddressSpace, create_file } from './filemap.js';
import type { Folio } from './folio.js';
import { VM_LOCKED, type VmAreaStruct, type VmOperations } from './mm_types.js';

export const secretmem_vm_ops: VmOperations = { name: 'secretmem_vm_ops', fault: true };

/** secretmem_mmap() sets VM_LOCKED | VM_DONTDUMP (VM_DONTDUMP is not modelled) and needs MAP_SHARED. */
export const SECRETMEM_VM_FLAGS = VM_LOCKED;

/** vma_is_secretmem(): the VMA maps a secretmem file (its ops are secretmem's). */
export function vma_is_secretmem(vma: VmAreaStruct): boolean {
  return vma.vm_ops === secretmem_vm_ops;
}

/** The secretmem inodes of this kernel (their mappings). */
function secretmem_mappings(): Set<AddressSpace> {
  return kernel().subsystem('secretmem', () => new Set<AddressSpace>());
}

/**
 * memfd_secret() + ftruncate(size): a new secretmem inode of `size` bytes (all zero). The caller
 * then mmap()s it MAP_SHARED with secretmem_vm_ops (sys_mmap_special).
 */
export function* memfd_secret(size: number): Gen<AddressSpace> {
  const n = secretmem_mappings().size;
  const file = yield* create_file(`secretmem:${n}`, new Uint8Array(size));
  secretmem_mappings().add(file);
  return file;
}

/** A folio of a secretmem inode: not in the direct map, so a kernel copy from it would fault. */
export function folio_is_secretmem(folio: Folio): boolean {
  return folio.mapping !== null && secretmem_mappings().has(folio.mapping);
}
