/**
 * A new anonymous page goes on the LRU under the PTE lock, before its PTE is set (do_anonymous_page,
 * set_pte_range and wp_page_copy: folio_add_new_anon_rmap, folio_add_lru_vma, then set_pte), so a
 * reclaim that finds it mapped finds it on the LRU too. A private write to a file page holds the
 * source page locked and referenced until the copy is mapped (do_cow_fault).
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { by, type Gate } from '../src/sim/directed.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { PMD_SIZE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { spawn_process, thread } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import { runBoot, runTrace } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const X = 0x7000_0000;
/** Alone in its 2 MiB, so MADV_DONTNEED of all of it frees the PTE table (PT_RECLAIM). */
const Y = 0x7e00_0000;

describe('the order of an anonymous fault', () => {
  for (const [what, first] of [['a write to a new page (do_anonymous_page)', true], ['a write to the zero page (wp_page_copy)', false]] as const) {
    it(`${what}: rmap, the LRU under lru_lock, then the PTE, all under the PTE lock${first ? '' : ', after the old entry is cleared and flushed'}`, () => {
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
      if (!first) {
        // wp_page_copy: the zero page's entry is cleared and flushed before anything else (ptep_clear_flush).
        const cleared = t.of('pgtable_set', 'toucher', (e) => e.addr === X && e.value === 0 && e.seq > ptl.seq && e.seq < set.seq);
        const flushed = t.of('tlb_flush', 'toucher', (e) => e.start === X && e.seq > ptl.seq && e.seq < set.seq);
        expect(cleared).toHaveLength(1);
        expect(flushed).toHaveLength(1);
        expect(cleared[0]!.seq).toBeLessThan(flushed[0]!.seq);
        expect(flushed[0]!.seq).toBeLessThan(lru[0]!.seq);
      }
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

describe('an anonymous write fault whose PTE table goes while it allocates (do_anonymous_page)', () => {
  it('gives the folio back and returns; the access faults again and makes both anew (no table allocated in the first fault)', () => {
    const workload: Workload = {
      name: 'table-gone',
      description: 'MADV_DONTNEED frees the empty PTE table between a fault\'s table and its mapping',
      params: {},
      schedule: (): Gate[] => [
        { task: 'dontneeder', until: by('toucher', 'folio_alloc') },
        { task: 'toucher', after: by('toucher', 'folio_alloc'), until: by('dontneeder', 'pgtable_free') },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mapped = new Completion();
        thread(proc, 'mapper', function* () {
          yield* sys_mmap(proc.mm, { addr: Y, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
          yield* complete_all(mapped);
        });
        thread(proc, 'toucher', function* () {
          yield* wait_for_completion(mapped);
          yield* user_access(proc.mm, Y, Uint8Array.of(1), true);
        });
        thread(proc, 'dontneeder', function* () {
          yield* wait_for_completion(mapped);
          yield* sys_madvise(proc.mm, Y, PMD_SIZE, MADV_DONTNEED);
        });
      },
    };
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    const faults = t.of('fault', 'toucher', (e) => e.addr === Y);
    expect(faults).toHaveLength(2);
    const [first, second] = [faults[0]!, faults[1]!];
    const allocs = t.of('folio_alloc', 'toucher');
    expect(allocs).toHaveLength(2);
    const freed = t.of('pgtable_free', 'dontneeder')[0]!;
    // The first fault's table went after its folio was allocated; it allocates no other one.
    expect(allocs[0]!.seq).toBeLessThan(freed.seq);
    expect(t.of('pgtable_alloc', 'toucher', (e) => e.seq > allocs[0]!.seq && e.seq < first.seq)).toEqual([]);
    expect(t.of('folio_free', 'toucher', (e) => e.folio === allocs[0]!.folio && e.seq < first.seq)).toHaveLength(1);
    // The second fault maps a folio of its own, in a table of its own.
    expect(t.of('pgtable_alloc', 'toucher', (e) => e.seq > first.seq && e.seq < second.seq).length).toBeGreaterThan(0);
    expect(allocs[1]!.seq).toBeGreaterThan(first.seq);
  });
});
