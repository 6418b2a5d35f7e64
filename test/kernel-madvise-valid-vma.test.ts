/**
 * madvise_dontneed_free_valid_vma() (mm/madvise.c): MADV_DONTNEED refuses a pfnmap (its PTEs are a
 * driver's, not pages to drop) and an mlocked VMA with -EINVAL, under the VMA lock as under
 * mmap_lock. Under mmap_lock the walk goes VMA by VMA: the ones before the refused VMA are zapped.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { EINVAL, ENOMEM } from '../src/linux/include/errno.js';
import { iomem_region_alloc } from '../src/linux/mm/iomem.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import { remap_pfn_range } from '../src/linux/mm/memory.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_mmap_special } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { SECRETMEM_VM_FLAGS, memfd_secret, secretmem_vm_ops } from '../src/linux/mm/secretmem.js';
import { mmap_mem_ops } from '../src/workloads/special-vmas.js';
import { spawn_process, thread, type Process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';

const ANON = 0x3000_0000;
const DEVICE = ANON + PAGE_SIZE;
const SECRET = 0x3100_0000;

/** Map a device page at DEVICE (shared, read-only: its ->mmap is remap_pfn_range). */
function* mapDevice(proc: Process): Gen {
  const device = iomem_region_alloc(1, Uint8Array.of(1, 2, 3, 4));
  yield* sys_mmap_special(
    proc.mm, { addr: DEVICE, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_SHARED | MAP_FIXED },
    { ops: mmap_mem_ops, mmap: (vma) => remap_pfn_range(vma, vma.vm_start, device.pfn, PAGE_SIZE) },
  );
}

/** Run `body` in a thread of a fresh process; its trace and what the body returned. */
function runIn<T>(body: (proc: Process) => Gen<T>): { t: Trace; got: T[] } {
  const got: T[] = [];
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    thread(proc, 'worker', function* () {
      got.push(yield* body(proc));
    });
  });
  expect(t.result.outcome).toBe('done');
  return { t, got };
}

const zapsIn = (t: Trace, from: number, to: number) => t.of('pgtable_set', 'worker', (e) => t.isZap(e) && e.addr >= from && e.addr < to).length;

