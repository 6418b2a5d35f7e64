/**
 * MAP_FIXED over a mapping (mm/vma.c __mmap_region): the old VMAs are gathered (write-locked and
 * detached) but stay in the tree while their page tables are cleared, the new VMA is allocated and
 * stored over them, and only then are they freed. So the new VMA is never the old object, and a
 * lockless reader during the zap finds the old VMA write-locked, not a hole.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { by, type Gate } from '../src/sim/directed.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { lock_vma_under_rcu } from '../src/linux/mm/mmap_lock.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type VmAreaStruct } from '../src/linux/mm/mm_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { outsider, spawn_process, thread } from '../src/workloads/lib.js';
import type { Workload } from '../src/workloads/workload.js';
import { runTrace } from './helpers/harness.js';

const AREA = 0x7000_0000;
const FIXED = { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED };

describe('MAP_FIXED over a mapping', () => {
  it('clears the old page tables with the old VMA still in the tree, stores the new VMA over it, then frees it: the new VMA is another object, and a lockless reader meanwhile finds the old one write-locked', () => {
    let old!: VmAreaStruct;
    let got: VmAreaStruct | null | undefined;
    const zapping = by('writer', 'call_enter', (e) => e.fn === 'unmap_vmas');
    const workload: Workload = {
      name: 'map-fixed',
      description: 'MAP_FIXED over a touched page while a lockless reader looks it up',
      params: {},
      // The reader looks the address up while the writer zaps the old page.
      schedule: (): Gate[] => [
        { task: 'reader', until: zapping },
        { task: 'writer', after: zapping, until: by('reader', 'call_exit', (e) => e.fn === 'lock_vma_under_rcu') },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const mapped = new Completion();
        thread(proc, 'setup', function* () {
          yield* sys_mmap(mm, FIXED);
          yield* user_access(mm, AREA, new Uint8Array(PAGE_SIZE).fill(0x4f), true);
          old = mm.mm_mt.load(AREA)!;
          yield* complete_all(mapped);
        });
        thread(proc, 'writer', function* () {
          yield* wait_for_completion(mapped);
          yield* sys_mmap(mm, FIXED);
        });
        outsider('reader', function* () {
          yield* wait_for_completion(mapped);
          got = yield* lock_vma_under_rcu(mm, AREA);
        });
      },
    };
    for (const seed of [1, 2, 3]) {
      const t = runTrace(workload, { seed });
      expect(t.result.outcome).toBe('done');
      // The reader's walk found the old VMA, write-locked: ABORT, not a missing VMA.
      expect(got).toBeNull();
      expect(t.of('mas_walk', 'reader').map((e) => e.vma)).toEqual([old.id]);
      expect(t.of('vma_start_read', 'reader').map((e) => [e.vma, e.result])).toEqual([[old.id, 'locked_out']]);
      // The order of the writer's work: zap, the new VMA, its store, then the old one freed.
      const zap = t.of('call_enter', 'writer', (e) => e.fn === 'unmap_vmas')[0]!;
      const created = t.of('vma_create', 'writer').at(-1)!;
      const attached = t.of('vma_mark_attached', 'writer').at(-1)!;
      const freed = t.of('vma_free', 'writer');
      expect(created.vma).not.toBe(old.id);
      expect(attached.vma).toBe(created.vma);
      expect(freed.map((e) => e.vma)).toEqual([old.id]);
      expect(zap.seq).toBeLessThan(created.seq);
      expect(attached.seq).toBeLessThan(freed[0]!.seq);
    }
  });
});
