/**
 * munmap(2) (kernel-spec §4.1) and table freeing through the mmu_gather (§4.2): page tables only
 * the unmapped VMA used are freed after an RCU grace period with CONFIG_MMU_GATHER_RCU_TABLE_FREE
 * (x86), at once without it; a reader inside rcu_read_lock() across the munmap holds the frees back.
 * Also the lock sequence of munmap: write lock, VMA write-lock + detach, downgrade, zap under the read
 * lock, read unlock.
 */
import { describe, expect, it } from 'vitest';
import { name, sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { rcu_read_lock, rcu_read_unlock } from '../src/linux/kernel/rcu/tree.js';
import { access_remote_vm } from '../src/linux/mm/access_remote.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import type { EventOf, KindName } from '../src/trace/vocab/index.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot, type Ev, type Trace } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const W_READER = name('test: inside rcu_read_lock');
/** Alone in its 512 GiB PGD slot (index 32): its PUD, PMD and PTE tables map nothing else. */
const REGION = 0x100000000000;
const PAGES = 4;

interface Opts {
  seed: number;
  rcuReader: boolean;
  rcuTableFree?: boolean;
}

function scenario(o: Opts) {
  let mm!: MmStruct;
  let munmapRet = -1;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    const inRcu = new Completion();
    const unmapped = new Completion();
    spawnThread(proc, 'target/0', function* () {
      const addr = yield* sys_mmap(mm, { addr: REGION, len: PAGES * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      if (addr !== REGION) throw new Error(`mmap returned ${addr}`);
      for (let p = 0; p < PAGES; p++) yield* user_access(mm, REGION + p * PAGE_SIZE, new Uint8Array([p + 1]), true);
      if (o.rcuReader) yield* wait_for_completion(inRcu);
      munmapRet = yield* sys_munmap(mm, REGION, PAGES * PAGE_SIZE);
      yield* complete_all(unmapped);
    });
    if (o.rcuReader) {
      spawnOutsider('rcu-reader', function* () {
        yield* rcu_read_lock();
        yield* complete_all(inRcu);
        yield* wait_for_completion(unmapped);
        yield* sim().sleep(3000, W_READER);
        yield* rcu_read_unlock();
      });
    }
  }, { seed: o.seed, config: o.rcuTableFree === false ? { CONFIG_MMU_GATHER_RCU_TABLE_FREE: false } : undefined });
  return { trace, mm, munmapRet };
}

/** The target's munmap syscall window. */
function munmapWindow(t: Trace): { begin: Ev; end: Ev } {
  const isMunmap = (e: EventOf<'syscall_begin' | 'syscall_end'>) => e.nr === 'munmap';
  const begin = t.of('syscall_begin', 'target/0', isMunmap);
  const end = t.of('syscall_end', 'target/0', isMunmap);
  expect(begin).toHaveLength(1);
  expect(end).toHaveLength(1);
  return { begin: begin[0]!, end: end[0]! };
}

type Level = EventOf<'pgtable_alloc'>['level'];

/** The tables allocated for REGION (PUD, PMD, PTE), by level. */
function regionTables(t: Trace): Map<Level, number> {
  const allocs = t.of('pgtable_alloc', 'target/0', (e) => e.addr === Math.floor(REGION / 2 ** 39) * 2 ** 39 || (e.addr >= REGION && e.addr < REGION + 2 ** 30));
  return new Map(allocs.map((e) => [e.level, e.table]));
}

/** A predicate that selects (and narrows to) the events of one kind. */
function ofKind<N extends KindName>(t: Trace, kind: N): (e: Ev) => e is Ev & EventOf<N> {
  return (e): e is Ev & EventOf<N> => t.is(e, kind);
}

/** A predicate that selects PTE zaps (and narrows them to pgtable_set). */
function zapOf(t: Trace): (e: Ev) => e is EventOf<'pgtable_set'> {
  return (e): e is EventOf<'pgtable_set'> => t.isZap(e);
}

