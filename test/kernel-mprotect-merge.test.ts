/**
 * mprotect merges before it splits or changes a page table (mm/mprotect.c mprotect_fixup() ->
 * vma_modify_flags() -> vma_merge_existing_range()): a range that starts or ends where the VMA does
 * joins a neighbour that has the new flags, growing it and shrinking the VMA in place, or removing
 * the VMA when the range is all of it; write locks go middle, next, prev; only then do the PTEs
 * change. With no neighbour to join, the range is split off.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const X = 0x7000_0000;
const RW = PROT_READ | PROT_WRITE;
const RO = PROT_READ;
const page = (n: number) => X + n * PAGE_SIZE;

/**
 * Map each [first page, pages, prot] at X (neighbours with different flags stay apart), write to
 * the `touch` pages, then mprotect pages [from, to): the VMAs after as [id, start, end, pgoff] in
 * pages from X, the VMA ids as mapped, and a filter for the events of the mprotect.
 */
function scenario(maps: [number, number, number][], from: number, to: number, prot: number, touch: number[] = []) {
  let mm!: MmStruct;
  const ids = new Map<number, number>();
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    spawnThread(proc, 'mapper', function* () {
      for (const [first, pages, p] of maps) {
        yield* sys_mmap(mm, { addr: page(first), len: pages * PAGE_SIZE, prot: p, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        // (touched pages must be in writable mappings)
        for (const n of touch) if (n >= first && n < first + pages) yield* user_access(mm, page(n), Uint8Array.of(7), true);
        ids.set(first, mm.mm_mt.load(page(first))!.id);
      }
      yield* sys_mprotect(mm, page(from), (to - from) * PAGE_SIZE, prot);
    });
  });
  expect(t.result.outcome).toBe('done');
  const vmas = mm.mm_mt.overlapping(X, page(8)).map((v) => [v.id, (v.vm_start - X) / PAGE_SIZE, (v.vm_end - X) / PAGE_SIZE, v.vm_pgoff - X / PAGE_SIZE]);
  const anon = mm.mm_mt.overlapping(X, page(8)).map((v) => v.anon_vma);
  const call = t.of('call_enter', 'mapper', (e) => e.fn === 'mprotect_fixup').at(-1)!;
  return { t, ids, vmas, anon, during: (e: { seq: number }) => e.seq > call.seq };
}

const made = (s: { t: Trace; during: (e: { seq: number }) => boolean }) => s.t.of('vma_create', 'mapper').filter(s.during).length;
const freed = (s: { t: Trace; during: (e: { seq: number }) => boolean }) => s.t.of('vma_free', 'mapper').filter(s.during).map((e) => e.vma);
const locked = (s: { t: Trace; during: (e: { seq: number }) => boolean }) => s.t.of('vma_start_write', 'mapper').filter(s.during).map((e) => e.vma);

describe('mprotect_fixup merges first (vma_modify_flags)', () => {
  it('the start of a VMA joins the previous one: prev grows, the VMA shrinks in place, nothing is made or freed', () => {
    const s = scenario([[0, 1, RW], [1, 2, RO]], 1, 2, RW);
    const [a, b] = [s.ids.get(0)!, s.ids.get(1)!];
    expect(s.vmas).toEqual([[a, 0, 2, 0], [b, 2, 3, 2]]);
    expect([made(s), freed(s)]).toEqual([0, []]);
    expect(locked(s)).toEqual([b, a]);
  });

  it('the end of a VMA joins the next one: next grows down, the VMA shrinks in place', () => {
    const s = scenario([[0, 2, RO], [2, 1, RW]], 1, 2, RW);
    const [a, b] = [s.ids.get(0)!, s.ids.get(2)!];
    expect(s.vmas).toEqual([[a, 0, 1, 0], [b, 1, 3, 1]]);
    expect([made(s), freed(s)]).toEqual([0, []]);
    expect(locked(s)).toEqual([a, b]);
  });

  it('a whole VMA between two that match: prev grows over both, the VMA and next are removed; locks middle, next, prev', () => {
    const s = scenario([[0, 1, RW], [1, 1, RO], [2, 1, RW]], 1, 2, RW);
    const [a, b, c] = [s.ids.get(0)!, s.ids.get(1)!, s.ids.get(2)!];
    expect(s.vmas).toEqual([[a, 0, 3, 0]]);
    expect(made(s)).toBe(0);
    expect(freed(s)).toEqual([b, c]);
    expect(locked(s)).toEqual([b, c, a]);
  });

  it('the page tables change after the merge, under the merged VMA', () => {
    const s = scenario([[0, 1, RO], [1, 1, RW]], 1, 2, RO, [1]);
    const a = s.ids.get(0)!;
    expect(s.vmas).toEqual([[a, 0, 2, 0]]);
    const grown = s.t.of('vma_adjust', 'mapper', (e) => e.vma === a).filter(s.during);
    const setPte = s.t.of('pgtable_set', 'mapper', (e) => e.addr === page(1)).filter(s.during);
    expect(grown).toHaveLength(1);
    expect(setPte).toHaveLength(1);
    expect(grown[0]!.seq).toBeLessThan(setPte[0]!.seq);
  });

  it('nothing to join: the range is split off at both ends', () => {
    const s = scenario([[0, 3, RW]], 1, 2, RO);
    const a = s.ids.get(0)!;
    expect(made(s)).toBe(2);
    expect(s.vmas.map(([, start, end, pgoff]) => [start, end, pgoff])).toEqual([[0, 1, 0], [1, 2, 1], [2, 3, 2]]);
    expect(s.vmas.map(([id]) => id)).toContain(a);
  });
  it('the VMA that takes over written pages takes their anon_vma (dup_anon_vma), so its next write fault need not prepare one', () => {
    const s = scenario([[0, 1, RO], [1, 2, RW]], 1, 2, RO, [1]);
    const [a, b] = [s.ids.get(0)!, s.ids.get(1)!];
    expect(s.vmas).toEqual([[a, 0, 2, 0], [b, 2, 3, 2]]);
    expect(s.anon).toEqual([true, true]);
  });
});
