/**
 * hugetlb-share (kernel-spec §5.4, §4.2, §8.3 item 7, §11.1, §12.11): remote reads of a hugetlbfs
 * mapping whose PMD table two processes share (huge_pmd_share), and the unshare at munmap.
 *
 * `target` and `peer` map the same 1 GiB of one hugetlbfs file MAP_SHARED at the same PUD-aligned
 * address. The target's stores fault in the first huge page (a PMD table of its own, an order-9
 * page-cache folio, a PMD leaf); the peer's first touch faults with a none PUD entry, so
 * huge_pmd_share points its PUD entry at the target's PMD table: one table, two parents. The
 * peer's store lands in the same folio.
 * The monitor then reads the target's memory across three pages of the huge page:
 *  1. with both mappings in place;
 *  2. while the peer munmaps (directed: the peer runs its whole munmap while the monitor sits in
 *     follow_page_mask holding the target's hugetlb VMA lock): huge_pmd_unshare clears the peer's
 *     PUD entry under its hugetlb VMA lock (write) and i_mmap_rwsem (write), the table is left to
 *     the target alone, so tlb_remove_table_sync_one() runs (fully unshared); nothing is freed;
 *  3. after that (the target alone);
 *  4. after the target unmapped too: its zap clears the PMD leaf, free_pgtables frees the table
 *     through the gather (RCU); the read gets nothing.
 *  - gup: follow_page_mask under vma_pgtable_walk_begin (hugetlb VMA lock, read) finds the PMD
 *    leaf: follow_huge_pmd under the (shared table's) PMD lock.
 *  - fast (any variant): access_remote_vm_fast refuses hugetlb VMAs ("VMA not for the fast
 *    path"), then GUP as above.
 */
import type { ObservedEvent } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { PUD_SIZE } from '../linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { synchronize_rcu } from '../linux/kernel/rcu/tree.js';
import { hugetlbfs_file } from '../linux/mm/hugetlb.js';
import { MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap_hugetlb, sys_munmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import type { Workload, WorkloadContext } from './workload.js';

/** PUD-aligned (1 GiB): the mapping covers one whole PUD entry, so its PMD table can be shared. */
export const HUGETLB_AREA = 0x40000000;
export const HUGETLB_LEN = PUD_SIZE;
export const HUGETLB_FILE = 'hugetlbfs:/dev/hugepages/shared';
/** The read: 100 bytes before the end of page 0 into page 3 of the first huge page. */
export const HUGETLB_READ_AT = HUGETLB_AREA + PAGE_SIZE - 100;
export const HUGETLB_READ_LEN = 2 * PAGE_SIZE + 200;

/** What the target stores (pages 0 and 2) and the peer stores (page 1) of the first huge page. */
export const pageFill = (p: number): number => [0x41, 0x62, 0x43][p]!;

/** The bytes every read before the final unmap returns. */
export function expectedBytes(): Uint8Array {
  const mem = new Uint8Array(3 * PAGE_SIZE + PAGE_SIZE);
  for (let p = 0; p < 3; p++) mem.fill(pageFill(p), p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
  const off = HUGETLB_READ_AT - HUGETLB_AREA;
  return mem.slice(off, off + HUGETLB_READ_LEN);
}


/** The monitor, in its second read, holds the target's hugetlb VMA lock (inside follow_page_mask). */
const monitorWalks = (ctx: WorkloadContext) => (e: ObservedEvent) =>
  ctx.shared.phase === 2 && e.task === 'monitor' && e.kind === 'rwsem_acquire' && e.class === 'hugetlb_vma_lock';

export const hugetlbShare: Workload = {
  name: 'hugetlb-share',
  description: 'remote reads of a hugetlbfs mapping whose PMD table two processes share; the unshare at munmap',
  params: {},
  schedule(ctx: WorkloadContext) {
    // (A gate's `until` is checked from the start: only the munmap's own end or block counts.)
    const peerDone = (e: ObservedEvent) => ctx.shared.peerUnmapping === 1 && e.task === 'peer/0' &&
      ((e.kind === 'syscall_end' && e.nr === 'munmap') || e.kind === 'sched_block');
    return [
      // The peer's munmap starts only once the monitor's second read is inside the walk ...
      { task: 'peer/0', after: () => ctx.shared.phase === 2, until: monitorWalks(ctx) },
      // ... and the monitor goes on only once the peer's munmap has ended (or blocked).
      { task: 'monitor', after: monitorWalks(ctx), until: peerDone },
    ];
  },
  *boot(ctx: WorkloadContext): Gen {
    ctx.shared.phase = 0;
    ctx.shared.peerUnmapping = 0;
    const file = hugetlbfs_file(HUGETLB_FILE, HUGETLB_LEN);
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const peer = yield* spawn_process('peer', TARGET_ARGV, TARGET_ENVP);
    const targetReady = new Completion();
    const peerReady = new Completion();
    const goUnmap = new Completion();
    const peerUnmapped = new Completion();
    const goFinal = new Completion();
    const finalDone = new Completion();
    const map = { addr: HUGETLB_AREA, len: HUGETLB_LEN, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file };
    const store = (p: number) => new Uint8Array(PAGE_SIZE).fill(pageFill(p));
    thread(target, 'target/0', function* () {
      const addr = yield* sys_mmap_hugetlb(target.mm, map);
      if (addr !== HUGETLB_AREA) throw new Error(`target hugetlb mmap returned ${addr}`);
      for (const p of [0, 2]) {
        if (!(yield* user_access(target.mm, HUGETLB_AREA + p * PAGE_SIZE, store(p), true))) throw new Error('target store faulted');
      }
      yield* complete_all(targetReady);
      yield* wait_for_completion(goFinal);
      yield* sys_munmap(target.mm, HUGETLB_AREA, HUGETLB_LEN);
      yield* synchronize_rcu(); // let the RCU-deferred table free complete
      yield* complete_all(finalDone);
    });
    thread(peer, 'peer/0', function* () {
      yield* wait_for_completion(targetReady);
      const addr = yield* sys_mmap_hugetlb(peer.mm, map);
      if (addr !== HUGETLB_AREA) throw new Error(`peer hugetlb mmap returned ${addr}`);
      if (!(yield* user_access(peer.mm, HUGETLB_AREA + PAGE_SIZE, store(1), true))) throw new Error('peer store faulted');
      yield* complete_all(peerReady);
      yield* wait_for_completion(goUnmap);
      ctx.shared.peerUnmapping = 1;
      yield* sys_munmap(peer.mm, HUGETLB_AREA, HUGETLB_LEN);
      yield* complete_all(peerUnmapped);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(peerReady);
      ctx.shared.phase = 1;
      yield* remote_read(target, HUGETLB_READ_AT, HUGETLB_READ_LEN);
      ctx.shared.phase = 2;
      yield* complete_all(goUnmap);
      yield* remote_read(target, HUGETLB_READ_AT, HUGETLB_READ_LEN);
      yield* wait_for_completion(peerUnmapped);
      ctx.shared.phase = 3;
      yield* remote_read(target, HUGETLB_READ_AT, HUGETLB_READ_LEN);
      yield* complete_all(goFinal);
      yield* wait_for_completion(finalDone);
      ctx.shared.phase = 4;
      yield* remote_read(target, HUGETLB_READ_AT, HUGETLB_READ_LEN);
    });
  },
};
