/**
 * Writes to device mappings (remap_pfn_range: special PTEs over device memory, kernel-spec §5.4):
 * - shared and writable: vm_page_prot has the write bit, so the target's store goes to the device
 *   without a fault, and a remote FOLL_FORCE write (->access, generic_access_phys) does too;
 * - private: a store faults, and wp_page_copy copies the page through its user address
 *   (__wp_page_copy_user without a source page). When that copy faults -- another thread copied the
 *   page first and compaction is migrating that copy (a migration entry, not present) -- the PTE is
 *   looked at under the PTL; it changed, so -EAGAIN: the new folio is dropped and the fault retried,
 *   and the store then lands in the first thread's copy.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { by, type Gate } from '../src/sim/directed.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { pte_dirty, pte_special, pte_write } from '../src/linux/arch/x86/include/pgtable_types.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { FOLL_FORCE } from '../src/linux/mm/gup.js';
import { type IoMemRegion, iomem_region_alloc } from '../src/linux/mm/iomem.js';
import { remap_pfn_range } from '../src/linux/mm/memory.js';
import { mmu_walk } from '../src/linux/arch/x86/mm/mmu.js';
import { folio_get, folio_lock, folio_put, folio_unlock, page_folio } from '../src/linux/mm/folio.js';
import { remove_migration_ptes, try_to_migrate } from '../src/linux/mm/migrate.js';
import { MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap_special } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { USER_ACCESS_IO } from '../src/trace/vocab/index.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { type Process, outsider, remote_write, spawn_process, thread } from '../src/workloads/lib.js';
import { mmap_mem_ops } from '../src/workloads/special-vmas.js';
import type { Workload } from '../src/workloads/workload.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace } from './helpers/harness.js';

const AREA = 0x3000_0000;
const DEVICE_BYTES = Uint8Array.from({ length: PAGE_SIZE }, (_, i) => (i * 13 + 1) & 0xff);

/** Map one device page at AREA with `flags` (MAP_SHARED or MAP_PRIVATE), read-write. */
function* mapDevice(proc: Process, flags: number, device: { pfn: number }): Gen {
  const at = yield* sys_mmap_special(
    proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: flags | MAP_FIXED },
    { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, PAGE_SIZE) },
  );
  if (at !== AREA) throw new Error(`device mmap returned ${at}`);
}

describe('a shared, writable device mapping', () => {
  let device: IoMemRegion | undefined;
  const workload: Workload = {
    name: 'shared-device-write', description: 'stores to a shared writable device mapping', params: {},
    *boot(): Gen {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const region = (device = iomem_region_alloc(1, DEVICE_BYTES));
      const ready = new Completion();
      thread(proc, 'target/0', function* () {
        yield* mapDevice(proc, MAP_SHARED, region);
        yield* user_access(proc.mm, AREA, Uint8Array.of(0xaa, 0xbb), true);
        yield* complete_all(ready);
      });
      outsider('monitor', function* () {
        yield* wait_for_completion(ready);
        yield* remote_write(proc, AREA + 8, Uint8Array.of(0xcc), FOLL_FORCE);
      });
    },
  };

  it('is mapped writable and clean; the target stores into the device without a fault, and ->access writes it too', () => {
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    const ptes = t.of('pgtable_set', 'target/0', (e) => e.addr === AREA && t.isMap(e));
    expect(ptes.map((e) => [pte_special(e.value), pte_write(e.value), pte_dirty(e.value)])).toEqual([[true, true, false]]);
    expect(t.of('fault', 'target/0')).toHaveLength(0);
    // The MMU sets the dirty bit on the store (pte_young: accessed and dirty).
    expect(t.of('pte_young', 'target/0').map((e) => pte_dirty(e.value))).toEqual([true]);
    expect(t.of('user_access', 'target/0').map((e) => [e.write, e.folio])).toEqual([[true, USER_ACCESS_IO]]);
    expect(t.requests('monitor').map((r) => r.result)).toEqual([1]);
    expect([...device!.data.subarray(0, 9)]).toEqual([0xaa, 0xbb, ...DEVICE_BYTES.subarray(2, 8), 0xcc]);
  });
});

