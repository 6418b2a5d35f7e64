/**
 * Freed page tables and tables() (the pfn -> table registry, mm_types.ts): a walker that read a
 * table's pfn before the table was freed still reaches the freed table and is caught reading it
 * (use_after_free), as long as the RCU read-side section it read the pfn in is open; once every
 * section open at the free has ended, no walker can hold the pfn and the table leaves the registry,
 * so the registry does not grow with every table a long run frees (pgtable.ts FreedTables).
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { rcu_read_lock, rcu_read_unlock } from '../src/linux/kernel/rcu/tree.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { entry_ptr, entry_table, freed_tables, read_entry, tables } from '../src/linux/mm/pgtable.js';
import { spawn_process } from '../src/workloads/lib.js';
import { pmd_value } from '../src/workloads/thp.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

/** Each alone in its 512 GiB PGD slot: munmap frees their PUD, PMD and PTE tables. */
const FIRST = 0x100000000000;
const SECOND = 0x200000000000;
const LEN = 4 * PAGE_SIZE;

function* map_and_touch(mm: MmStruct, addr: number): Gen {
  const got = yield* sys_mmap(mm, { addr, len: LEN, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  if (got !== addr) throw new Error(`mmap returned ${got}`);
  yield* user_access(mm, addr, new Uint8Array([1]), true);
}

interface Seen {
  /** Is the first region's PTE table still in tables() right after its munmap? */
  afterFree: boolean;
  /** ... and after the reader left and the second region's tables were freed? */
  afterReaderLeft: boolean;
  /** Freed tables held when the run ends. */
  heldAtEnd: number;
}

/**
 * The target maps and unmaps FIRST, then SECOND. With `reader`, a task reads FIRST's PMD entry
 * inside rcu_read_lock() before the first munmap, and after it resolves the pfn and reads the
 * table, then leaves the section before the second munmap. Tables are freed at once
 * (CONFIG_MMU_GATHER_RCU_TABLE_FREE=n), so the reader's section does not hold the free back.
 */
function scenario(reader: boolean, seed: number) {
  const seen: Seen = { afterFree: false, afterReaderLeft: false, heldAtEnd: -1 };
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const mm = proc.mm;
    const mapped = new Completion();
    const pmdRead = new Completion();
    const unmapped = new Completion();
    const readerLeft = new Completion();
    let ptePfn = 0;
    spawnThread(proc, 'target/0', function* () {
      yield* map_and_touch(mm, FIRST);
      ptePfn = entry_pfn(pmd_value(mm, FIRST));
      yield* complete_all(mapped);
      if (reader) yield* wait_for_completion(pmdRead);
      yield* sys_munmap(mm, FIRST, LEN);
      seen.afterFree = tables().has(ptePfn);
      yield* complete_all(unmapped);
      if (reader) yield* wait_for_completion(readerLeft);
      yield* map_and_touch(mm, SECOND);
      yield* sys_munmap(mm, SECOND, LEN);
      seen.afterReaderLeft = tables().has(ptePfn);
      seen.heldAtEnd = freed_tables().size;
    });
    if (reader) {
      spawnOutsider('walker', function* () {
        yield* wait_for_completion(mapped);
        yield* rcu_read_lock();
        const pmdval = pmd_value(mm, FIRST); // pmdp_get_lockless, before the free
        yield* complete_all(pmdRead);
        yield* wait_for_completion(unmapped);
        const pte = entry_table(pmdval); // the stale pfn still names the (freed) table
        yield* read_entry(entry_ptr(pte, FIRST), true);
        yield* rcu_read_unlock();
        yield* complete_all(readerLeft);
      });
    }
  }, { seed, config: { CONFIG_MMU_GATHER_RCU_TABLE_FREE: false } });
  return { trace, seen };
}

describe('freed page tables stay reachable by pfn only while an RCU reader open at the free may hold it', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: a table freed with no reader inside leaves tables() at its free`, () => {
      const { seen } = scenario(false, seed);
      expect(seen.afterFree).toBe(false);
      expect(seen.afterReaderLeft).toBe(false);
      expect(seen.heldAtEnd).toBe(0);
    });

    it(`seed ${seed}: a walker inside rcu_read_lock() across the free reaches the freed table and is caught; the table leaves once the walker has`, () => {
      const { trace, seen } = scenario(true, seed);
      expect(seen.afterFree).toBe(true);
      const uaf = trace.of('use_after_free', 'walker');
      expect(uaf.map((e) => e.what)).toEqual(['page table read after free']);
      expect(seen.afterReaderLeft).toBe(false);
      expect(seen.heldAtEnd).toBe(0);
    });
  }
});
