/**
 * private-device (kernel-spec §12.11, §5.4, §6.3, §8.1): a private, writable mapping of a device
 * (think mmap of /dev/mem with MAP_PRIVATE), read remotely after the target wrote to it.
 *
 * The driver's ->mmap is remap_pfn_range(). In a private mapping it maps the device's frames with
 * the VMA's protection, which has no write bit, and sets vm_pgoff to the first pfn (a COW mapping
 * must be remapped whole). The target:
 *  - loads from the first page: the MMU reaches device memory through the special PTE (no folio);
 *  - stores into the second page: a write fault on a present, read-only PTE. do_wp_page finds no
 *    struct page behind it (vm_normal_page: NULL), so wp_page_copy copies the page through its user
 *    address (__wp_page_copy_user without a source page) into a new anonymous folio, and the store
 *    lands there. The device's memory keeps its bytes.
 *
 * The monitor then reads the mapping, `rounds` times:
 *  - from the end of the first page into the second: GUP refuses the VMA (VM_IO|VM_PFNMAP:
 *    -EFAULT) and __access_remote_vm hands the whole length to ->access, generic_access_phys. It
 *    looks up the first page's pfn and copies from the device, physically contiguous: the part in
 *    the second page is the device's bytes, not what the target stored there;
 *  - from the second page: follow_pfnmap_start finds the anonymous folio's pfn, ioremap refuses
 *    RAM: -ENOMEM, and the read ends with 0 bytes.
 * The fast path refuses VM_IO|VM_PFNMAP VMAs and falls back at once: the same bytes.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { iomem_region_alloc } from '../linux/mm/iomem.js';
import { remap_pfn_range } from '../linux/mm/memory.js';
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap_special } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { IO_AREA, deviceBytes, mmap_mem_ops } from './special-vmas.js';
import { intParam, num, type Workload, type WorkloadContext } from './workload.js';

/** The device's pages, all mapped. */
export const DEVICE_PAGES = 2;
/** The target's load from the first page. */
export const LOAD_LEN = 16;
/** What the target stores at the start of the second page. */
export const STORED = new TextEncoder().encode('written by the target');
/** The monitor's first read: the last bytes of the first page and the first of the second. */
export const CROSSING_OFFSET = PAGE_SIZE - 32;
export const READ_LEN = 64;

export const privateDevice: Workload = {
  name: 'private-device',
  description: 'remote reads of a private device mapping (remap_pfn_range) after the target copied a page of it on write',
  params: {
    rounds: intParam(2, 0, 100000, 'times the monitor repeats its two reads'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const device = iomem_region_alloc(DEVICE_PAGES, deviceBytes(DEVICE_PAGES));
    const ready = new Completion();
    thread(proc, 'target/0', function* () {
      const io = yield* sys_mmap_special(
        mm, { addr: IO_AREA, len: DEVICE_PAGES * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_FIXED },
        { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, DEVICE_PAGES * PAGE_SIZE) },
      );
      if (io !== IO_AREA) throw new Error(`device mmap returned ${io}`);
      if (!(yield* user_access(mm, IO_AREA, new Uint8Array(LOAD_LEN), false))) throw new Error('device load faulted');
      if (!(yield* user_access(mm, IO_AREA + PAGE_SIZE, STORED, true))) throw new Error('device store faulted');
      yield* complete_all(ready);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      for (let r = 0; r < num(ctx, 'rounds'); r++) {
        yield* remote_read(proc, IO_AREA + CROSSING_OFFSET, READ_LEN);
        yield* remote_read(proc, IO_AREA + PAGE_SIZE, READ_LEN);
      }
    });
  },
};
