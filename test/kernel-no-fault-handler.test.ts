/**
 * do_fault() on a VMA whose vm_ops have no ->fault (mm/memory.c): a /dev/mem-style mapping
 * (mmap_mem_ops: only ->access) whose ->mmap populated only part of it. A fault on a PTE it left
 * none cannot be served: the PTE is looked at under the PTL, still none, VM_FAULT_SIGBUS, and the
 * task gets SIGBUS. A private (COW) mapping must be remapped whole: a part is -EINVAL.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { fault_signal, user_access } from '../src/linux/arch/x86/mm/fault.js';
import { iomem_region_alloc } from '../src/linux/mm/iomem.js';
import { remap_pfn_range } from '../src/linux/mm/memory.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_mmap_special } from '../src/linux/mm/mmap.js';
import { current } from '../src/sim/sim.js';
import { PAGE_SIZE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV } from '../src/linux/mm/mm_types.js';
import { EINVAL } from '../src/linux/include/errno.js';
import { mmap_mem_ops } from '../src/workloads/special-vmas.js';
import { spawn_process, thread } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';

const AREA = 0x3000_0000;

describe('a fault on a VMA without ->fault', () => {
  it('the page remap_pfn_range left none: SIGBUS, not a crash', () => {
    const got: boolean[] = [];
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const device = iomem_region_alloc(1, Uint8Array.of(9, 8, 7, 6));
      thread(proc, 'worker', function* () {
        // Two pages mapped, only the first populated by the driver's ->mmap.
        yield* sys_mmap_special(
          proc.mm, { addr: AREA, len: 2 * PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED | MAP_FIXED },
          { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, PAGE_SIZE) },
        );
        got.push(yield* user_access(proc.mm, AREA + PAGE_SIZE, new Uint8Array(4), false));
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(got).toEqual([false]);
    const faults = t.of('fault', 'worker').map((e) => [e.addr, e.how, e.result]);
    expect(faults).toEqual([[AREA + PAGE_SIZE, 'do_fault:no ->fault', VM_FAULT_SIGBUS]]);
    expect(t.of('force_sig_fault', 'worker').map((e) => [e.sig, e.addr])).toEqual([['SIGBUS', AREA + PAGE_SIZE]]);
  });

  it('a private mapping remapped in part: -EINVAL from remap_pfn_range, and no PTE', () => {
    const got: number[] = [];
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const device = iomem_region_alloc(1, Uint8Array.of(9, 8, 7, 6));
      thread(proc, 'worker', function* () {
        got.push(yield* sys_mmap_special(
          proc.mm, { addr: AREA, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_FIXED },
          { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, PAGE_SIZE) },
        ));
      });
    });
    expect(got).toEqual([-EINVAL]);
    expect(t.of('call_exit', 'worker', (e) => e.fn === 'remap_pfn_range').map((e) => e.ret)).toEqual([-EINVAL]);
    expect(t.of('pgtable_set', 'worker', (e) => t.isMap(e) && e.addr >= AREA && e.addr < AREA + 2 * PAGE_SIZE)).toHaveLength(0);
  });
});

describe('the signal a failed user fault sends (mm_fault_error, bad_area)', () => {
  it('SIGBUS for VM_FAULT_SIGBUS, SIGSEGV for VM_FAULT_SIGSEGV and for no VMA or an access error (-1); VM_FAULT_OOM and 0 run the access again', () => {
    expect(fault_signal(VM_FAULT_SIGBUS)).toBe('SIGBUS');
    expect(fault_signal(VM_FAULT_SIGSEGV)).toBe('SIGSEGV');
    expect(fault_signal(-1)).toBe('SIGSEGV');
    // pagefault_out_of_memory() only warns: the allocator has OOM-killed where it could.
    expect(fault_signal(VM_FAULT_OOM)).toBeNull();
    expect(fault_signal(0)).toBeNull();
  });
});

describe('a user fault with a fatal signal pending', () => {
  /** A store to an untouched anonymous page; `killed`: with SIGKILL pending before it. */
  function store(killed: boolean) {
    const got: boolean[] = [];
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      thread(proc, 'worker', function* () {
        yield* sys_mmap(proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        current().fatalSignal = killed;
        got.push(yield* user_access(proc.mm, AREA, Uint8Array.of(1, 2, 3, 4), true));
      });
    });
    expect(t.result.outcome).toBe('done');
    return { got, faults: t.of('fault', 'worker').map((e) => [e.addr, e.result]), stores: t.of('user_access', 'worker').length };
  }

  it('the fault is handled, and the store does not run again: the task dies on its way back to user mode', () => {
    expect(store(true)).toEqual({ got: [false], faults: [[AREA, 0]], stores: 0 });
  });

  it('without one the store runs after the fault', () => {
    expect(store(false)).toEqual({ got: [true], faults: [[AREA, 0]], stores: 1 });
  });
});
