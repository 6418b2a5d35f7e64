/**
 * zap_pmd_range() and PT_RECLAIM (mm/memory.c zap_pmd_range, zap_pte_range, zap_empty_pte_table,
 * zap_pte_table_if_empty):
 *  - when the PTE table goes between the zap's read of the PMD and its map, the zap looks at the PMD
 *    again, and a THP installed there meanwhile is zapped too;
 *  - when the fast path cannot take pmd_lock, the slow path runs with the PTL dropped: it takes
 *    pmd_lock first, maps whatever table the PMD points to now, locks it and frees it if empty.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { spin_lock, spin_unlock } from '../src/linux/kernel/locking/spinlock.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { PMD_SIZE, entry_huge } from '../src/linux/arch/x86/include/pgtable_types.js';
import { MADV_DONTNEED, MADV_HUGEPAGE, sys_madvise } from '../src/linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { pmd_lockptr } from '../src/linux/mm/pgtable.js';
import { pmd_value } from '../src/workloads/thp.js';
import { spawn_process } from '../src/workloads/lib.js';
import { by, type Gate } from '../src/sim/directed.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';
import { pmd_slot } from './helpers/pgtable.js';

/** One PMD entry's worth, 2 MiB-aligned. */
const AREA = 0x60000000;
const WORD = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

describe('zap_pmd_range: a PMD whose table went is looked at again', () => {
  it('MADV_DONTNEED that read the PMD before another zap freed its table, and a THP fault filled it, zaps the THP too', () => {
    // B reads the PMD (a PTE table); A's MADV_DONTNEED empties the table and frees it (PT_RECLAIM);
    // C's write faults a THP into the none PMD; then B maps the PMD, finds no table, and reads it
    // again: the THP is zapped, as the kernel's zap_pmd_range retry does. B's madvise must not
    // return with memory of its range still mapped.
    let pmdAfterB = -1;
    const readTable = by('B', 'pgtable_read', (e) => e.level === 'pmd' && e.addr === AREA && e.value !== 0);
    const workload: Workload = {
      name: 'zap-retry',
      description: 'a THP appears under a zap that read the PMD before',
      params: {},
      schedule: (): Gate[] => [
        { task: 'A', until: readTable },
        { task: 'B', after: readTable, until: by('C', 'fault', (e) => e.addr === AREA) },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const ready = new Completion();
        const zappedByA = new Completion();
        spawnThread(proc, 'setup', function* () {
          yield* sys_mmap(mm, { addr: AREA, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
          yield* user_access(mm, AREA, WORD, true); // not yet THP-eligible: a PTE table and a small folio
          yield* sys_madvise(mm, AREA, PMD_SIZE, MADV_HUGEPAGE);
          yield* complete_all(ready);
        });
        spawnThread(proc, 'A', function* () {
          yield* wait_for_completion(ready);
          expect(yield* sys_madvise(mm, AREA, PMD_SIZE, MADV_DONTNEED)).toBe(0);
          yield* complete_all(zappedByA);
        });
        spawnThread(proc, 'B', function* () {
          yield* wait_for_completion(ready);
          expect(yield* sys_madvise(mm, AREA, PMD_SIZE, MADV_DONTNEED)).toBe(0);
          pmdAfterB = pmd_value(mm, AREA);
        });
        spawnThread(proc, 'C', function* () {
          yield* wait_for_completion(zappedByA);
          yield* user_access(mm, AREA + 64, WORD, true);
        });
      },
    };
    for (const seed of [1, 2]) {
      const t = runTrace(workload, { seed });
      expect(t.result.outcome).toBe('done');
      expect(t.of('warn')).toHaveLength(0);
      expect(t.of('fault', 'C').map((e) => e.how)).toEqual(['do_huge_pmd_anonymous_page']);
      // B read the PMD: the table; then, its map failing, the THP, which it zapped (zap_huge_pmd
      // reads it again under pmd_lock).
      const reads = t.of('pgtable_read', 'B', (e) => e.level === 'pmd' && e.addr === AREA).map((e) => e.value);
      expect(reads.map(entry_huge)).toEqual([false, true, true, true]);
      expect(t.of('pgtable_set', 'B', (e) => e.addr === AREA && entry_huge(e.old) && e.value === 0)).toHaveLength(1);
      expect(pmdAfterB).toBe(0);
    }
  });
});

describe('PT_RECLAIM: the slow path', () => {
  it('with pmd_lock held elsewhere at the fast path, the zap drops the PTL and then takes pmd_lock, maps the table afresh and locks it, and frees it', () => {
    let pmdAfter = -1;
    let pmlId = 0;
    const failed = by('Z', 'spin_contended', (e) => e.lock === pmlId && !e.queued);
    const workload: Workload = {
      name: 'reclaim-slow',
      description: 'PT_RECLAIM whose pmd_lock trylock fails',
      params: {},
      schedule: (): Gate[] => [
        // H holds pmd_lock from before Z's zap until Z's trylock has failed.
        { task: 'Z', until: by('H', 'spin_lock', (e) => e.lock === pmlId) },
        { task: 'H', after: by('H', 'spin_lock', (e) => e.lock === pmlId), until: failed },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const ready = new Completion();
        spawnThread(proc, 'setup', function* () {
          yield* sys_mmap(mm, { addr: AREA, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
          yield* user_access(mm, AREA, WORD, true);
          pmlId = pmd_lockptr(mm, pmd_slot(mm, AREA)).id;
          yield* complete_all(ready);
        });
        spawnThread(proc, 'H', function* () {
          yield* wait_for_completion(ready);
          const pml = pmd_lockptr(mm, pmd_slot(mm, AREA));
          yield* spin_lock(pml);
          yield* spin_unlock(pml);
        });
        spawnThread(proc, 'Z', function* () {
          yield* wait_for_completion(ready);
          expect(yield* sys_madvise(mm, AREA, PMD_SIZE, MADV_DONTNEED)).toBe(0);
          pmdAfter = pmd_value(mm, AREA);
        });
      },
    };
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    expect(t.of('warn')).toHaveLength(0);
    const trylock = t.of('spin_contended', 'Z', (e) => e.lock === pmlId)[0]!;
    const after = t.byTask('Z').filter((e) => e.seq > trylock.seq).map((e) => {
      if (e.kind === 'spin_lock' || e.kind === 'spin_unlock') return `${e.kind} ${e.lock === pmlId ? 'pml' : 'ptl'}`;
      if (e.kind === 'pgtable_read') return `read ${e.level}`;
      if (e.kind === 'pgtable_set') return e.value === 0 && e.addr === AREA ? 'pmd_clear' : 'set';
      return e.kind;
    });
    // Out of the PTL and the RCU section first; then pmd_lock, the map (RCU, the PMD read), the PTL.
    const slow = after.slice(0, after.indexOf('pmd_clear') + 1);
    expect(slow).toEqual([
      'spin_unlock ptl', 'rcu_read_unlock',
      'spin_lock pml', 'rcu_read_lock', 'read pmd', 'spin_lock ptl', 'rcu_read_unlock', 'pmd_clear',
    ]);
    expect(after).toContain('pgtable_free');
    expect(pmdAfter).toBe(0);
  });
});