describe('MADV_DONTNEED on a VMA it may not touch', () => {
  it('a pfnmap (under the VMA lock): -EINVAL, its PTE stays', () => {
    const { t, got } = runIn(function* (proc) {
      yield* mapDevice(proc);
      return yield* sys_madvise(proc.mm, DEVICE, PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([-EINVAL]);
    expect(zapsIn(t, DEVICE, DEVICE + PAGE_SIZE)).toBe(0);
  });

  it('an mlocked VMA (secretmem is VM_LOCKED): -EINVAL, the secret stays', () => {
    const secret = Uint8Array.of(7, 7, 7, 7);
    const { t, got } = runIn(function* (proc) {
      const file = yield* memfd_secret(PAGE_SIZE);
      yield* sys_mmap_special(
        proc.mm, { addr: SECRET, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED | MAP_FIXED },
        { ops: secretmem_vm_ops, file, vm_flags: SECRETMEM_VM_FLAGS },
      );
      yield* user_access(proc.mm, SECRET, secret, true);
      const ret = yield* sys_madvise(proc.mm, SECRET, PAGE_SIZE, MADV_DONTNEED);
      const back = new Uint8Array(4);
      yield* user_access(proc.mm, SECRET, back, false);
      return [ret, [...back]] as const;
    });
    expect(got).toEqual([[-EINVAL, [...secret]]]);
    expect(zapsIn(t, SECRET, SECRET + PAGE_SIZE)).toBe(0);
  });

  it('a range over an anonymous VMA and then a pfnmap (under mmap_lock): the anonymous page is zapped, then -EINVAL', () => {
    const { t, got } = runIn(function* (proc) {
      yield* sys_mmap(proc.mm, { addr: ANON, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(proc.mm, ANON, Uint8Array.of(9), true);
      yield* mapDevice(proc);
      return yield* sys_madvise(proc.mm, ANON, 2 * PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([-EINVAL]);
    expect(zapsIn(t, ANON, ANON + PAGE_SIZE)).toBe(1);
    expect(zapsIn(t, DEVICE, DEVICE + PAGE_SIZE)).toBe(0);
  });

  it('a range over an anonymous VMA, a pfnmap and another anonymous VMA: the walk stops at the pfnmap, the VMA after it is left', () => {
    const AFTER = DEVICE + PAGE_SIZE;
    const { t, got } = runIn(function* (proc) {
      for (const at of [ANON, AFTER]) {
        yield* sys_mmap(proc.mm, { addr: at, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* user_access(proc.mm, at, Uint8Array.of(9), true);
      }
      yield* mapDevice(proc);
      return yield* sys_madvise(proc.mm, ANON, 3 * PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([-EINVAL]);
    expect([zapsIn(t, ANON, ANON + PAGE_SIZE), zapsIn(t, DEVICE, DEVICE + PAGE_SIZE), zapsIn(t, AFTER, AFTER + PAGE_SIZE)]).toEqual([1, 0, 0]);
  });

  it('a hole before the refused VMA: -EINVAL, not the hole\'s -ENOMEM', () => {
    const { t, got } = runIn(function* (proc) {
      // ANON - PAGE_SIZE mapped, ANON unmapped, then the device
      yield* sys_mmap(proc.mm, { addr: ANON - PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(proc.mm, ANON - PAGE_SIZE, Uint8Array.of(9), true);
      yield* mapDevice(proc);
      return yield* sys_madvise(proc.mm, ANON - PAGE_SIZE, 3 * PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([-EINVAL]);
    expect(zapsIn(t, ANON - PAGE_SIZE, ANON)).toBe(1);
  });

  it('an anonymous VMA alone is zapped as before', () => {
    const { t, got } = runIn(function* (proc) {
      yield* sys_mmap(proc.mm, { addr: ANON, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(proc.mm, ANON, Uint8Array.of(9), true);
      return yield* sys_madvise(proc.mm, ANON, PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([0]);
    expect(zapsIn(t, ANON, ANON + PAGE_SIZE)).toBe(1);
  });
});

describe('MADV_DONTNEED gathers the whole call (madvise_init_tlb / madvise_finish_tlb)', () => {
  const stores = (proc: Process, at: number): Gen<boolean> => user_access(proc.mm, at, Uint8Array.of(9), true);
  const anon = (proc: Process, at: number): Gen<number> =>
    sys_mmap(proc.mm, { addr: at, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });

  it('under the VMA lock: the folio is put and freed after the lock is dropped', () => {
    const { t, got } = runIn(function* (proc) {
      yield* anon(proc, ANON);
      yield* stores(proc, ANON);
      return yield* sys_madvise(proc.mm, ANON, PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([0]);
    const zap = t.of('pgtable_set', 'worker', (e) => t.isZap(e))[0]!;
    const unlocked = t.of('vma_end_read', 'worker', (e) => e.seq > zap.seq)[0]!;
    const freed = t.of('folio_free', 'worker', (e) => e.seq > zap.seq);
    expect(freed).toHaveLength(1);
    expect(freed[0]!.seq).toBeGreaterThan(unlocked.seq);
  });

  it('under mmap_lock: every VMA is zapped before any folio is freed, and all before mmap_lock is released', () => {
    const SECOND = ANON + 2 * PAGE_SIZE; // a gap between: two VMAs
    const { t, got } = runIn(function* (proc) {
      for (const at of [ANON, SECOND]) {
        yield* anon(proc, at);
        yield* stores(proc, at);
      }
      return yield* sys_madvise(proc.mm, ANON, 3 * PAGE_SIZE, MADV_DONTNEED);
    });
    expect(got).toEqual([-ENOMEM]); // the gap: the advice still applies to both VMAs
    const zaps = t.of('pgtable_set', 'worker', (e) => t.isZap(e));
    expect(zaps.map((e) => e.addr)).toEqual([ANON, SECOND]);
    const freed = t.of('folio_free', 'worker', (e) => e.seq > zaps[0]!.seq);
    expect(freed).toHaveLength(2);
    expect(freed[0]!.seq).toBeGreaterThan(zaps[1]!.seq);
    const released = t.of('rwsem_release', 'worker', (e) => e.class === 'mmap_lock' && e.seq > zaps[1]!.seq)[0]!;
    expect(freed[1]!.seq).toBeLessThan(released.seq);
  });
});

