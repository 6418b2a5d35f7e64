/**
 * Where the TLB is flushed, as x86's mmu_gather does it (include/asm-generic/tlb.h without
 * MMU_GATHER_MERGE_VMAS): at the end of each VMA's zap or protection change (tlb_end_vma), for the
 * present entries it cleared or changed; again in tlb_finish_mmu for the page tables freed; then
 * the tables are queued, and only then are the unmapped folios put.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

// Alone in its 2 MiB (and 1 GiB) range, so munmap frees its PTE table (and the PMD table).
const X = 0x7c00_0000;

function run(body: (mm: MmStruct) => Gen): { t: Trace; after: (seq: number) => Trace['events'] } {
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    spawnThread(proc, 'mapper', () => body(proc.mm));
  });
  expect(t.result.outcome).toBe('done');
  return { t, after: (seq) => t.byTask('mapper').filter((e) => e.seq > seq) };
}

const syscallOf = (t: Trace, n: number) => t.of('call_enter', 'mapper', (e) => e.fn === '__vm_munmap' || e.fn === 'mprotect_fixup')[n]!.seq;

describe('TLB flushes (mmu_gather)', () => {
  it('munmap: the cleared PTE is flushed before the page tables are unlinked, the freed tables after, then the tables are queued and the folio put', () => {
    const { t, after } = run(function* (mm) {
      yield* sys_mmap(mm, { addr: X, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(mm, X + PAGE_SIZE, Uint8Array.of(1), true);
      yield* sys_munmap(mm, X, 2 * PAGE_SIZE);
    });
    const evs = after(syscallOf(t, 0));
    const flushes = evs.filter((e) => e.kind === 'tlb_flush') as { seq: number; start: number; end: number }[];
    // Only the present PTE goes into the first range (the untouched page had none).
    expect(flushes.map((e) => [e.start, e.end])).toEqual([[X + PAGE_SIZE, X + 2 * PAGE_SIZE], [X, X + PAGE_SIZE]]);
    const firstUnlink = evs.find((e) => e.kind === 'call_enter' && (e as { fn: string }).fn === 'free_pgtables')!;
    const queued = evs.filter((e) => e.kind === 'pgtable_free');
    const put = evs.filter((e) => e.kind === 'folio_put');
    expect(flushes[0]!.seq).toBeLessThan(firstUnlink.seq);
    expect(flushes[1]!.seq).toBeGreaterThan(firstUnlink.seq);
    expect(queued.length).toBeGreaterThan(0);
    expect(queued[0]!.seq).toBeGreaterThan(flushes[1]!.seq);
    expect(put.length).toBeGreaterThan(0);
    expect(put[0]!.seq).toBeGreaterThan(queued.at(-1)!.seq);
  });

  it('munmap of a mapping never touched: no page table, nothing to flush', () => {
    const { t, after } = run(function* (mm) {
      yield* sys_mmap(mm, { addr: X, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_munmap(mm, X, PAGE_SIZE);
    });
    expect(after(syscallOf(t, 0)).filter((e) => e.kind === 'tlb_flush')).toEqual([]);
  });

  it('mprotect flushes the present entries it changed, and nothing when none changed', () => {
    const { t, after } = run(function* (mm) {
      yield* sys_mmap(mm, { addr: X, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(mm, X, Uint8Array.of(1), true);
      yield* sys_mprotect(mm, X, 2 * PAGE_SIZE, PROT_READ); // the written page's PTE loses write
      yield* sys_mprotect(mm, X, 2 * PAGE_SIZE, PROT_READ); // no change at all
    });
    const first = after(syscallOf(t, 0)).filter((e) => e.seq < syscallOf(t, 1) && e.kind === 'tlb_flush') as { start: number; end: number }[];
    expect(first.map((e) => [e.start, e.end])).toEqual([[X, X + PAGE_SIZE]]);
    expect(after(syscallOf(t, 1)).filter((e) => e.kind === 'tlb_flush')).toEqual([]);
  });
});

describe('what the zap does to each folio (zap_present_folio_ptes)', () => {
  it('an anonymous folio is not marked dirty or accessed; a shared file folio takes the dirty bit and is marked accessed; the zero page\'s entry is flushed too', () => {
    let fileFolio = 0;
    const { t, after } = run(function* (mm) {
      const file = yield* create_file('/data/shared', new Uint8Array(PAGE_SIZE));
      yield* sys_mmap(mm, { addr: X, len: 3 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_mmap(mm, { addr: X + 4 * PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file, pgoff: 0 });
      yield* user_access(mm, X, Uint8Array.of(1), true); // an anonymous page, dirty
      yield* user_access(mm, X + 2 * PAGE_SIZE, new Uint8Array(8), false); // the zero page
      yield* user_access(mm, X + 4 * PAGE_SIZE, Uint8Array.of(2), true); // the file page, dirty
      fileFolio = file.i_pages.get(0)!.id;
      yield* sys_munmap(mm, X, 5 * PAGE_SIZE);
    });
    const evs = after(syscallOf(t, 0));
    expect(evs.filter((e) => e.kind === 'folio_mark_dirty').map((e) => (e as { folio: number }).folio)).toEqual([fileFolio]);
    expect(evs.filter((e) => e.kind === 'folio_mark_accessed').map((e) => (e as { folio: number }).folio)).toEqual([fileFolio]);
    // The first VMA's flush covers its anonymous page and the zero page.
    const flushes = evs.filter((e) => e.kind === 'tlb_flush') as { start: number; end: number }[];
    expect(flushes[0]).toMatchObject({ start: X, end: X + 3 * PAGE_SIZE });
  });
});
