/**
 * Swap I/O (mm/page_io.c): swap_writepage() and swap_read_folio() for a block device that is not
 * SWP_SYNCHRONOUS_IO (a disk, not zram): both submit a bio and return; the bio completes
 * `io_ticks` later, in the device's completion context -- end_swap_bio_write() ends the folio's
 * writeback, end_swap_bio_read() marks it uptodate and unlocks it (folio_end_read), which wakes
 * whoever sleeps on the folio lock meanwhile (do_swap_page's folio_lock_or_retry).
 *
 * The completion context is a daemon task, `swapio` (the device and its interrupt handler): it
 * sleeps until the oldest bio is due and completes it, bios in submission order. The bytes move at
 * completion (the DMA): a write captures the folio's bytes then, a read delivers the slot's.
 * Reduced: no plugging or merging, no swap_iocb, no zswap / zeromap, no write errors; the folio
 * holds no extra reference for the bio (PG_writeback, and PG_locked for a read, keep it in the
 * swap cache until completion).
 */
import { emit } from '../../trace/vocab/index.js';
import { name, sim } from '../../sim/sim.js';
import type { Gen, Task } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { traced } from '../kernel/ftrace.js';
import { TaskStruct } from '../kernel/sched.js';
import { type Folio, PG_uptodate, PG_writeback, folio_change_flags, folio_unlock, folio_wake_waiters } from './folio.js';
import { PAGE_SIZE } from './mm_types.js';
import { alloc_swap_info, swap_info, swap_slot_read, swap_slot_write } from './swapfile.js';

const W_SWAP_IO = name('swap bio');
const W_IDLE = name('swapio_idle');
const WHY_START_WRITEBACK = name('folio_start_writeback');
const WHY_END_WRITEBACK = name('folio_end_writeback');
const WHY_END_READ = name('folio_end_read');

/** A bio in flight: one page to or from one slot, due at a tick. */
interface SwapBio {
  readonly folio: Folio;
  readonly offset: number;
  readonly write: boolean;
  readonly due: number;
}

interface SwapIo {
  readonly id: number;
  task: Task | null;
  /** Bios in submission order (every bio takes the same time, so also in completion order). */
  readonly inflight: SwapBio[];
}

function swap_io(): SwapIo {
  return kernel().subsystem('swap_io', () => ({ id: kernel().newId(), task: null, inflight: [] as SwapBio[] }));
}

/**
 * swapon(2) reduced (mm/swapfile.c; here because it also starts the device's completion context):
 * a swap device of `pages` pages whose I/O takes `io_ticks`. A workload calls it at boot.
 */
export function swapon(pages: number, io_ticks: number): void {
  alloc_swap_info(pages, io_ticks);
  const io = swap_io();
  io.task = sim().spawn('swapio', function* (): Gen {
    for (;;) {
      while (io.inflight.length === 0) yield* sim().block(io.id, W_IDLE);
      const bio = io.inflight[0]!;
      const left = bio.due - sim().tick;
      if (left > 0) yield* sim().sleep(left, W_SWAP_IO);
      io.inflight.shift();
      if (bio.write) yield* end_swap_bio_write(bio);
      else yield* end_swap_bio_read(bio);
    }
  }, { daemon: true, data: new TaskStruct(0, 'swapio', null) });
}

/** submit_bio(): queue the bio on the device. */
function* submit_bio(folio: Folio, offset: number, write: boolean): Gen {
  const io = swap_io();
  if (!io.task) throw new Error('swap I/O without a swap device');
  io.inflight.push({ folio, offset, write, due: sim().tick + swap_info()!.io_ticks });
  yield* sim().wake(io.task);
}

/**
 * swap_writepage() (folio locked, in the swap cache, its dirty bit just cleared by
 * folio_clear_dirty_for_io): __swap_writepage -> swap_writepage_bdev_async: folio_start_writeback,
 * folio_unlock, submit the bio. Returns with the write in flight and the folio unlocked.
 */
export const swap_writepage = traced('swap_writepage', function* (folio: Folio): Gen {
  yield* folio_change_flags(folio, PG_writeback, 0, WHY_START_WRITEBACK);
  yield* folio_unlock(folio);
  yield* submit_bio(folio, folio.swap, true);
});

/** end_swap_bio_write(): the slot holds the folio's bytes; folio_end_writeback() wakes its waiters. */
function* end_swap_bio_write(bio: SwapBio): Gen {
  swap_slot_write(bio.offset, bio.folio.read(0, PAGE_SIZE));
  yield emit.swap_io({ folio: bio.folio.id, offset: bio.offset, write: true });
  yield* folio_change_flags(bio.folio, 0, PG_writeback, WHY_END_WRITEBACK);
  yield* folio_wake_waiters(bio.folio);
}

/**
 * swap_read_folio() (folio locked, not uptodate, in the swap cache for `offset`):
 * swap_read_folio_bdev_async, submit the bio. The folio stays locked until the read completes.
 */
export const swap_read_folio = traced('swap_read_folio', function* (folio: Folio, offset: number): Gen {
  yield* submit_bio(folio, offset, false);
});

/** end_swap_bio_read(): the folio holds the slot's bytes; folio_end_read(): uptodate, unlocked. */
function* end_swap_bio_read(bio: SwapBio): Gen {
  bio.folio.write(swap_slot_read(bio.offset));
  yield emit.swap_io({ folio: bio.folio.id, offset: bio.offset, write: false });
  yield* folio_change_flags(bio.folio, PG_uptodate, 0, WHY_END_READ);
  yield* folio_unlock(bio.folio);
}
