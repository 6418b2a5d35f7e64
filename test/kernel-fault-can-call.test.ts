/**
 * vmf_can_call_fault() (mm/memory.c): a file fault under the per-VMA lock calls ->fault only when
 * the VMA's ops have ->map_pages, the ones audited to need no mmap_lock (the generic file and shmem
 * ops). Others -- secretmem's -- drop the VMA lock and return VM_FAULT_RETRY, and the arch handler
 * counts VMA_LOCK_RETRY and faults again under mmap_lock.
 */
import { describe, expect, it } from 'vitest';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_mmap_special } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { SECRETMEM_VM_FLAGS, memfd_secret, secretmem_vm_ops } from '../src/linux/mm/secretmem.js';
import type { Gen } from '../src/sim/task.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const AT = 0x60000000;

describe('vmf_can_call_fault(): ->fault under the VMA lock only for ops with ->map_pages', () => {
  for (const config of [{}, { CONFIG_PER_VMA_LOCK: false }]) {
    const perVma = !('CONFIG_PER_VMA_LOCK' in config);
    it(`a secretmem store ${perVma ? 'retries under mmap_lock' : 'faults under mmap_lock at once (no per-VMA locks)'}; a page-cache store is handled under ${perVma ? 'the VMA lock' : 'mmap_lock'}`, () => {
      let ok = [false, false];
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        spawnThread(proc, 'toucher', function* () {
          const secret = yield* memfd_secret(PAGE_SIZE);
          yield* sys_mmap_special(proc.mm, { addr: AT, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED },
            { ops: secretmem_vm_ops, file: secret, vm_flags: SECRETMEM_VM_FLAGS });
          const file = yield* create_file('/data/f', new Uint8Array(PAGE_SIZE));
          yield* sys_mmap(proc.mm, { addr: AT + 16 * PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED, file });
          ok = [
            yield* user_access(proc.mm, AT, Uint8Array.of(7), true),
            yield* user_access(proc.mm, AT + 16 * PAGE_SIZE, Uint8Array.of(7), true),
          ];
        });
      }, { config });
      expect(t.result.outcome).toBe('done');
      expect(ok).toEqual([true, true]);
      const faults = t.of('fault', 'toucher').map((e) => [e.addr, e.how]);
      const counters = t.of('vmstat', 'toucher').map((e) => e.counter);
      if (perVma) {
        expect(faults).toEqual([
          [AT, 'vmf_can_call_fault:retry'],
          [AT, 'do_shared_fault'],
          [AT + 16 * PAGE_SIZE, 'do_shared_fault'],
        ]);
        expect(counters).toEqual(['VMA_LOCK_RETRY', 'VMA_LOCK_SUCCESS']);
        // The retry dropped the VMA lock itself (vma_end_read inside the fault), then took mmap_lock.
        const retry = t.of('fault', 'toucher')[0]!;
        const ended = t.of('vma_end_read', 'toucher', (e) => e.seq < retry.seq);
        expect(ended).toHaveLength(1);
        expect(t.of('mmap_lock_acquire_returned', 'toucher', (e) => !e.write && e.seq > retry.seq).length).toBeGreaterThan(0);
      } else {
        expect(faults).toEqual([[AT, 'do_shared_fault'], [AT + 16 * PAGE_SIZE, 'do_shared_fault']]);
        expect(counters).toEqual([]);
      }
    });
  }
});
