/**
 * A new anonymous page goes on the LRU under the PTE lock, before its PTE is set (do_anonymous_page,
 * set_pte_range and wp_page_copy: folio_add_new_anon_rmap, folio_add_lru_vma, then set_pte), so a
 * reclaim that finds it mapped finds it on the LRU too.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const X = 0x7000_0000;

describe('the order of an anonymous fault', () => {
  for (const [what, first] of [['a write to a new page (do_anonymous_page)', true], ['a write to the zero page (wp_page_copy)', false]] as const) {
    it(`${what}: rmap, the LRU under lru_lock, then the PTE, all under the PTE lock`, () => {
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        spawnThread(proc, 'toucher', function* () {
          yield* sys_mmap(proc.mm, { addr: X, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
          if (!first) yield* user_access(proc.mm, X, new Uint8Array(8), false); // map the zero page
          yield* user_access(proc.mm, X, Uint8Array.of(1), true);
        });
      });
      expect(t.result.outcome).toBe('done');
      const set = t.of('pgtable_set', 'toucher', (e) => e.addr === X).at(-1)!;
      const ptl = t.of('spin_lock', 'toucher', (e) => e.class === 'ptl' && e.seq < set.seq).at(-1)!;
      const unlock = t.of('spin_unlock', 'toucher', (e) => e.class === 'ptl' && e.seq > set.seq)[0]!;
      const lru = t.of('spin_lock', 'toucher', (e) => e.class === 'lru_lock' && e.seq > ptl.seq && e.seq < unlock.seq);
      expect(lru).toHaveLength(1);
      expect(lru[0]!.seq).toBeLessThan(set.seq);
      expect(t.of('warn')).toEqual([]);
    });
  }
});
