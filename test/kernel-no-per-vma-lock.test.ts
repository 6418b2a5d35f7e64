/**
 * CONFIG_PER_VMA_LOCK=n (include/linux/mmap_lock.h, its #else stubs): lock_vma_under_rcu() is NULL
 * at once, vma_start_write() does nothing, vma_assert_write_locked() asserts mmap_lock. So no task
 * takes or waits for a VMA lock: MADV_DONTNEED and the fault handler take mmap_lock, and a writer
 * never sleeps on vma_writer_wait.
 */
import { describe, expect, it } from 'vitest';
import { findWorkload } from '../src/workloads/index.js';
import { runTrace } from './helpers/harness.js';

const VMA_LOCK_KINDS = ['vma_start_read', 'vma_start_write', 'vma_refcnt', 'vma_end_read', 'mas_walk'] as const;

describe('CONFIG_PER_VMA_LOCK=n: the per-VMA lock API is its stubs', () => {
  for (const name of ['mixed', 'dontneed-race', 'stuck-writer'] as const) {
    for (const path of ['gup', 'fast'] as const) {
      it(`${name} (${path}): no VMA lock taken, none waited for, no VMA_LOCK_* counted, no warning`, () => {
        const t = runTrace(findWorkload(name)!, { path, seed: 1, config: { CONFIG_PER_VMA_LOCK: false } });
        expect(t.result.outcome).toBe('done');
        for (const kind of VMA_LOCK_KINDS) expect(t.of(kind), kind).toHaveLength(0);
        expect(t.of('vmstat', undefined, (e) => e.counter.startsWith('VMA_LOCK'))).toHaveLength(0);
        expect(t.of('call_enter', undefined, (e) => e.fn === 'lock_vma_under_rcu')).toHaveLength(0);
        expect(t.of('sched_block', undefined, (e) => e.wait === 'vma_writer_wait')).toHaveLength(0);
        expect(t.of('warn')).toHaveLength(0);
      });
    }
  }

  it('MADV_DONTNEED takes mmap_lock for read instead (dontneed-race)', () => {
    const off = runTrace(findWorkload('dontneed-race')!, { seed: 1, config: { CONFIG_PER_VMA_LOCK: false } });
    const on = runTrace(findWorkload('dontneed-race')!, { seed: 1 });
    const zapper = (t: typeof on) => {
      const begin = t.of('syscall_begin', undefined, (e) => e.nr === 'madvise')[0]!;
      const end = t.of('syscall_end', begin.tid, (e) => e.seq > begin.seq)[0]!;
      return { reads: t.of('mmap_lock_acquire_returned', begin.tid, (e) => !e.write && e.seq > begin.seq && e.seq < end.seq).length, vma: t.of('vma_start_read', begin.tid, (e) => e.seq > begin.seq && e.seq < end.seq).length };
    };
    expect(zapper(on)).toEqual({ reads: 0, vma: 1 });
    expect(zapper(off)).toEqual({ reads: 1, vma: 0 });
  });
});
