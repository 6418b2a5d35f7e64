/**
 * Device-DAX (drivers/dax/device.c): a character device (/dev/daxX.Y) that maps persistent or
 * device memory straight into a process, with an alignment of 4 KiB, 2 MiB or 1 GiB. With 1 GiB
 * (`daxctl create-device --align=1G`, the common setup for databases and VMs) every fault maps a
 * whole PUD leaf: the one way a PUD leaf reaches the paths behind __access_remote_vm() that the
 * series' fast path does not refuse (it refuses hugetlb before its walk), so it is how the patch's
 * FW_LEVEL_PUD branch runs.
 *
 *  - the device's memory: devm_memremap_pages() at probe gives it struct pages; since the
 *    device-dax folio rework (vmf_insert_folio_pud, 6.15) they are compound folios of the
 *    device's alignment, refcounted like any folio. Here: one order-18 folio per GiB, allocated
 *    when the device is created, zero-filled.
 *  - dax_mmap(): check_vma (MAP_SHARED only, start and end aligned, -EINVAL), vm_ops =
 *    dax_vm_ops, VM_HUGEPAGE (dax_mapping(), for sys_mmap_special).
 *  - dev_dax_huge_fault(PUD_ORDER) -> __dev_dax_pud_fault: check_vma again (VM_FAULT_SIGBUS), the
 *    PUD range must lie in the VMA, pgoff -> the folio (dax_pgoff_to_phys), then
 *    vmf_insert_folio_pud (mm/huge_memory.ts).
 *
 * Model restrictions: only the 1 GiB alignment (the 4 KiB and 2 MiB faults, __dev_dax_pte_fault and
 * __dev_dax_pmd_fault, are not modelled); one range per device; the mmap offset must be a multiple
 * of 1 GiB (the kernel would map the folio holding an unaligned offset's page). The device keeps
 * one reference on each of its folios for its lifetime: the kernel instead lets a free device
 * folio sit at refcount 0 in its pgmap and re-initialises it at the next fault, but the device is
 * never unbound in a run, so the folio is never freed either way. dax_set_mapping() (folio->mapping and
 * ->index for the rmap of device memory) is not modelled: nothing here walks the rmap of a
 * device folio. dax_read_lock() (the device's SRCU liveness lock) is left out: the device never
 * dies.
 */
import type { Gen } from '../../../sim/task.js';
import { PUD_SIZE } from '../../arch/x86/include/pgtable_types.js';
import { EINVAL } from '../../include/errno.js';
import { kernel } from '../../kernel.js';
import { AddressSpace } from '../../mm/filemap.js';
import { type Folio, HPAGE_PUD_ORDER, folio_alloc } from '../../mm/folio.js';
import { pud_addr, vmf_insert_folio_pud } from '../../mm/huge_memory.js';
import type { VmFault } from '../../mm/internal.js';
import {
  FAULT_FLAG_WRITE, PAGE_SIZE, VM_FAULT_SIGBUS, VM_HUGEPAGE, VM_MAYSHARE, type VmAreaStruct, type VmOperations,
} from '../../mm/mm_types.js';

/** dax_vm_ops (its ->huge_fault is dev_dax_huge_fault below; handle_mm_fault calls it for DAX VMAs). */
export const dax_vm_ops: VmOperations = { name: 'dax_vm_ops', fault: true };

/**
 * A device-dax instance: the inode of /dev/daxX.Y (S_DAX), with its memory as 1 GiB folios. Its
 * page cache is empty (device memory is not page cache) and it has no byte contents of its own:
 * the bytes live in its folios, which the replay model knows through folio_alloc.
 */
export class DevDax extends AddressSpace {
  /** dev_dax->align. */
  readonly align = PUD_SIZE;
  constructor(deviceName: string, readonly folios: readonly Folio[]) {
    super(deviceName, new Uint8Array(0), 0);
  }
}

