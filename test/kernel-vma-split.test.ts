/**
 * The VMA tree keeps its own ranges (lib/maple_tree.c), and munmap's gather splits the last VMA
 * inside its loop (mm/vma.c vms_gather_munmap_vmas):
 *  - __split_vma() shrinks the original VMA and then stores the new one over the part split off;
 *    until that store the tree maps the part to the original, write-locked, so a lockless reader
 *    there finds it (and backs off) rather than finding no VMA;
 *  - the VMAs before the last are write-locked and detached before the last is split.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { MapleTree } from '../src/linux/lib/maple_tree.js';
import { lock_vma_under_rcu } from '../src/linux/mm/mmap_lock.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type VmAreaStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { by, type Gate } from '../src/sim/directed.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

interface Entry {
  name: string;
  vm_start: number;
  vm_end: number;
}

function entry(name: string, vm_start: number, vm_end: number): Entry {
  return { name, vm_start, vm_end };
}

describe('the maple tree maps ranges it stored, not the VMAs\' live bounds', () => {
  it('a shrunk entry keeps its old range until a store over it; the store trims the entry it overlaps', () => {
    const tree = new MapleTree<Entry>();
    const orig = entry('orig', 0x1000, 0x4000);
    tree.store(orig);
    orig.vm_end = 0x2000; // __split_vma shrinks the original first ...
    expect(tree.load(0x3000)).toBe(orig); // ... and the tree still maps the part split off to it
    expect(tree.find(0x2000)).toBe(orig);
    const part = entry('part', 0x2000, 0x4000);
    tree.store(part); // ... until the new VMA is stored over it
    expect(tree.load(0x1fff)).toBe(orig);
    expect(tree.load(0x2000)).toBe(part);
    expect(tree.load(0x3fff)).toBe(part);
    expect(tree.all()).toEqual([orig, part]);
    expect(tree.next(orig)).toBe(part);
    expect(tree.prev(0x2000)).toBe(orig);
  });

  it('a store covers entries wholly inside it, trims one at each edge, and moves an entry stored again', () => {
    const tree = new MapleTree<Entry>();
    const [a, b, c, d] = [entry('a', 0x1000, 0x3000), entry('b', 0x3000, 0x4000), entry('c', 0x4000, 0x5000), entry('d', 0x5000, 0x8000)];
    for (const e of [a, b, c, d]) tree.store(e);
    const big = entry('big', 0x2000, 0x6000);
    tree.store(big);
    expect(tree.all()).toEqual([a, big, d]);
    expect(tree.load(0x1fff)).toBe(a);
    expect(tree.load(0x2000)).toBe(big);
    expect(tree.load(0x5fff)).toBe(big);
    expect(tree.load(0x6000)).toBe(d);
    expect(tree.overlapping(0x1000, 0x5001)).toEqual([a, big]);
    // An entry that grows is stored again: its old range goes, the new one overwrites.
    a.vm_start = 0x0;
    a.vm_end = 0x1000;
    tree.store(a);
    expect(tree.load(0x1000)).toBeUndefined();
    expect(tree.load(0x0)).toBe(a);
    expect(tree.size).toBe(3);
    tree.erase(big);
    expect(tree.load(0x3000)).toBeUndefined();
    expect(tree.find(0x3000)).toBe(d);
  });

  it('refuses a store strictly inside one entry (it would split the entry in two)', () => {
    const tree = new MapleTree<Entry>();
    tree.store(entry('a', 0x1000, 0x4000));
    expect(() => tree.store(entry('b', 0x2000, 0x3000))).toThrow(/inside/);
  });
});

describe('__split_vma and the gather (mm/vma.c)', () => {
  it('a lockless reader in the part being split off, between the shrink and the store, finds the original VMA write-locked', () => {
    // munmap of a two-page VMA's upper page splits it with the new VMA below: the original shrinks to
    // the upper page, and the lower page stays the original's in the tree until the new VMA is stored.
    let vma!: VmAreaStruct;
    let lower = 0;
    let got: VmAreaStruct | null | undefined;
    const shrunk = by('writer', 'vma_adjust', (e) => e.vma === vma.id);
    const tried = by('reader', 'vma_start_read');
    const workload: Workload = {
      name: 'split-window',
      description: 'a VMA lookup inside __split_vma',
      params: {},
      schedule: (): Gate[] => [
        { task: 'reader', until: shrunk },
        { task: 'writer', after: shrunk, until: tried },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const mapped = new Completion();
        spawnThread(proc, 'writer', function* () {
          const addr = yield* sys_mmap(mm, { addr: 0, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          vma = mm.mm_mt.load(addr)!;
          lower = addr;
          yield* complete_all(mapped);
          yield* sys_munmap(mm, addr + PAGE_SIZE, PAGE_SIZE);
        });
        spawnOutsider('reader', function* () {
          yield* wait_for_completion(mapped);
          got = yield* lock_vma_under_rcu(mm, lower);
        });
      },
    };
    for (const seed of [1, 2, 3]) {
      const t = runTrace(workload, { seed });
      expect(t.result.outcome).toBe('done');
      expect(got).toBeNull();
      const shrink = t.of('vma_adjust', 'writer', (e) => e.vma === vma.id)[0]!;
      expect(shrink.start).toBe(lower + PAGE_SIZE);
      const walk = t.of('mas_walk', 'reader')[0]!;
      // The lookup came inside the window, at the page split off, and found the original.
      expect(walk.seq).toBeGreaterThan(shrink.seq);
      expect(walk.addr).toBe(lower);
      expect(walk.vma).toBe(vma.id);
      const newVma = t.of('vma_mark_attached', 'writer', (e) => e.seq > shrink.seq && e.start === lower)[0]!;
      expect(walk.seq).toBeLessThan(newVma.seq);
      expect(t.of('vma_start_read', 'reader').map((e) => [e.vma, e.result])).toEqual([[vma.id, 'locked_out']]);
    }
  });

  it('munmap across VMAs write-locks and detaches the earlier ones before it splits the last', () => {
    // Y (one page, read-only) sits right below X (two pages, read-write): munmap of Y and X's lower
    // page detaches Y, then splits X at the end of the range, then detaches X's lower part.
    let x!: VmAreaStruct;
    let y!: VmAreaStruct;
    const workload: Workload = {
      name: 'gather-order',
      description: 'munmap of a VMA and part of the next',
      params: {},
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        spawnThread(proc, 'writer', function* () {
          const xAddr = yield* sys_mmap(mm, { addr: 0, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          const yAddr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          x = mm.mm_mt.load(xAddr)!;
          y = mm.mm_mt.load(yAddr)!;
          expect(y.vm_end).toBe(x.vm_start);
          expect(yield* sys_munmap(mm, yAddr, 2 * PAGE_SIZE)).toBe(0);
        });
      },
    };
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    const mappedY = t.of('vma_mark_attached', 'writer', (e) => e.vma === y.id)[0]!.seq;
    const detached = (vma: number) => (vma === y.id ? 'detach Y' : vma === x.id ? 'detach X' : `detach ${vma}`);
    const steps = t.byTask('writer').filter((e) => e.seq > mappedY).flatMap((e) => {
      if (e.kind === 'vma_create') return ['split'];
      return e.kind === 'vma_mark_detached' ? [detached(e.vma)] : [];
    });
    expect(steps).toEqual(['detach Y', 'split', 'detach X']);
    // X kept the lower page (new VMA above, as the end split does), and it was unmapped.
    expect(x.vm_refcnt).toBe(0);
  });
});
