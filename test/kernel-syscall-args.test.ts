/**
 * Where munmap(2) and mprotect(2) check their arguments (mm/mmap.c, mm/vma.c do_vmi_munmap,
 * mm/mprotect.c do_mprotect_pkey): munmap checks the range with mmap_lock held for write, so a bad
 * range still takes and drops the lock; mprotect checks before locking, and an empty range returns 0
 * without the lock. Both untag the address with the caller's LAM mask first.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { tagged_pointer } from '../src/linux/arch/x86/include/uaccess_64.js';
import { prctl_enable_tagged_addr } from '../src/linux/arch/x86/kernel/process_64.js';
import { EINVAL, ENOMEM } from '../src/linux/include/errno.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE, VM_WRITE, vma_lookup } from '../src/linux/mm/mm_types.js';
import { spawn_process, thread } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';

const AREA = 0x30000000;

/** The writer's syscalls as [name, return value], and the mmap_lock acquisitions inside each. */
function syscalls(t: Trace): { nr: string; ret: number; locks: boolean[] }[] {
  const out: { nr: string; ret: number; locks: boolean[] }[] = [];
  for (const begin of t.of('syscall_begin', 'worker')) {
    const end = t.of('syscall_end', 'worker', (e) => e.seq > begin.seq)[0]!;
    const locks = t.of('mmap_lock_acquire_returned', 'worker', (e) => e.seq > begin.seq && e.seq < end.seq).map((e) => e.write);
    out.push({ nr: end.nr, ret: end.ret, locks });
  }
  return out;
}

describe('munmap and mprotect: argument checks and untagging', () => {
  it('munmap of an unaligned address takes mmap_lock for write, then fails; mprotect of one fails and an empty mprotect succeeds, both without it', () => {
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      thread(proc, 'worker', function* () {
        yield* sys_mmap(proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* sys_munmap(proc.mm, AREA + 1, PAGE_SIZE);
        yield* sys_munmap(proc.mm, AREA, 0);
        yield* sys_mprotect(proc.mm, AREA + 1, PAGE_SIZE, PROT_READ);
        yield* sys_mprotect(proc.mm, AREA, 0, PROT_READ);
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(syscalls(t).slice(1)).toEqual([
      { nr: 'munmap', ret: -EINVAL, locks: [true] },
      { nr: 'munmap', ret: -EINVAL, locks: [true] },
      { nr: 'mprotect', ret: -EINVAL, locks: [] },
      { nr: 'mprotect', ret: 0, locks: [] },
    ]);
  });

  it('a tagged address: with LAM enabled both untag it and act on the mapping; without LAM munmap refuses it (above TASK_SIZE) and mprotect finds no VMA', () => {
    const rets: number[] = [];
    let writable: boolean[] = [];
    let mappedAfter = true;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      thread(proc, 'worker', function* () {
        const mm = proc.mm;
        const tagged = tagged_pointer(AREA, 0x15);
        yield* sys_mmap(mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        rets.push(yield* sys_munmap(mm, tagged, PAGE_SIZE));
        rets.push(yield* sys_mprotect(mm, tagged, PAGE_SIZE, PROT_READ));
        rets.push(yield* prctl_enable_tagged_addr(mm, 6));
        rets.push(yield* sys_mprotect(mm, tagged, PAGE_SIZE, PROT_READ));
        writable = [(vma_lookup(mm, AREA)!.vm_flags & VM_WRITE) !== 0];
        rets.push(yield* sys_munmap(mm, tagged, PAGE_SIZE));
        mappedAfter = vma_lookup(mm, AREA) !== null;
      });
    }, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    expect(rets).toEqual([-EINVAL, -ENOMEM, 0, 0, 0]);
    expect(writable).toEqual([false]);
    expect(mappedAfter).toBe(false);
  });
});
