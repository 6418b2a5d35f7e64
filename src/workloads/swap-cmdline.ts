/**
 * swap-cmdline (issue 11 item 12, kernel-spec §12.9 "Swapped out: GUP swaps in under
 * mmap_read_lock; FAST falls back"): reclaim swaps out the anonymous stack page that holds the
 * target's cmdline, then a monitor reads /proc/PID/cmdline.
 *
 * The swap device is a disk (`io` ticks per page of I/O, not SWP_SYNCHRONOUS_IO). The page's PTE
 * is made old first, as an earlier aging pass would leave it (folio_referenced, the rmap walk
 * reclaim uses); exec's GUP write set PG_referenced, which anonymous folios do not need to lose to
 * be reclaimed. kswapd's first pass then judges it RECLAIM and swaps it out: add_to_swap,
 * try_to_unmap (the PTE becomes a swap entry), pageout (the write is submitted). The workload waits
 * for the write to end (folio_wait_writeback, as sync(2) would) and wakes kswapd again: the folio,
 * clean and unmapped, is taken out of the swap cache (__remove_mapping) and freed. Only the slot
 * holds the cmdline now.
 *
 *  - gup: follow_page_pte() finds the swap entry -> faultin_page -> do_swap_page: swap cache miss,
 *    swapin_readahead reads the slot into a new folio; remote GUP has no FAULT_FLAG_ALLOW_RETRY,
 *    so folio_lock_or_retry sleeps for the read (`io` ticks) holding mmap_lock for read.
 *  - fast (v1): folio_walk_start() finds a non-present PTE: "not found" -> fallback -> GUP as above.
 *  - toucher=1: a target thread also loads from the page while it is swapped out (a user fault,
 *    FAULT_FLAG_ALLOW_RETRY): it releases its lock before sleeping on the folio, and retries.
 * The bytes read are the cmdline, whichever path.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { folio_wait_writeback } from '../linux/mm/folio.js';
import { swapon } from '../linux/mm/page_io.js';
import { folio_referenced } from '../linux/mm/rmap.js';
import { kswapd_run, wakeup_kswapd } from '../linux/mm/vmscan.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { intern_names, outsider, spawn_process, thread } from './lib.js';
import { folio_at } from './reclaim-aging.js';
import { intParam, num, switchParam, type Workload, type WorkloadContext } from './workload.js';

/** Pages of the swap device (slot 0 is its header). */
const SWAP_PAGES = 64;

export const swapCmdline: Workload = {
  name: 'swap-cmdline',
  description: 'kswapd swaps out the page holding the target\'s cmdline; a monitor reads it: GUP swaps it in under mmap_lock, fast falls back',
  params: {
    io: intParam(500, 1, 1000000, 'ticks each page of swap I/O takes (the swap device is a disk)'),
    toucher: switchParam(0, '1: a target thread also loads from the swapped-out page (a user fault, which may retry)'),
  },
  *boot(ctx: WorkloadContext): Gen {
    swapon(SWAP_PAGES, num(ctx, 'io'));
    kswapd_run();
    intern_names('folio_wait_locked', 'do_swap_page', 'do_swap_page:folio_lock_or_retry');
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const aged = new Completion();
    const swapped = new Completion();
    outsider('reclaim', function* () {
      yield* wait_for_completion(aged);
      const page = folio_at(proc.mm, proc.mm.arg_start)!;
      // Pass one writes the page out; pass two, once the write has ended, frees it.
      yield* wait_for_completion(yield* wakeup_kswapd());
      yield* folio_wait_writeback(page);
      yield* wait_for_completion(yield* wakeup_kswapd());
      yield* complete_all(swapped);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(swapped);
      yield* proc_pid_cmdline_read(proc.task, 4096);
    });
    if (num(ctx, 'toucher')) {
      thread(proc, 'toucher', function* () {
        yield* wait_for_completion(swapped);
        yield* user_access(proc.mm, proc.mm.arg_start, new Uint8Array(16), false);
      });
    }
    // The starting state: the cmdline page's PTE old (young bit test-and-cleared by the rmap walk).
    const page = folio_at(proc.mm, proc.mm.arg_start);
    if (!page) throw new Error('the cmdline page is not mapped');
    yield* folio_referenced(page, { mapcount: 0, referenced: 0, vm_flags: 0 });
    yield* complete_all(aged);
  },
};
