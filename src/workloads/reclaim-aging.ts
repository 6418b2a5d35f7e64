/**
 * reclaim-aging (kernel-spec §12.3, §5.3): do remote reads count as use for reclaim?
 *
 * The target stores to anonymous pages P, P+1 ... (`pages`), so each is an inactive-anon folio
 * mapped by one young PTE.
 * P's young bit is then harvested with the rmap walk reclaim uses (folio_referenced), as an
 * earlier aging pass would leave it; PG_referenced stays clear (nothing but the target's own
 * store, which sets no page flag, has touched P). A monitor reads P remotely `reads` times, then
 * wakes kswapd for one pass over the inactive lists. (P's neighbours, young and unread, get KEEP:
 * the young bit of the fault that mapped them is their first reference.)
 *
 *  - gup: FOLL_TOUCH -> folio_mark_accessed: the 1st read sets PG_referenced, the 2nd activates P
 *    (lru_move to the active anon list); kswapd does not even see P (it scans inactive lists).
 *  - fast (v1): no folio_mark_accessed, no young bit: kswapd finds no referencing PTE and PG_referenced
 *    clear -> verdict RECLAIM for a page just read twice, and swaps it out: the system has a swap
 *    device (a disk; without one the kernel would not scan the anonymous lists at all), so P goes
 *    into the swap cache, its PTE becomes a swap entry and its write is submitted.
 *  - fast+touch: as gup.
 *
 * With the multi-gen LRU (--config lru_gen_enabled=y) accessed bits are harvested by the aging's
 * page-table walk, not by an rmap walk on a folio still on the LRU, so init wakes kswapd instead,
 * pass after pass, until P's young bit has been harvested and P's generation is the oldest one with
 * no aging due: kswapd's next pass evicts it. That walk harvests the neighbours' young bits too, so
 * the target stores to them again (young, unread, as above). Then the reads, then that pass:
 *  - gup / fast+touch: each read is lru_gen_inc_refs (P's PG_referenced is set already: the aging
 *    saw the fault's young bit), no list move. sort_folio protects P only once all its refs and
 *    PG_workingset are set (4 reads); with fewer, P is isolated and judged like the fast path's.
 *  - fast: no refs. P is isolated; its PTE is old, so RECLAIM.
 *  - the neighbours: a young PTE and PG_referenced: ACTIVATE (lru_gen_set_refs), back to the
 *    youngest generation.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { entry_none, entry_pfn, entry_present, PTE_LEVEL } from '../linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { type Folio, page_folio } from '../linux/mm/folio.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { type MmStruct, PAGE_SIZE } from '../linux/mm/mm_types.js';
import { swapon } from '../linux/mm/page_io.js';
import { entry_ptr, entry_table } from '../linux/mm/pgtable.js';
import {
  LRU_GEN_ANON, LRU_GEN_FILE, MIN_NR_GENS, folio_lru_gen, lru_gen_enabled, lru_gen_from_seq, lrugen,
} from '../linux/mm/lru_gen.js';
import { folio_referenced } from '../linux/mm/rmap.js';
import { kswapd_run, wakeup_kswapd } from '../linux/mm/vmscan.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

/** Where P is mapped: a fixed, page-aligned address away from everything else. */
export const PAGE_P = 0x30000000;
export const P_OFFSET = 0x80;
export const P_PATTERN = new TextEncoder().encode('reclaim-aging: the page P');

/** The folio mapped at addr, or null if nothing present is (a lookup by the workload, not kernel code: no events). */
export function folio_at(mm: MmStruct, addr: number): Folio | null {
  let table = mm.pgd;
  for (;;) {
    const v = table.entries[entry_ptr(table, addr).idx]!;
    if (entry_none(v) || !entry_present(v)) return null;
    if (table.level === PTE_LEVEL) return page_folio(entry_pfn(v));
    table = entry_table(v);
  }
}

/** The swap device: pages, and ticks per page of I/O. */
const SWAP_PAGES = 64;
const SWAP_IO_TICKS = 500;

