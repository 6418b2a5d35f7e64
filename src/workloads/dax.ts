/**
 * dax-1g: remote reads of a 1 GiB PUD leaf (kernel-spec §3.6, §6.6, §7.1 step 4, §8.3).
 *
 * The target maps a device-dax instance aligned to 1 GiB (/dev/dax0.0, drivers/dax/device.ts)
 * MAP_SHARED at a 1 GiB-aligned address and stores into its first two pages and its last one: the
 * first store faults (create_huge_pud -> dev_dax_huge_fault -> vmf_insert_folio_pud), mapping the
 * device's order-18 folio with one PUD leaf; the others go through the MMU. A monitor then reads
 * across pages 0-2 and the last 64 bytes of the GiB (access_process_vm), and the target unmaps it.
 * Device-dax rather than hugetlb: the series' fast path refuses hugetlb VMAs before any walk, so a
 * 1 GiB hugetlb page would never reach its FW_LEVEL_PUD branch.
 *  - fast: folio_walk_start reads the PUD locklessly, sees a leaf, takes pud_lock (the mm's
 *    page_table_lock), re-reads it and returns level PUD with the lock held until folio_walk_end;
 *    the span runs to the end of the read (the PUD entry, the folio and the VMA all go further), so
 *    one walk per read, copied page by page.
 *  - gup (and vmaGup, GUP under the VMA lock): follow_page_mask -> follow_pud_mask sees the leaf ->
 *    pud_lock -> follow_huge_pud, one per page; no FOLL_TOUCH effect at PUD level.
 *  - munmap: unmap_page_range finds the PUD leaf covered whole: zap_huge_pud under pud_lock clears
 *    it and drops the rmap; the device keeps its folio (and the bytes).
 */
import type { Gen } from '../sim/task.js';
import { PUD_SIZE } from '../linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { dax_mapping, dev_dax_create } from '../linux/drivers/dax/device.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap_special, sys_munmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import type { Workload } from './workload.js';

/** 1 GiB-aligned (256 GiB), away from every other mapping: one PUD entry maps the whole area. */
export const DAX_AREA = 0x4000000000;
export const DAX_DEVICE = '/dev/dax0.0';
/** The monitor's first read: the last 100 bytes of page 0, page 1, the first 100 bytes of page 2. */
export const DAX_READ_AT = DAX_AREA + PAGE_SIZE - 100;
export const DAX_READ_LEN = PAGE_SIZE + 200;
/** Its second read: the last 64 bytes of the GiB. */
export const DAX_TAIL_AT = DAX_AREA + PUD_SIZE - 64;
export const DAX_TAIL_LEN = 64;

/** The pages the target stores into (offsets in the area), and what each is filled with. */
export const DAX_STORES: readonly (readonly [number, number])[] = [
  [0, 0x41], [PAGE_SIZE, 0x42], [PUD_SIZE - PAGE_SIZE, 0x5a],
];

/** The byte at `offset` in the area after the target's stores. */
export function daxByte(offset: number): number {
  const page = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
  return DAX_STORES.find(([at]) => at === page)?.[1] ?? 0;
}

export const dax1g: Workload = {
  name: 'dax-1g',
  description: 'remote reads of a 1 GiB device-dax PUD leaf: folio_walk_start level PUD under pud_lock (fast), follow_huge_pud (gup), zap_huge_pud',
  params: {},
  *boot(): Gen {
    const dev = yield* dev_dax_create(DAX_DEVICE, 1);
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    const read = new Completion();
    thread(proc, 'setup', function* () {
      const req = { addr: DAX_AREA, len: PUD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file: dev, pgoff: 0 };
      yield* sys_mmap_special(proc.mm, req, dax_mapping(dev));
      for (const [at, fill] of DAX_STORES) yield* user_access(proc.mm, DAX_AREA + at, new Uint8Array(PAGE_SIZE).fill(fill), true);
      yield* complete_all(ready);
      yield* wait_for_completion(read);
      yield* sys_munmap(proc.mm, DAX_AREA, PUD_SIZE);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, DAX_READ_AT, DAX_READ_LEN);
      yield* remote_read(proc, DAX_TAIL_AT, DAX_TAIL_LEN);
      yield* complete_all(read);
    });
  },
};
