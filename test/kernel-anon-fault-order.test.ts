/**
 * A new anonymous page goes on the LRU under the PTE lock, before its PTE is set (do_anonymous_page,
 * set_pte_range and wp_page_copy: folio_add_new_anon_rmap, folio_add_lru_vma, then set_pte), so a
 * reclaim that finds it mapped finds it on the LRU too. A private write to a file page holds the
 * source page locked and referenced until the copy is mapped (do_cow_fault).
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { create_file } from '../src/linux/mm/filemap.js';
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

describe('the order of a private write to a file page (do_cow_fault)', () => {
  it('the new folio first, then the source locked; the new PTE set while the source is still locked and referenced, which are dropped after', () => {
    let srcId = 0;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      spawnThread(proc, 'writer', function* () {
        const file = yield* create_file('/data/cow', new Uint8Array(PAGE_SIZE).fill(0x61));
        yield* sys_mmap(proc.mm, { addr: X, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_FIXED, file, pgoff: 0 });
        yield* user_access(proc.mm, X, Uint8Array.of(1), true);
        srcId = file.i_pages.get(0)!.id;
      });
    });
    expect(t.result.outcome).toBe('done');
    const fault = t.of('fault', 'writer', (e) => e.addr === X)[0]!;
    expect(fault.how).toBe('do_cow_fault');
    const enter = t.of('call_enter', 'writer', (e) => e.fn === 'handle_mm_fault' && e.seq < fault.seq).at(-1)!;
    const allocs = t.of('folio_alloc', 'writer', (e) => e.seq > enter.seq && e.seq < fault.seq);
    // The copy's folio, then the page cache's (filemap_fault reads the file in).
    expect(allocs.map((e) => e.folio === srcId)).toEqual([false, true]);
    const alloc = allocs[0]!;
    const locked = t.of('folio_flags', 'writer', (e) => e.folio === srcId && e.why === 'folio_lock')[0]!;
    const set = t.of('pgtable_set', 'writer', (e) => e.addr === X)[0]!;
    const unlocked = t.of('folio_flags', 'writer', (e) => e.folio === srcId && e.why === 'folio_unlock').at(-1)!;
    const srcPut = t.of('folio_put', 'writer', (e) => e.folio === srcId && e.seq > set.seq);
    expect(alloc.folio).not.toBe(srcId);
    expect(alloc.seq).toBeLessThan(locked.seq);
    expect(locked.seq).toBeLessThan(set.seq);
    expect(set.seq).toBeLessThan(unlocked.seq);
    expect(srcPut).toHaveLength(1);
    expect(srcPut[0]!.seq).toBeGreaterThan(unlocked.seq);
  });
});