export const reclaimAging: Workload = {
  name: 'reclaim-aging',
  description: 'a monitor reads an inactive anon page twice, then kswapd scans it: activated (gup) or reclaimed (fast v1)',
  params: {
    reads: intParam(2, 0, 100000, 'remote reads of P before the reclaim pass'),
    overlap: switchParam(0, '1: wake kswapd before the reads, so reclaim runs while they do'),
    pages: intParam(8, 1, 512, 'pages the target stores to (P is the first; the others keep young PTEs)'),
  },
  *boot(ctx: WorkloadContext): Gen {
    swapon(SWAP_PAGES, SWAP_IO_TICKS);
    kswapd_run();
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const written = new Completion();
    const aged = new Completion();
    // The multi-gen LRU's aging harvests the neighbours' young bits with P's; the target then
    // stores to them again (harvested -> stored).
    const mglru = lru_gen_enabled() ? { harvested: new Completion(), stored: new Completion() } : null;
    const storeNeighbours = function* () {
      for (let i = 1; i < num(ctx, 'pages'); i++) yield* user_access(proc.mm, PAGE_P + i * PAGE_SIZE, P_PATTERN, true);
    };
    thread(proc, 'target', function* () {
      const len = num(ctx, 'pages') * PAGE_SIZE;
      const addr = yield* sys_mmap(proc.mm, { addr: PAGE_P, len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      if (addr !== PAGE_P) throw new Error(`mmap of P returned ${addr}`);
      yield* user_access(proc.mm, PAGE_P + P_OFFSET, P_PATTERN, true);
      // Its neighbours: stored to as well, but their young bits are left set.
      yield* storeNeighbours();
      yield* complete_all(written);
      if (!mglru) return;
      yield* wait_for_completion(mglru.harvested);
      yield* storeNeighbours();
      yield* complete_all(mglru.stored);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(aged);
      const early = num(ctx, 'overlap') ? yield* wakeup_kswapd() : null;
      for (let i = 0; i < num(ctx, 'reads'); i++) {
        yield* remote_read(proc, PAGE_P + P_OFFSET, P_PATTERN.length);
      }
      if (early) yield* wait_for_completion(early);
      const pass = yield* wakeup_kswapd();
      yield* wait_for_completion(pass);
    });
    // The starting state of §12.3: P's PTE old (young bit test-and-cleared by the rmap walk).
    yield* wait_for_completion(written);
    const p = folio_at(proc.mm, PAGE_P);
    if (!p) throw new Error('P is not mapped');
    if (mglru) {
      yield* age_until_evictable(p);
      yield* complete_all(mglru.harvested);
      yield* wait_for_completion(mglru.stored);
    } else {
      yield* folio_referenced(p, { mapcount: 0, referenced: 0, vm_flags: 0 });
    }
    yield* complete_all(aged);
  },
};

/** kswapd passes the multi-gen LRU takes from a fresh boot to evicting P's generation (3), with room. */
const MAX_AGING_PASSES = 8;

/**
 * Multi-gen LRU: wake kswapd, pass after pass, until its next pass evicts P's generation -- P's
 * young bit harvested, P in the oldest anon generation, and no aging due (the oldest evictable
 * generation more than MIN_NR_GENS behind the youngest). A fresh boot takes three: the first lets
 * min_seq skip the empty generations, the next two age (the first of them harvests P's bit).
 */
function* age_until_evictable(p: Folio): Gen {
  for (let pass = 0; pass < MAX_AGING_PASSES; pass++) {
    if (next_pass_evicts(p)) return;
    yield* wait_for_completion(yield* wakeup_kswapd());
  }
  throw new Error(`P's generation is not the oldest after ${MAX_AGING_PASSES} kswapd passes`);
}

/** A look at the lrugen and P's flags by the workload (not kernel code: no events). */
function next_pass_evicts(p: Folio): boolean {
  const g = lrugen();
  const oldest = Math.min(g.min_seq[LRU_GEN_ANON], g.min_seq[LRU_GEN_FILE]);
  const pInOldest = folio_lru_gen(p) === lru_gen_from_seq(g.min_seq[LRU_GEN_ANON]);
  return pInOldest && oldest + MIN_NR_GENS < g.max_seq;
}
