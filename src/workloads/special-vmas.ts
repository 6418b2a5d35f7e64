/**
 * special-vmas (kernel-spec §12.11, §5.4, §6.5, §8.1): remote reads of mappings GUP refuses.
 *
 * (a) A device mapping (think /dev/mem): VM_IO|VM_PFNMAP, its PTEs installed by remap_pfn_range()
 *     (special: no struct page), its vm_ops' ->access = generic_access_phys. The device memory holds
 *     a byte pattern. The monitor reads it with access_process_vm (gup_flags 0), PEEKs it (ptrace,
 *     FOLL_FORCE) and tries to POKE it (FOLL_FORCE|FOLL_WRITE; the mapping is read-only); then it
 *     reads the secretmem page; `rounds` times.
 *      - gup: check_vma_flags -EFAULT (VM_IO|VM_PFNMAP), then ->access copies the device bytes;
 *        the write gets -EINVAL from generic_access_phys (read-only PTE): 0 bytes.
 *      - fast: the VMA is not for the fast path: fall back at once; then as gup, same bytes.
 * (b) memfd_secret(): a MAP_SHARED secretmem mapping the target has written a secret into. Its
 *     folio is out of the kernel's direct map.
 *      - gup: check_vma_flags -EFAULT (vma_is_secretmem), no ->access: 0 bytes.
 *      - fast (v1): refuses secretmem VMAs too (it checks vma_is_secretmem): fall back, 0 bytes.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { ptrace_peekdata } from '../linux/kernel/ptrace.js';
import { FOLL_FORCE } from '../linux/mm/gup.js';
import { iomem_region_alloc } from '../linux/mm/iomem.js';
import { generic_access_phys, remap_pfn_range } from '../linux/mm/memory.js';
import { MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap_special } from '../linux/mm/mmap.js';
import { PAGE_SIZE, type VmOperations } from '../linux/mm/mm_types.js';
import { SECRETMEM_VM_FLAGS, memfd_secret, secretmem_vm_ops } from '../linux/mm/secretmem.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, remote_write, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

/** drivers/char/mem.c's mmap_mem_ops: only ->access (CONFIG_HAVE_IOREMAP_PROT). */
export const mmap_mem_ops: VmOperations = { name: 'mmap_mem_ops', access: generic_access_phys };

/** Where the device and the secretmem mappings go (fixed, page-aligned, away from the rest). */
export const IO_AREA = 0x30000000;
export const SECRET_AREA = 0x31000000;
export const SECRET = new TextEncoder().encode('hunter2: the secret the kernel must not copy');

/** The device's bytes: a pattern no anonymous or file page in the workloads has. */
export function deviceBytes(pages: number): Uint8Array {
  const b = new Uint8Array(pages * PAGE_SIZE);
  for (let i = 0; i < b.length; i++) b[i] = (0x30 + i * 7 + (i >> 12)) & 0xff;
  return b;
}

export const specialVmas: Workload = {
  name: 'special-vmas',
  description: 'remote reads of a VM_IO|VM_PFNMAP device mapping (->access) and of a memfd_secret mapping',
  params: {
    pages: intParam(2, 1, 64, 'pages of device memory mapped'),
    len: intParam(64, 1, 262144, 'bytes of each access_process_vm read'),
    offset: intParam(4064, 0, 262143, 'offset of the device read from the mapping start (may cross a page)'),
    rounds: intParam(2, 0, 100000, 'times the monitor repeats its four requests'),
  },
  // Every read (the 8-byte PEEK too) stays inside the device mapping.
  checkParams(p) {
    const mapped = Number(p['pages']) * PAGE_SIZE;
    const longest = Math.max(Number(p['len']), 8);
    return Number(p['offset']) + longest > mapped ? `offset + max(len, 8) must be at most pages * ${PAGE_SIZE} (${mapped}): every read stays in the mapping` : null;
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const pages = num(ctx, 'pages');
    const len = num(ctx, 'len');
    const offset = num(ctx, 'offset');
    const device = iomem_region_alloc(pages, deviceBytes(pages));
    const ready = new Completion();
    thread(proc, 'target/0', function* () {
      // (a) mmap of the device, read-only and shared: its ->mmap is remap_pfn_range.
      const io = yield* sys_mmap_special(
        mm, { addr: IO_AREA, len: pages * PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED | MAP_FIXED },
        { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, pages * PAGE_SIZE) },
      );
      if (io !== IO_AREA) throw new Error(`device mmap returned ${io}`);
      // (b) memfd_secret + mmap(MAP_SHARED), and the target stores its secret there.
      const file = yield* memfd_secret(PAGE_SIZE);
      const sec = yield* sys_mmap_special(
        mm, { addr: SECRET_AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED },
        { ops: secretmem_vm_ops, file, vm_flags: SECRETMEM_VM_FLAGS },
      );
      if (sec !== SECRET_AREA) throw new Error(`secretmem mmap returned ${sec}`);
      if (!(yield* user_access(mm, SECRET_AREA, SECRET, true))) throw new Error('secret store faulted');
      yield* complete_all(ready);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      for (let r = 0; r < num(ctx, 'rounds'); r++) {
        yield* remote_read(proc, IO_AREA + offset, len);
        yield* ptrace_peekdata(proc.task, IO_AREA);
        yield* remote_write(proc, IO_AREA, new Uint8Array(8).fill(0xee), FOLL_FORCE);
        yield* remote_read(proc, SECRET_AREA, len);
      }
    });
  },
};