/** munmap of A while its neighbour B shares A's PTE, PMD and PUD tables. */
function sharedTables(seed: number) {
  let mm!: MmStruct;
  let readB = -1;
  const bufB = new Uint8Array(4);
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    const unmapped = new Completion();
    const B = REGION + PAGES * PAGE_SIZE;
    spawnThread(proc, 'target/0', function* () {
      yield* sys_mmap(mm, { addr: REGION, len: PAGES * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      // B: different protection, so it stays a separate VMA; populated with a known byte.
      yield* sys_mmap(mm, { addr: B, len: PAGES * PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_EXEC, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      for (let p = 0; p < PAGES; p++) yield* user_access(mm, REGION + p * PAGE_SIZE, new Uint8Array([p + 1]), true);
      yield* user_access(mm, B, new Uint8Array([0x42, 0x43, 0x44, 0x45]), true);
      yield* sys_munmap(mm, REGION, PAGES * PAGE_SIZE);
      yield* complete_all(unmapped);
    });
    spawnOutsider('reader', function* () {
      yield* wait_for_completion(unmapped);
      readB = yield* access_remote_vm(mm, B, bufB, bufB.length, 0);
    });
  }, { seed });
  return { trace, mm, readB, bufB };
}

describe('munmap frees page tables after an RCU grace period (kernel-spec §4.1, §4.2)', () => {
  for (const seed of [1, 2]) {
    it(`§4.1 tables shared with a live neighbouring VMA are not freed; the neighbour stays mapped (seed ${seed})`, () => {
      const { trace: t, mm, readB, bufB } = sharedTables(seed);
      expect(t.result.outcome).toBe('done');
      expect(mm.mm_mt.load(REGION)).toBeUndefined();
      expect(mm.mm_mt.load(REGION + PAGES * PAGE_SIZE)).toBeDefined();
      const { begin, end } = munmapWindow(t);
      const inside = t.between(begin.seq, end.seq);
      // A's pages were zapped ...
      expect(inside.filter(zapOf(t)).map((e) => e.addr)).toEqual(Array.from({ length: PAGES }, (_, p) => REGION + p * PAGE_SIZE));
      // ... but no table was unlinked or freed: they also map B.
      expect(inside.filter((e) => t.is(e, 'pgtable_free'))).toHaveLength(0);
      expect(inside.filter((e) => t.is(e, 'pgtable_set') && !t.isZap(e))).toHaveLength(0);
      expect(t.of('pgtable_free')).toHaveLength(0);
      // B is intact and readable through the same tables.
      expect(readB).toBe(4);
      expect(bufB).toEqual(new Uint8Array([0x42, 0x43, 0x44, 0x45]));
      expect(t.of('fault', 'reader')).toHaveLength(0);
    });
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`§4.2 RCU table free: rcu_queued inside munmap, rcu_freed only after rcu_gp_end (seed ${seed})`, () => {
      const { trace: t, munmapRet } = scenario({ seed, rcuReader: false });
      expect(t.result.outcome).toBe('done');
      expect(munmapRet).toBe(0);
      const { begin, end } = munmapWindow(t);
      const tables = regionTables(t);
      expect([...tables.keys()].sort()).toEqual(['pte', 'pmd', 'pud'].sort());
      const ids = [...tables.values()];

      // free_pgtables: each table's parent entry is cleared, the table queued to RCU, in the munmap.
      const queued = t.of('pgtable_free', undefined, (e) => e.mode === 'rcu_queued');
      expect(queued.map((e) => e.table).sort()).toEqual([...ids].sort());
      for (const e of queued) {
        expect(e.tid).toBe(t.tid('target/0'));
        expect(e.seq).toBeGreaterThan(begin.seq);
        expect(e.seq).toBeLessThan(end.seq);
        expect(tables.get(e.level)).toBe(e.table); // the level field matches the table
      }
      expect(t.of('pgtable_free', undefined, (e) => e.mode === 'immediate' && ids.includes(e.table))).toHaveLength(0);

      // call_rcu of the batch -> a grace period that starts after it ends -> callback -> rcu_freed.
      const cb = t.of('call_rcu', 'target/0', (e) => e.what === 'tlb_remove_table_rcu');
      expect(cb).toHaveLength(1);
      const ran = t.of('rcu_callback', 'rcu_gp', (e) => e.cb === cb[0]!.cb);
      expect(ran).toHaveLength(1);
      const gpStart = t.next('rcu_gp_start', cb[0]!.seq, 'rcu_gp')!;
      const gpEnd = t.next('rcu_gp_end', gpStart.seq, 'rcu_gp')!;
      expect(gpEnd.gp).toBe(gpStart.gp);
      expect(ran[0]!.seq).toBeGreaterThan(gpEnd.seq);
      const freed = t.of('pgtable_free', undefined, (e) => e.mode === 'rcu_freed');
      expect(freed.map((e) => e.table).sort()).toEqual([...ids].sort());
      for (const e of freed) {
        expect(e.tid).toBe(t.tid('rcu_gp'));
        expect(e.seq).toBeGreaterThan(ran[0]!.seq);
        expect(e.seq).toBeGreaterThan(gpEnd.seq);
      }
      // Nothing read a freed table.
      expect(t.of('use_after_free')).toHaveLength(0);
    });

    it(`§4.2 a reader in rcu_read_lock() across the munmap delays the rcu_freed frees past its rcu_read_unlock (seed ${seed})`, () => {
      const { trace: t, munmapRet } = scenario({ seed, rcuReader: true });
      expect(t.result.outcome).toBe('done');
      expect(munmapRet).toBe(0);
      const { begin, end } = munmapWindow(t);
      const ids = [...regionTables(t).values()];
      const readerLock = t.of('rcu_read_lock', 'rcu-reader');
      const readerUnlock = t.of('rcu_read_unlock', 'rcu-reader');
      expect(readerLock.map((e) => e.nesting)).toEqual([1]);
      expect(readerUnlock.map((e) => e.nesting)).toEqual([0]);
      expect(readerLock[0]!.seq).toBeLessThan(begin.seq);
      expect(readerUnlock[0]!.seq).toBeGreaterThan(end.seq);

      const queued = t.of('pgtable_free', undefined, (e) => e.mode === 'rcu_queued');
      expect(queued.map((e) => e.table).sort()).toEqual([...ids].sort());
      for (const e of queued) expect(e.seq).toBeLessThan(end.seq);
      // The grace period that covers the tables started while the reader was inside, so it waits for it.
      const cb = t.of('call_rcu', 'target/0', (e) => e.what === 'tlb_remove_table_rcu')[0]!;
      const gpStart = t.next('rcu_gp_start', cb.seq, 'rcu_gp')!;
      expect(gpStart.seq).toBeLessThan(readerUnlock[0]!.seq);
      expect(gpStart.readers).toBeGreaterThanOrEqual(1);
      const gpEnd = t.next('rcu_gp_end', gpStart.seq, 'rcu_gp')!;
      expect(gpEnd.seq).toBeGreaterThan(readerUnlock[0]!.seq);
      expect(gpEnd.tick).toBeGreaterThanOrEqual(readerUnlock[0]!.tick);
      const freed = t.of('pgtable_free', undefined, (e) => e.mode === 'rcu_freed');
      expect(freed.map((e) => e.table).sort()).toEqual([...ids].sort());
      for (const e of freed) expect(e.seq).toBeGreaterThan(readerUnlock[0]!.seq);
    });

    it(`§4.2 without CONFIG_MMU_GATHER_RCU_TABLE_FREE the tables are freed at once (immediate) inside munmap (seed ${seed})`, () => {
      const { trace: t, munmapRet } = scenario({ seed, rcuReader: true, rcuTableFree: false });
      expect(t.result.outcome).toBe('done');
      expect(munmapRet).toBe(0);
      const { begin, end } = munmapWindow(t);
      const ids = [...regionTables(t).values()];
      const freed = t.of('pgtable_free', undefined, (e) => ids.includes(e.table));
      expect(freed.map((e) => e.mode)).toEqual(['immediate', 'immediate', 'immediate']);
      for (const e of freed) {
        expect(e.seq).toBeGreaterThan(begin.seq);
        expect(e.seq).toBeLessThan(end.seq);
      }
      // ... even though an RCU reader is inside its read-side section the whole time.
      expect(freed[2]!.seq).toBeLessThan(t.of('rcu_read_unlock', 'rcu-reader')[0]!.seq);
      expect(t.of('call_rcu', undefined, (e) => e.what === 'tlb_remove_table_rcu')).toHaveLength(0);
    });

    it(`§4.1/§1.3 munmap lock sequence: write lock, vma_start_write + detach, downgrade, zap under read, read unlock (seed ${seed})`, () => {
      const { trace: t, mm } = scenario({ seed, rcuReader: false });
      const { begin, end } = munmapWindow(t);
      const tid = t.tid('target/0');
      const inside = t.between(begin.seq, end.seq).filter((e) => e.tid === tid);
      const idx = (pred: (e: Ev) => boolean): number => inside.findIndex(pred);
      const is = <N extends KindName>(kind: N) => ofKind(t, kind);

      const start = idx((e) => t.is(e, 'mmap_lock_start_locking') && e.write);
      const acquired = idx((e) => t.is(e, 'mmap_lock_acquire_returned') && e.write && e.success);
      const seqOdd = idx((e) => t.is(e, 'mm_lock_seq') && e.new % 2 === 1);
      const vmaWrite = idx(is('vma_start_write'));
      const detach = idx(is('vma_mark_detached'));
      const downgrade = idx((e) => t.is(e, 'mmap_lock_acquire_returned') && !e.write && e.success);
      const firstZap = idx(zapOf(t));
      const queued = idx((e) => t.is(e, 'pgtable_free') && e.mode === 'rcu_queued');
      const released = idx(is('mmap_lock_released'));
      for (const i of [start, acquired, seqOdd, vmaWrite, detach, downgrade, firstZap, queued, released]) expect(i).toBeGreaterThanOrEqual(0);
      expect(start).toBeLessThan(acquired);
      expect(acquired).toBeLessThan(vmaWrite);
      expect(seqOdd).toBeLessThan(acquired); // mm_lock_seqcount_begin before acquire_returned
      expect(vmaWrite).toBeLessThan(detach);
      expect(detach).toBeLessThan(downgrade);
      expect(downgrade).toBeLessThan(firstZap);
      expect(firstZap).toBeLessThan(queued);
      expect(queued).toBeLessThan(released);

      // The VMA write-locked and detached is the unmapped one; it was freed after the zap.
      // (the first of each kind: the events at indices vmaWrite and detach)
      const vmaId = inside.find(is('vma_start_write'))!.vma;
      const detached = inside.find(is('vma_mark_detached'))!;
      expect(detached.vma).toBe(vmaId);
      expect(detached.waited).toBe(false); // no reader to wait for
      const created = t.of('vma_create', tid, (e) => e.vma === vmaId);
      expect(created.map((e) => [e.start, e.end])).toEqual([[REGION, REGION + PAGES * PAGE_SIZE]]);
      const freedVma = idx((e) => t.is(e, 'vma_free') && e.vma === vmaId);
      expect(freedVma).toBeGreaterThan(firstZap);
      expect(freedVma).toBeLessThan(released);

      // Downgrade: seqcount back to even (all VMA write locks dropped), rwsem now held for read.
      const downSeq = inside.slice(downgrade).find(is('mm_lock_seq'))!;
      expect(downSeq.new % 2).toBe(0);
      const downAcq = inside.slice(downgrade).find(is('rwsem_acquire'))!;
      expect([downAcq.sem, downAcq.mode, downAcq.how]).toEqual([mm.mmap_lock.id, 'read', 'downgrade']);
      // Exactly the PAGES PTEs were zapped, all after the downgrade; the released lock is the read lock.
      const zaps = inside.slice(downgrade + 1).filter(zapOf(t));
      expect(inside.filter(zapOf(t))).toHaveLength(PAGES);
      expect(zaps.map((e) => e.addr)).toEqual(Array.from({ length: PAGES }, (_, p) => REGION + p * PAGE_SIZE));
      expect(inside.filter(is('mmap_lock_released')).map((e) => e.write)).toEqual([false]);
      expect(inside.filter(is('mmap_lock_acquire_returned')).map((e) => [e.write, e.success])).toEqual([[true, true], [false, true]]);
      // The whole range is gone.
      expect(mm.mm_mt.load(REGION)).toBeUndefined();
    });
  }
});