describe('a private device page copied on write while another thread\'s copy of it is being migrated', () => {
  // `second` faults first and stops after allocating its copy; `first` then faults, copies the page
  // and stores; `compactor` starts migrating first's copy -- as compaction does, which finds an
  // anonymous folio by its frame, whatever its VMA (move_pages refuses a VM_PFNMAP VMA:
  // vma_migratable) -- so the PTE holds a migration entry, and stops; `second` then copies through
  // the user address, which faults, and finds the PTE changed: -EAGAIN. The migration is then undone.
  const unmapped = by('compactor', 'call_exit', (e) => e.fn === 'try_to_migrate');
  const workload: Workload = {
    name: 'wp-copy-eagain', description: 'a pfnmap COW whose page went away under the copy', params: {},
    schedule: (): Gate[] => [
      { task: 'first', until: by('second', 'folio_alloc') },
      { task: 'compactor', until: by('first', 'user_access') },
      { task: 'second', after: by('second', 'folio_alloc'), until: unmapped },
      { task: 'compactor', after: unmapped, until: by('second', 'fault') },
    ],
    *boot(): Gen {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const device = iomem_region_alloc(1, DEVICE_BYTES);
      const ready = new Completion();
      thread(proc, 'mapper', function* () {
        yield* mapDevice(proc, MAP_PRIVATE, device);
        yield* complete_all(ready);
      });
      for (const [task, byte] of [['first', 0x11], ['second', 0x22]] as const) {
        thread(proc, task, function* () {
          yield* wait_for_completion(ready);
          yield* user_access(proc.mm, AREA + (task === 'first' ? 0 : 1), Uint8Array.of(byte), true);
        });
      }
      thread(proc, 'compactor', function* () {
        yield* wait_for_completion(ready);
        const copy = page_folio(mmu_walk(proc.mm, AREA).pfn);
        yield* folio_get(copy);
        yield* folio_lock(copy);
        yield* try_to_migrate(copy);
        yield* remove_migration_ptes(copy, copy); // the migration fails and is undone
        yield* folio_unlock(copy);
        yield* folio_put(copy);
      });
    },
  };

  it('the second copy faults, the PTE has changed: its folio is dropped, the fault retried, and the store lands in first\'s copy', () => {
    const t = runTrace(workload, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    expect(t.of('warn')).toHaveLength(0);
    // first: one fault, one copy of the device page, its store in the copy
    expect(t.of('fault', 'first').map((e) => e.how)).toEqual(['do_wp_page:copy']);
    const firstCopy = t.of('copy_to_folio', 'first');
    expect(firstCopy.map((e) => [e.addr, e.data])).toEqual([[AREA, DEVICE_BYTES]]);
    const copied = firstCopy[0]!.folio;
    // second: the copy that faulted leaves no event; its folio goes back; the fault returns 0
    const secondFaults = t.of('fault', 'second');
    expect(secondFaults[0]!.how).toBe('do_wp_page:copy');
    expect(secondFaults[0]!.result).toBe(0);
    expect(t.of('copy_to_folio', 'second')).toHaveLength(0);
    const alloc = t.of('folio_alloc', 'second')[0]!;
    const retried = secondFaults[0]!;
    expect(t.of('folio_free', 'second', (e) => e.folio === alloc.folio && e.seq < retried.seq)).toHaveLength(1);
    // -EAGAIN from __wp_page_copy_user itself: the PTE was looked at under the PTL once, by it, and
    // wp_page_copy went no further (it would take the PTL again to check the PTE before mapping).
    const inCopy = (e: { seq: number }) => e.seq > alloc.seq && e.seq < retried.seq;
    expect(t.of('pmd_recheck', 'second', inCopy)).toHaveLength(1);
    // ... and the store runs again, and lands in first's copy (mapped again once the migration is undone)
    const store = t.of('user_access', 'second', (e) => e.write);
    expect(store.map((e) => [e.addr, e.folio])).toEqual([[AREA + 1, copied]]);
  });

  it('the replay model matches the kernel after every event', () => {
    const check = checkEveryEvent(workload, { seed: 1 });
    expect(check.firstMismatch).toBeNull();
  });
});
