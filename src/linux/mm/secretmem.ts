/**
 * memfd_secret(2) mappings (mm/secretmem.c): their folios are removed from the kernel's direct map,
 * so any kernel-side copy from them faults. GUP refuses them in check_vma_flags.
 */
import type { VmAreaStruct, VmOperations } from './mm_types.js';

export const secretmem_vm_ops: VmOperations = { name: 'secretmem_vm_ops' };

/** vma_is_secretmem(): the VMA maps a secretmem file (its ops are secretmem's). */
export function vma_is_secretmem(vma: VmAreaStruct): boolean {
  return vma.vm_ops === secretmem_vm_ops;
}
