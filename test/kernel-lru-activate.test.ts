/**
 * The lru_activate batch (mm/swap.c folio_activate, __folio_batch_add_and_move,
 * folio_batch_move_lru): a second FOLL_TOUCH queues the folio on its CPU's batch (one CPU per task
 * here), which moves to the active list when it fills (FOLIO_BATCH_SIZE) or is drained: by
 * reclaim on that CPU (lru_add_drain), or by move_pages on every CPU (lru_cache_disable).
 */
import { describe, expect, test } from 'vitest';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { PG_active, PG_lru, PG_referenced } from '../src/linux/mm/folio.js';
import { sys_move_pages } from '../src/linux/mm/migrate.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { FOLIO_BATCH_SIZE } from '../src/linux/mm/swap.js';
import { shrink_node } from '../src/linux/mm/vmscan.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace, type Trace } from './helpers/harness.js';

const AREA = 0x30000000;

/** The target stores to `pages` pages; the monitor reads each `rounds` times (FOLL_TOUCH), then does `after`. */
function touches(pages: number, after: 'nothing' | 'reclaim' | 'move_pages', rounds = 2): Workload {
  return {
    name: `lru-activate-${pages}-${after}`,
    description: 'a monitor touches pages twice each',
    params: {},
    *boot() {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const stored = new Completion();
      const touched = new Completion();
      thread(proc, 'target', function* () {
        yield* sys_mmap(proc.mm, { addr: AREA, len: pages * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        for (let p = 0; p < pages; p++) yield* user_access(proc.mm, AREA + p * PAGE_SIZE, new Uint8Array([p + 1]), true);
        yield* complete_all(stored);
        yield* wait_for_completion(touched);
        if (after === 'move_pages') yield* sys_move_pages(proc.mm, AREA);
      });
      outsider('monitor', function* () {
        yield* wait_for_completion(stored);
        for (let round = 0; round < rounds; round++) {
          for (let p = 0; p < pages; p++) yield* remote_read(proc, AREA + p * PAGE_SIZE, 1);
        }
        if (after === 'reclaim') yield* shrink_node();
        yield* complete_all(touched);
      });
    },
  };
}

const run = (w: Workload): Trace => {
  const t = runTrace(w, { path: 'gup', seed: 1 });
  expect(t.result.outcome).toBe('done');
  return t;
};

/** The monitor's claims (PG_lru cleared on queueing), and the moves of those folios to the active list. */
function queuedAndActivated(t: Trace) {
  const queued = t.of('folio_flags', 'monitor', (e) => (e.old & PG_lru) !== 0 && (e.new & PG_lru) === 0);
  const activated = t.of('lru_move', undefined, (e) => e.to === 'active_anon' && queued.some((q) => q.folio === e.folio));
  return { queued, activated };
}

describe('lru_activate: folio_activate queues, the batch moves later', () => {
  test('a batch that is not full stays queued: the folios stay on the inactive list without PG_lru', () => {
    const t = run(touches(3, 'nothing'));
    const { queued, activated } = queuedAndActivated(t);
    expect(queued).toHaveLength(3);
    expect(activated).toHaveLength(0);
  });

  test(`queued folio number ${FOLIO_BATCH_SIZE} moves the whole batch to the active list, under lru_lock`, () => {
    const t = run(touches(FOLIO_BATCH_SIZE + 1, 'nothing'));
    const { queued, activated } = queuedAndActivated(t);
    expect(queued).toHaveLength(FOLIO_BATCH_SIZE + 1);
    // The first FOLIO_BATCH_SIZE moved at once, by the monitor, right after the 31st was queued; the 32nd waits.
    expect(activated).toHaveLength(FOLIO_BATCH_SIZE);
    expect(activated.every((e) => t.taskName(e.tid) === 'monitor')).toBe(true);
    expect(activated.map((e) => e.folio)).toEqual(queued.slice(0, FOLIO_BATCH_SIZE).map((e) => e.folio));
    expect(activated[0]!.seq).toBeGreaterThan(queued[FOLIO_BATCH_SIZE - 1]!.seq);
    expect(activated.at(-1)!.seq).toBeLessThan(queued[FOLIO_BATCH_SIZE]!.seq);
    const lock = t.of('spin_lock', 'monitor', (e) => e.class === 'lru_lock' && e.seq < activated[0]!.seq).at(-1)!;
    const unlock = t.next('spin_unlock', lock.seq, 'monitor', (e) => e.lock === lock.lock)!;
    expect(unlock.seq).toBeGreaterThan(activated.at(-1)!.seq);
    // Back on a list (the move sets PG_lru again); then the batch's references go, in batch order.
    const puts = t.of('folio_put', 'monitor', (e) => e.seq > unlock.seq).slice(0, FOLIO_BATCH_SIZE);
    expect(puts.map((e) => e.folio)).toEqual(activated.map((e) => e.folio));
  });

  test('touches of a queued folio do not mark it active (it is in no lru_add batch): one activation, at the move', () => {
    const t = run(touches(1, 'move_pages', 4));
    const { queued, activated } = queuedAndActivated(t);
    expect(queued).toHaveLength(1);
    const marks = t.of('folio_mark_accessed', 'monitor', (e) => e.folio === queued[0]!.folio);
    expect(marks.map((e) => (e.to & PG_referenced) !== 0)).toEqual([true, false, true, false]);
    expect(marks.every((e) => (e.to & PG_active) === 0)).toBe(true);
    expect(activated.map((e) => [t.taskName(e.tid), e.from])).toEqual([['target', 'inactive_anon']]);
  });

  test('reclaim drains its own CPU first (lru_add_drain), and the drained folios are not judged', () => {
    const t = run(touches(3, 'reclaim'));
    const { queued, activated } = queuedAndActivated(t);
    expect(activated.map((e) => e.folio)).toEqual(queued.map((e) => e.folio));
    const scan = t.of('call_enter', 'monitor', (e) => e.fn === 'shrink_inactive_list')[0]!;
    expect(activated[0]!.seq).toBeGreaterThan(scan.seq);
    expect(t.of('reclaim_verdict', undefined, (e) => queued.some((q) => q.folio === e.folio))).toHaveLength(0);
  });

  test('move_pages drains every CPU (lru_cache_disable), so a queued folio can be isolated and migrated', () => {
    const t = run(touches(3, 'move_pages'));
    const { queued, activated } = queuedAndActivated(t);
    expect(activated.map((e) => [t.taskName(e.tid), e.folio])).toEqual(queued.map((e) => ['target', e.folio]));
    const [exit] = t.of('syscall_end', 'target', (e) => e.nr === 'move_pages');
    expect(exit!.ret).toBe(0);
  });
});