/** vma_is_dax(): the VMA maps a DAX inode (here: a device-dax instance; fsdax is not modelled). */
export function vma_is_dax(vma: VmAreaStruct): boolean {
  return vma.vm_file instanceof DevDax;
}

/** The device-dax instances of this kernel, by name. */
function dax_devices(): Map<string, DevDax> {
  return kernel().subsystem('dax_devices', () => new Map<string, DevDax>());
}

/**
 * dev_dax_probe() of a new instance (daxctl create-device --size=N --align=1G): its memory,
 * `gib` order-18 folios, zeroed. Returns the existing instance if there is one of that name.
 */
export function* dev_dax_create(deviceName: string, gib: number): Gen<DevDax> {
  const existing = dax_devices().get(deviceName);
  if (existing) return existing;
  const folios: Folio[] = [];
  for (let i = 0; i < gib; i++) folios.push(yield* folio_alloc(HPAGE_PUD_ORDER, false));
  const dev = new DevDax(deviceName, folios);
  dax_devices().set(deviceName, dev);
  return dev;
}

/** check_vma(): shared, aligned to the device, DAX. 0 or -EINVAL. */
function check_vma(dev: DevDax, vma: VmAreaStruct): number {
  if (!(vma.vm_flags & VM_MAYSHARE)) return -EINVAL; // "attempted private mapping"
  if (vma.vm_start % dev.align !== 0 || vma.vm_end % dev.align !== 0) return -EINVAL; // "unaligned vma"
  if (!vma_is_dax(vma)) return -EINVAL;
  return 0;
}

/** dax_mmap(): check_vma (the VM_HUGEPAGE it sets comes with the VMA's flags, dax_mapping()). */
function* dax_mmap(vma: VmAreaStruct): Gen<number> {
  return check_vma(vma.vm_file as DevDax, vma);
}

/**
 * What mmap(2) of the device makes of a mapping (a SpecialMapping for sys_mmap_special, which
 * mm/mmap.ts declares: this file sits below it, under memory.ts): dax_vm_ops, VM_HUGEPAGE, and
 * dax_mmap's checks. The kernel sets VM_HUGEPAGE in ->mmap, before the VMA is inserted; here it
 * comes with the flags the VMA is created with, so the vma_init event carries it.
 */
export function dax_mapping(dev: DevDax): {
  ops: VmOperations; file: DevDax; vm_flags: number; mmap: (vma: VmAreaStruct) => Gen<number>;
} {
  return { ops: dax_vm_ops, file: dev, vm_flags: VM_HUGEPAGE, mmap: dax_mmap };
}

/**
 * __dev_dax_pud_fault(): the folio backing the fault's PUD range, mapped whole by
 * vmf_insert_folio_pud; VM_FAULT_SIGBUS when the VMA is not (or no longer) fit, the PUD range
 * leaves the VMA, or the offset lies beyond the device (dax_pgoff_to_phys fails).
 */
export function* dev_dax_huge_fault(vmf: VmFault): Gen<number> {
  const vma = vmf.vma;
  const dev = vma.vm_file as DevDax;
  if (check_vma(dev, vma)) return VM_FAULT_SIGBUS;
  const base = pud_addr(vmf.address);
  if (base < vma.vm_start || base + PUD_SIZE > vma.vm_end) return VM_FAULT_SIGBUS;
  const pgoff = vma.vm_pgoff + (base - vma.vm_start) / PAGE_SIZE; // linear_page_index
  // dax_pgoff_to_phys(); model: an offset off the 1 GiB grid has no folio of its own (SIGBUS).
  const folio = (pgoff * PAGE_SIZE) % dev.align === 0 ? dev.folios[(pgoff * PAGE_SIZE) / dev.align] : undefined;
  if (!folio) return VM_FAULT_SIGBUS;
  return yield* vmf_insert_folio_pud(vmf, folio, (vmf.flags & FAULT_FLAG_WRITE) !== 0);
}
