/**
 * The lock assertions (mmap_assert_locked, mmap_assert_write_locked, vma_assert_write_locked,
 * vma_assert_locked): a warning event when the lock is not held as asserted, and no event at all
 * when it is (they are steps of none or one event: no_event / one_event).
 */
import { describe, expect, test } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, vma_lookup } from '../src/linux/mm/mmap.js';
import {
  mmap_assert_locked, mmap_assert_write_locked, mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock,
  vma_assert_locked, vma_assert_write_locked, vma_end_read, vma_start_read_locked, vma_start_write,
} from '../src/linux/mm/mmap_lock.js';
import { sim } from '../src/sim/sim.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';

const AREA = 0x50000000;

describe('lock assertions', () => {
  test('warn when the lock is not held as asserted, and make no event when it is', () => {
    // the events each run of assertions that hold made
    const events: number[] = [];
    const seq = () => sim().seq;
    const ids = { mm: -1, vma: -1 };
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const mm = proc.mm;
      yield* sys_mmap(mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      const vma = vma_lookup(mm, AREA)!;
      ids.mm = mm.id;
      ids.vma = vma.id;
      yield* mmap_assert_locked(mm); // not held: a warning
      yield* mmap_assert_write_locked(mm); // not held: a warning
      yield* vma_assert_locked(vma); // neither: a warning
      yield* mmap_read_lock(mm);
      const readHeld = seq();
      yield* mmap_assert_locked(mm);
      events.push(seq() - readHeld);
      yield* mmap_assert_write_locked(mm); // read-held only: a warning
      yield* vma_start_read_locked(vma);
      yield* mmap_read_unlock(mm);
      const vmaReadLocked = seq();
      yield* vma_assert_locked(vma);
      events.push(seq() - vmaReadLocked);
      yield* vma_end_read(vma);
      yield* mmap_write_lock(mm);
      yield* vma_assert_write_locked(vma); // mmap_lock for write, but the VMA not write-locked: a warning
      yield* vma_start_write(vma);
      const writeLocked = seq();
      yield* mmap_assert_locked(mm);
      yield* mmap_assert_write_locked(mm);
      yield* vma_assert_write_locked(vma);
      yield* vma_assert_locked(vma);
      events.push(seq() - writeLocked);
      yield* mmap_write_unlock(mm);
    });
    expect(t.result.outcome).toBe('done');
    expect(t.of('warn').map((e) => [e.what, e.obj])).toEqual([
      ['mmap_assert_locked: mmap_lock not held', ids.mm],
      ['mmap_assert_write_locked: mmap_lock not write-held', ids.mm],
      ['vma_assert_locked: VMA neither read- nor write-locked', ids.vma],
      ['mmap_assert_write_locked: mmap_lock not write-held', ids.mm],
      ['vma_assert_write_locked: VMA not write-locked', ids.vma],
    ]);
    expect(events).toEqual([0, 0, 0]);
  });
});
