/**
 * A new mapping merges with its neighbours as vma_merge_new_range() (mm/vma.c) merges it: with the
 * previous VMA (it grows up), the next (it grows down), or both (the previous one grows over the
 * range and the next, which is removed), when the attributes match and vm_pgoff is contiguous; a
 * private anonymous VMA's vm_pgoff is its address in pages. VM_SPECIAL mappings never merge.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_mmap_special, sys_munmap,
} from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, VM_IO, type MmStruct } from '../src/linux/mm/mm_types.js';
import { mmap_mem_ops } from '../src/workloads/special-vmas.js';
import { EINVAL } from '../src/linux/include/errno.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { MREMAP_MAYMOVE, sys_mremap } from '../src/linux/mm/mremap.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const X = 0x7000_0000;
const anon = (page: number, prot = PROT_READ | PROT_WRITE) => ({ addr: X + page * PAGE_SIZE, len: PAGE_SIZE, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });

/** Run `maps` in one thread of a fresh process; the VMAs of [X, X + 4 pages) after, as [start page, end page, pgoff]. */
function mapping(maps: (mm: MmStruct) => Gen): { t: Trace; vmas: number[][] } {
  let mm!: MmStruct;
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    spawnThread(proc, 'mapper', () => maps(mm));
  });
  expect(t.result.outcome).toBe('done');
  const vmas = mm.mm_mt.overlapping(X, X + 4 * PAGE_SIZE).map((v) => [(v.vm_start - X) / PAGE_SIZE, (v.vm_end - X) / PAGE_SIZE, v.vm_pgoff]);
  return { t, vmas };
}

describe('vma_merge_new_range', () => {
  it('a private anonymous mapping has its address in pages as vm_pgoff, and merges with the previous VMA: it grows up', () => {
    const { t, vmas } = mapping(function* (mm) {
      yield* sys_mmap(mm, anon(0));
      yield* sys_mmap(mm, anon(1));
    });
    expect(vmas).toEqual([[0, 2, X / PAGE_SIZE]]);
    expect(t.of('vma_create', 'mapper', (e) => e.start >= X)).toHaveLength(1);
  });

  it('merges with the next VMA: the next one is write-locked and grows down, and no VMA is made', () => {
    const { t, vmas } = mapping(function* (mm) {
      yield* sys_mmap(mm, anon(1));
      yield* sys_mmap(mm, anon(0));
    });
    expect(vmas).toEqual([[0, 2, X / PAGE_SIZE]]);
    const made = t.of('vma_create', 'mapper', (e) => e.start >= X);
    expect(made).toHaveLength(1);
    const grown = t.of('vma_adjust', 'mapper', (e) => e.vma === made[0]!.vma);
    expect(grown.map((e) => [e.start, e.end])).toEqual([[X, X + 2 * PAGE_SIZE]]);
    const locked = t.of('vma_start_write', 'mapper', (e) => e.vma === made[0]!.vma);
    expect(locked.at(-1)!.seq).toBeLessThan(grown[0]!.seq);
  });

  it('merges both ways: the previous VMA grows over the range and the next, which is removed', () => {
    const { t, vmas } = mapping(function* (mm) {
      yield* sys_mmap(mm, anon(0));
      yield* sys_mmap(mm, anon(2));
      yield* sys_mmap(mm, anon(1));
    });
    expect(vmas).toEqual([[0, 3, X / PAGE_SIZE]]);
    const made = t.of('vma_create', 'mapper', (e) => e.start >= X).map((e) => e.vma);
    expect(made).toHaveLength(2);
    expect(t.of('vma_free', 'mapper').map((e) => e.vma)).toEqual([made[1]]);
  });

  it('attributes or vm_pgoff that differ keep the VMAs apart', () => {
    const { vmas } = mapping(function* (mm) {
      yield* sys_mmap(mm, anon(0, PROT_READ));
      yield* sys_mmap(mm, anon(1));
    });
    expect(vmas).toEqual([[0, 1, X / PAGE_SIZE], [1, 2, X / PAGE_SIZE + 1]]);
  });

  it('never merges a VM_SPECIAL mapping, even with a contiguous offset', () => {
    const special = { ops: mmap_mem_ops, vm_flags: VM_IO };
    const { vmas } = mapping(function* (mm) {
      yield* sys_mmap_special(mm, { addr: X, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED | MAP_FIXED, pgoff: 0 }, special);
      yield* sys_mmap_special(mm, { addr: X + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED | MAP_FIXED, pgoff: 1 }, special);
    });
    expect(vmas).toEqual([[0, 1, 0], [1, 2, 1]]);
  });
  it('mmap and munmap refuse a length that is not a positive number of bytes (0, NaN, Infinity), mprotect, madvise and mremap one that is not a number of bytes: -EINVAL, and the mapping stays as it was', () => {
    const results: number[] = [];
    const { t, vmas } = mapping(function* (mm) {
      for (const len of [0, NaN, Infinity]) results.push(yield* sys_mmap(mm, { ...anon(0), len }));
      for (const len of [0, NaN, Infinity]) results.push(yield* sys_munmap(mm, X, len));
      // The others take 0 (nothing to do) but no length that is not a number of bytes.
      yield* sys_mmap(mm, anon(0));
      for (const len of [NaN, Infinity]) {
        results.push(yield* sys_mprotect(mm, X, len, PROT_READ));
        results.push(yield* sys_madvise(mm, X, len, MADV_DONTNEED));
        results.push(yield* sys_mremap(mm, X, len, PAGE_SIZE, MREMAP_MAYMOVE));
        results.push(yield* sys_mremap(mm, X, PAGE_SIZE, len, MREMAP_MAYMOVE));
      }
    });
    expect(results).toEqual(Array(14).fill(-EINVAL));
    expect(vmas).toEqual([[0, 1, X / PAGE_SIZE]]);
    expect(t.of('vma_create', 'mapper', (e) => e.start >= X)).toHaveLength(1);
  });
});
