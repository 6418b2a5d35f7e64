/**
 * The stack grows down on a user fault below it (mm/memory.c lock_mm_and_find_vma, mm/vma.c
 * expand_downwards): the fault takes mmap_lock for read, finds the VM_GROWSDOWN stack VMA above the
 * address, and (x86 cannot upgrade the lock) drops it, takes it for write, grows the VMA with its
 * vm_pgoff, downgrades and handles the fault. exec's stack VMA has the pgoff an anonymous VMA gets,
 * its start page (insert_vm_struct), so there is room below. Past the stack rlimit it does not grow:
 * SIGSEGV.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { INITIAL_STACK_PAGES, STACK_TOP } from '../src/linux/fs/exec.js';
import { STACK_RLIMIT } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type VmAreaStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process, thread } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';

const STACK_START = STACK_TOP - INITIAL_STACK_PAGES * PAGE_SIZE;

describe('a user fault below the stack', () => {
  it('two pages below: the stack grows down to the page (its vm_pgoff with it) and the store lands', () => {
    let stack!: VmAreaStruct;
    let stored = false;
    const below = STACK_START - 2 * PAGE_SIZE + 16;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      thread(proc, 'worker', function* () {
        stack = proc.mm.mm_mt.load(STACK_START)!;
        stored = yield* user_access(proc.mm, below, Uint8Array.of(7, 7, 7, 7), true);
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(stored).toBe(true);
    expect(t.of('force_sig_fault', 'worker')).toHaveLength(0);
    // exec gave the stack its start page as pgoff; growing by two pages takes two off it.
    const init = t.of('vma_init', undefined, (e) => e.vma === stack.id)[0]!;
    expect(init.pgoff).toBe(STACK_START / PAGE_SIZE);
    expect(t.of('vma_adjust', 'worker', (e) => e.vma === stack.id).map((e) => [e.start, e.pgoff])).toEqual([
      [STACK_START - 2 * PAGE_SIZE, STACK_START / PAGE_SIZE - 2],
    ]);
    expect(t.of('expand_stack', 'worker').map((e) => e.vma)).toEqual([stack.id]);
    // The growth under mmap_lock for write, then downgraded for the fault itself.
    const acquired = t.of('rwsem_acquire', 'worker').map((e) => [e.mode, e.how]);
    expect(acquired.slice(-2).map(([mode]) => mode)).toEqual(['write', 'read']);
    expect(acquired.at(-1)![1]).toBe('downgrade');
    expect([stack.vm_start, stack.vm_pgoff]).toEqual([STACK_START - 2 * PAGE_SIZE, STACK_START / PAGE_SIZE - 2]);
  });

  it('past the stack rlimit: no growth, SIGSEGV', () => {
    let stored = true;
    const far = STACK_TOP - STACK_RLIMIT - PAGE_SIZE;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      thread(proc, 'worker', function* () {
        stored = yield* user_access(proc.mm, far, Uint8Array.of(1), true);
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(stored).toBe(false);
    expect(t.of('expand_stack', 'worker').map((e) => e.vma)).toEqual([0]);
    expect(t.of('force_sig_fault', 'worker').map((e) => [e.sig, e.addr])).toEqual([['SIGSEGV', far]]);
  });
});
