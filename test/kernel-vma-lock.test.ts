/**
 * Per-VMA locks (kernel-spec §2.3-§2.5): lock_vma_under_rcu fails fast on a write-locked VMA (and on
 * one whose writer is excluding readers), succeeds on VMAs the mmap writer did not write-lock, and
 * vma_start_write sleeps -- holding mmap_lock for write -- until the VMA's readers drain.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import {
  lock_vma_under_rcu, mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock, vma_assert_locked, vma_end_read,
  vma_mark_attached, vma_mark_detached, vma_start_read_locked, vma_start_write,
} from '../src/linux/mm/mmap_lock.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import {
  PAGE_SIZE, type MmStruct, type VmAreaStruct, VM_REFCNT_EXCLUDE_READERS_FLAG as FLAG,
} from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { by, type Gate } from '../src/sim/directed.js';
import type { Workload } from '../src/workloads/workload.js';
import { runBoot, runTrace } from './helpers/harness.js';
import { spawnOutsider, spawnThread, waitUntil } from './helpers/tasks.js';

describe('per-VMA locks (kernel-spec §2.3-§2.5)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§2.5 lock_vma_under_rcu: NULL/ABORT on a write-locked VMA, the lock on an unlocked one in the same write section, and after unlock (seed ${seed})`, () => {
      let mm!: MmStruct;
      let a!: VmAreaStruct;
      let b!: VmAreaStruct;
      const got: (VmAreaStruct | null)[] = [];
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        mm = proc.mm;
        const locked = new Completion();
        const checked = new Completion();
        spawnThread(proc, 'writer', function* () {
          // Two separate VMAs (different protections so they do not merge).
          const addrA = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          const addrB = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          a = mm.mm_mt.load(addrA)!;
          b = mm.mm_mt.load(addrB)!;
          yield* mmap_write_lock(mm);
          yield* vma_start_write(a);
          yield* complete_all(locked);
          yield* wait_for_completion(checked);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('reader', function* () {
          yield* wait_for_completion(locked);
          got.push(yield* lock_vma_under_rcu(mm, a.vm_start)); // write-locked: NULL
          const vb = yield* lock_vma_under_rcu(mm, b.vm_start); // mmap write-held, but B not write-locked
          got.push(vb);
          if (vb) yield* vma_end_read(vb);
          yield* complete_all(checked);
          // After mmap_write_unlock every VMA write lock is gone (seq moved on).
          yield* waitUntil(() => mm.mm_lock_seq % 2 === 0);
          const va = yield* lock_vma_under_rcu(mm, a.vm_start);
          got.push(va);
          if (va) yield* vma_end_read(va);
        });
      }, { seed });
      expect(t.result.outcome).toBe('done');
      expect(got).toEqual([null, b, a]);

      const reads = t.of('vma_start_read', 'reader');
      expect(reads.map((e) => [e.vma, e.result])).toEqual([[a.id, 'locked_out'], [b.id, 'ok'], [a.id, 'ok']]);
      // The failing attempt did not touch the refcount (lockless vm_lock_seq check came first).
      expect(reads[0]!.refcnt).toBe(1);
      expect(reads[1]!.refcnt).toBe(2);
      // lock_vma_under_rcu() counts its aborts; a success is the arch fault handler's to count.
      const vmstat = t.of('vmstat', 'reader').map((e) => e.counter);
      expect(vmstat).toEqual(['VMA_LOCK_ABORT']);
      // It failed fast: the reader never slept while the writer held mmap_lock.
      const writerRel = t.of('mmap_lock_released', 'writer', (e) => e.write).at(-1)!;
      expect(t.of('sched_block', 'reader', (e) => e.seq < writerRel.seq && e.wait !== 'wait_for_completion')).toHaveLength(0);
      // The failure returned with RCU dropped (vma_start_read drops it on failure).
      const rcu = t.of('rcu_read_lock', 'reader').length - t.of('rcu_read_unlock', 'reader').length;
      expect(rcu).toBe(0);
      expect(a.vm_refcnt).toBe(1);
      expect(b.vm_refcnt).toBe(1);
    });

    it(`§2.3 vma_start_write waits (waited=1) for a VMA reader, holding mmap_lock for write; new readers are excluded meanwhile (seed ${seed})`, () => {
      let mm!: MmStruct;
      let vma!: VmAreaStruct;
      let excluded: VmAreaStruct | null | undefined;
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        mm = proc.mm;
        const mapped = new Completion();
        const readLocked = new Completion();
        spawnThread(proc, 'writer', function* () {
          const addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          vma = mm.mm_mt.load(addr)!;
          yield* complete_all(mapped);
          yield* wait_for_completion(readLocked);
          yield* mmap_write_lock(mm);
          yield* vma_start_write(vma);
          yield* mmap_write_unlock(mm);
        });
        spawnOutsider('vma-reader', function* () {
          yield* wait_for_completion(mapped);
          const v = yield* lock_vma_under_rcu(mm, vma.vm_start);
          if (v !== vma) throw new Error('could not read-lock the VMA');
          yield* complete_all(readLocked);
          // Hold the read lock until the writer is excluding readers and the latecomers have tried.
          yield* waitUntil(() => excluded !== undefined && mm.mmap_lock.waiters.some((w) => !w.write));
          yield* vma_end_read(v);
        });
        spawnOutsider('late-reader', function* () {
          yield* wait_for_completion(readLocked);
          yield* waitUntil(() => (vma.vm_refcnt & FLAG) !== 0);
          excluded = yield* lock_vma_under_rcu(mm, vma.vm_start);
          if (excluded) yield* vma_end_read(excluded);
        });
        spawnOutsider('mmap-reader', function* () {
          yield* wait_for_completion(readLocked);
          yield* waitUntil(() => (vma.vm_refcnt & FLAG) !== 0);
          // mmap_lock is write-held by the writer sleeping in vma_start_write: this waits too.
          yield* mmap_read_lock(mm);
          yield* mmap_read_unlock(mm);
        });
      }, { seed });
      expect(t.result.outcome).toBe('done');
      expect(excluded).toBeNull();

      const writer = t.tid('writer');
      const wlock = t.of('mmap_lock_acquire_returned', writer, (e) => e.write && e.success).at(-1)!;
      const wrel = t.of('mmap_lock_released', writer, (e) => e.write).at(-1)!;
      // The writer added the exclude flag (refcnt 2 -> FLAG + 2) and slept on vma_writer_wait.
      const flagged = t.of('vma_refcnt', writer, (e) => e.vma === vma.id && e.seq > wlock.seq);
      expect(flagged.map((e) => [e.old, e.new])).toEqual([[2, FLAG + 2]]);
      const block = t.of('sched_block', writer, (e) => e.wait === 'vma_writer_wait');
      expect(block).toHaveLength(1);
      expect(block[0]!.on).toBe(vma.id);
      // The reader's vma_end_read (refcnt FLAG + 1) wakes it; then vma_start_write completes, waited=1.
      const endRead = t.of('vma_end_read', 'vma-reader', (e) => e.vma === vma.id);
      expect(endRead.map((e) => e.refcnt)).toEqual([FLAG + 1]);
      const wake = t.next('sched_wakeup', endRead[0]!.seq, 'vma-reader', (e) => e.target === writer);
      expect(wake).toBeDefined();
      const started = t.of('vma_start_write', writer, (e) => e.vma === vma.id && e.seq > wlock.seq);
      expect(started).toHaveLength(1);
      expect(started[0]!.waited).toBe(true);
      expect(started[0]!.vm_lock_seq).toBe(mm.mm_lock_seq - 1); // the odd seq of that write section
      expect(started[0]!.seq).toBeGreaterThan(endRead[0]!.seq);
      expect(block[0]!.seq).toBeLessThan(endRead[0]!.seq);
      // All of it with mmap_lock write-held.
      expect(block[0]!.seq).toBeGreaterThan(wlock.seq);
      expect(started[0]!.seq).toBeLessThan(wrel.seq);

      // A reader arriving while readers are excluded fails fast (refcount limit), counted as ABORT.
      const late = t.of('vma_start_read', 'late-reader');
      expect(late.map((e) => [e.vma, e.result, e.refcnt])).toEqual([[vma.id, 'locked_out', FLAG + 2]]);
      expect(late[0]!.seq).toBeGreaterThan(flagged[0]!.seq);
      expect(late[0]!.seq).toBeLessThan(endRead[0]!.seq);
      expect(t.of('vmstat', 'late-reader').map((e) => e.counter)).toEqual(['VMA_LOCK_ABORT']);
      // An mmap_lock reader stalls behind the writer sleeping in vma_start_write (§2.3 last note).
      const mr = t.of('rwsem_acquire', 'mmap-reader', (e) => e.sem === mm.mmap_lock.id);
      expect(mr).toHaveLength(1);
      expect(mr[0]!.seq).toBeGreaterThan(wrel.seq);
      expect(t.of('sched_block', 'mmap-reader', (e) => e.wait === 'rwsem_down_read')).toHaveLength(1);
      expect(vma.vm_refcnt).toBe(1);
    });
  }

  it('§2.3 the reader whose put leaves FLAG + 1 wakes the writer, decided on the count its own decrement left (vma_refcount_put: newcnt), not on the count when it runs again', () => {
    // Two readers drop their references while the writer waits to exclude them. The first put
    // leaves FLAG + 2 (no wake-up: a reader remains), the second FLAG + 1 (the wake-up). When the
    // second put lands between the first reader's event and its next step, the first reader would
    // see FLAG + 1 on resuming: the kernel's reader still does not wake, as newcnt was FLAG + 2.
    let interleaved = 0;
    for (let seed = 1; seed <= 24; seed++) {
      let vma!: VmAreaStruct;
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const mapped = new Completion();
        let holders = 0;
        spawnThread(proc, 'writer', function* () {
          const addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          vma = mm.mm_mt.load(addr)!;
          yield* complete_all(mapped);
          yield* waitUntil(() => holders === 2);
          yield* mmap_write_lock(mm);
          yield* vma_start_write(vma);
          yield* mmap_write_unlock(mm);
        });
        for (const reader of ['reader-a', 'reader-b']) {
          spawnOutsider(reader, function* () {
            yield* wait_for_completion(mapped);
            const v = yield* lock_vma_under_rcu(mm, vma.vm_start);
            if (v !== vma) throw new Error('could not read-lock the VMA');
            holders++;
            // Until the writer sleeps on vma_writer_wait, excluding readers.
            yield* waitUntil(() => mm.vma_writer_wait !== null);
            yield* vma_end_read(v);
          });
        }
      }, { seed });
      expect(t.result.outcome).toBe('done');
      const writer = t.tid('writer');
      const puts = t.of('vma_end_read', undefined, (e) => e.vma === vma.id && (e.refcnt & FLAG) !== 0);
      expect(puts.map((e) => e.refcnt)).toEqual([FLAG + 2, FLAG + 1]);
      const [first, last] = [puts[0]!, puts[1]!];
      const firstNext = t.byTask(first.tid).find((e) => e.seq > first.seq)!;
      const lastNext = t.byTask(last.tid).find((e) => e.seq > last.seq)!;
      if (firstNext.seq > last.seq) interleaved++;
      // Only the put that left FLAG + 1 wakes the writer, right after its event.
      expect(firstNext.kind === 'sched_wakeup', `seed ${seed}: the put that left FLAG + 2 woke the writer`).toBe(false);
      expect(lastNext.kind).toBe('sched_wakeup');
      expect(t.of('sched_wakeup', undefined, (e) => e.target === writer && e.on === vma.id)).toHaveLength(1);
      expect(t.of('vma_start_write', writer, (e) => e.vma === vma.id).at(-1)!.waited).toBe(true);
    }
    // Some seed ran the second put between the first reader's event and its next step.
    expect(interleaved).toBeGreaterThan(0);
  });

  it("§2.4 a writer that write-locks and detaches the VMA between vma_start_read's lockless check and its reference: the second check refuses, and the detach waits for that transient reference", () => {
    // The lockless vm_lock_seq check passes; before the reader's increment, munmap write-locks V
    // (no reader yet, so no wait). The increment then lands on a write-locked VMA: munmap's
    // vma_mark_detached finds the transient reference, excludes readers and sleeps, holding
    // mmap_lock for write, until the reader's second check fails and its put leaves the flag.
    // (Had the reader checked again before the detach, its put would have come first and the
    // detach would not wait: the gates pin the interleaving the kernel's comment describes.)
    let vma!: VmAreaStruct;
    let got: VmAreaStruct | null | undefined;
    const checkedV = by('reader', 'vma_lock_seq_check', (e) => e.vma === vma.id);
    const writeLockedV = by('writer', 'vma_start_write', (e) => e.vma === vma.id);
    const readerIncV = by('reader', 'vma_refcnt', (e) => e.vma === vma.id && e.new === e.old + 1);
    const workload: Workload = {
      name: 'check-window',
      description: 'munmap inside the window of vma_start_read',
      params: {},
      schedule: (): Gate[] => [
        { task: 'writer', until: checkedV },
        { task: 'reader', after: checkedV, until: writeLockedV },
        { task: 'writer', after: writeLockedV, until: readerIncV },
        // ... and the reader's second check comes once the detach sleeps on that reference
        { task: 'reader', after: readerIncV, until: by('writer', 'sched_block', (e) => e.on === vma.id) },
      ],
      *boot(): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const mm = proc.mm;
        const mapped = new Completion();
        spawnThread(proc, 'setup', function* () {
          const addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          vma = mm.mm_mt.load(addr)!;
          yield* complete_all(mapped);
        });
        spawnThread(proc, 'writer', function* () {
          yield* wait_for_completion(mapped);
          yield* sys_munmap(mm, vma.vm_start, PAGE_SIZE);
        });
        spawnOutsider('reader', function* () {
          yield* wait_for_completion(mapped);
          got = yield* lock_vma_under_rcu(mm, vma.vm_start);
        });
      },
    };
    for (const seed of [1, 2, 3]) {
      const t = runTrace(workload, { seed });
      expect(t.result.outcome).toBe('done');
      expect(got).toBeNull();
      const reader = t.byTask('reader').filter((e) => 'vma' in e && e.vma === vma.id).map((e) => e.kind);
      expect(reader).toEqual(['mas_walk', 'vma_lock_seq_check', 'vma_refcnt', 'vma_start_read', 'vma_end_read']);
      const second = t.of('vma_start_read', 'reader')[0]!;
      expect(second.result).toBe('locked_out');
      // The detach's own reference is gone, the reader's is left, and readers are excluded.
      expect(second.refcnt).toBe(FLAG + 1);
      // The put leaves the writer's flag alone, and wakes it.
      const put = t.of('vma_end_read', 'reader')[0]!;
      expect(put.refcnt).toBe(FLAG);
      const writer = t.tid('writer');
      const wake = t.byTask(put.tid).find((e) => e.seq > put.seq)!;
      expect(wake.kind === 'sched_wakeup' && wake.target === writer).toBe(true);
      const detach = t.of('vma_mark_detached', 'writer', (e) => e.vma === vma.id);
      expect(detach.map((e) => e.waited)).toEqual([true]);
      // The writer slept on V with mmap_lock held for write: before munmap downgraded it.
      const slept = t.of('sched_block', 'writer', (e) => e.on === vma.id)[0]!;
      const downgraded = t.of('rwsem_acquire', 'writer', (e) => e.how === 'downgrade')[0]!;
      expect(slept.seq).toBeLessThan(downgraded.seq);
      expect(t.of('vmstat', 'reader').map((e) => e.counter)).toEqual(['VMA_LOCK_ABORT']);
      expect(vma.vm_refcnt).toBe(0);
    }
  });

  it('misuse on a detached VMA warns and goes on, as the kernel does: a second detach, a read lock taken under mmap_lock, a lock assertion; a second attach warns too', () => {
    const results: boolean[] = [];
    let vma!: VmAreaStruct;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      const mm = proc.mm;
      spawnThread(proc, 'misuser', function* () {
        const addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
        vma = mm.mm_mt.load(addr)!;
        yield* mmap_write_lock(mm);
        yield* vma_start_write(vma);
        yield* vma_mark_detached(vma);
        yield* vma_mark_detached(vma); // already detached: a warning, not a wait
        results.push(yield* vma_start_read_locked(vma)); // refcnt 0: refused
        yield* vma_assert_locked(vma);
        yield* vma_mark_attached(vma);
        yield* vma_mark_attached(vma); // already attached: a warning
        yield* mmap_write_unlock(mm);
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(results).toEqual([false]);
    expect(t.of('warn', 'misuser').map((e) => e.what)).toEqual([
      'vma_assert_attached: VMA is detached', 'vma_assert_attached: VMA is detached', 'vma_assert_detached: VMA is attached',
    ]);
    expect(t.of('vma_start_read_locked', 'misuser')).toEqual([]);
    expect(vma.vm_refcnt).toBe(1); // attached again, once
  });

  it('VMA_LOCK_SUCCESS is counted by the arch fault handler once a fault is handled under the VMA lock (do_user_addr_fault), not by lock_vma_under_rcu', () => {
    let addr = 0;
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      spawnThread(proc, 'toucher', function* () {
        addr = yield* sys_mmap(proc.mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
        if (!(yield* user_access(proc.mm, addr, Uint8Array.of(1), true))) throw new Error('store faulted');
      });
    }, { seed: 1 });
    const fault = t.of('fault', 'toucher', (e) => e.addr === addr)[0]!;
    const success = t.of('vmstat', 'toucher', (e) => e.counter === 'VMA_LOCK_SUCCESS');
    expect(success).toHaveLength(1);
    // After the fault was handled and the VMA lock dropped, not when the lock was taken.
    const released = t.of('vma_end_read', 'toucher', (e) => e.seq > fault.seq)[0]!;
    expect(success[0]!.seq).toBeGreaterThan(released.seq);
  });
});
