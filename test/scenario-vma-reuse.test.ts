/**
 * kernel-spec §12.8 / §2.1: VMAs are SLAB_TYPESAFE_BY_RCU. vm_area_free() puts the object back on
 * vm_area_cachep's free list and the next vm_area_alloc() -- for any mm -- hands the same object
 * (same id) out again; the fast path's lockless lookup must survive holding a pointer across that.
 */
import { describe, expect, test } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../src/linux/mm/mmap.js';
import {
  type MmStruct, PAGE_SIZE, UINT_MAX, VM_REFCNT_EXCLUDE_READERS_FLAG as FLAG, type VmAreaStruct, vm_area_cachep, vmas,
} from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import {
  AREA, AREA2, MODE_DETACHED, MODE_OTHER_MM, MODE_SAME_MM, READ_LEN, vmaReuse,
} from '../src/workloads/vma-reuse.js';
import type { EventOf } from '../src/trace/vocab/index.js';
import { runBoot, runTrace, type Trace } from './helpers/harness.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { spawnThread } from './helpers/tasks.js';

const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];
const SEEDS = [1, 2, 3];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', FIXES]];
const MODES: [string, number][] = [['detached', MODE_DETACHED], ['reused by another mm', MODE_OTHER_MM], ['reused by the same mm elsewhere', MODE_SAME_MM]];
const label = (path: string, variant: string[]) => `${path}${variant.length ? '+fixes' : ''}`;
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** What the slow path (GUP under mmap_lock) reads at AREA once the writers are done. */
const EXPECTED: Record<number, [number, string]> = {
  [MODE_DETACHED]: [0, ''], // nothing mapped at AREA any more
  [MODE_OTHER_MM]: [0, ''], // the other mm's 'O's at AREA are not the target's
  [MODE_SAME_MM]: [READ_LEN, 'N'.repeat(READ_LEN)], // the new VMA at AREA
};

function run(path: 'gup' | 'fast', variant: string[], seed: number, mode: number): Trace {
  const t = runTrace(vmaReuse, { path, variant, seed, params: { mode } });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  return t;
}

/** V: the target's VMA at AREA, as setup created it. */
const vOf = (t: Trace): EventOf<'vma_create'> => t.of('vma_create', 'setup', (e) => e.start === AREA)[0]!;
const vmstat = (t: Trace, task: string) => t.of('vmstat', task).map((e) => e.counter);

describe('vm_area_cachep is SLAB_TYPESAFE_BY_RCU: freed VMA objects are reused', () => {
  test('the next allocation gets the most recently freed object, re-initialised, for any mm', () => {
    let mmA!: MmStruct;
    let mmB!: MmStruct;
    const seen: Record<string, VmAreaStruct> = {};
    const state: Record<string, unknown> = {};
    const t = runBoot(function* (): Gen {
      const a = yield* spawn_process('a', ['/bin/a'], ['A=1']);
      const b = yield* spawn_process('b', ['/bin/b'], ['B=1']);
      mmA = a.mm;
      mmB = b.mm;
      spawnThread(a, 'a-thread', function* () {
        const map = (mm: MmStruct, addr: number) =>
          sys_mmap(mm, { addr, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* map(mmA, AREA);
        yield* map(mmA, AREA2);
        seen.p = mmA.mm_mt.load(AREA)!;
        seen.q = mmA.mm_mt.load(AREA2)!;
        yield* sys_munmap(mmA, AREA, PAGE_SIZE); // P freed first ...
        yield* sys_munmap(mmA, AREA2, PAGE_SIZE); // ... then Q
        // Freed: detached, out of the registry, on the free list (typesafe: still a VMA object).
        state.freedP = { refcnt: seen.p.vm_refcnt, freed: seen.p.freed, inUse: vmas().has(seen.p.id) };
        state.cache = vm_area_cachep().slice(-2).map((v) => v.id);
        // Another mm allocates: it gets Q (most recently freed), then P.
        yield* map(mmB, AREA + 0x10 * PAGE_SIZE);
        yield* map(mmB, AREA2 + 0x10 * PAGE_SIZE);
        seen.b1 = mmB.mm_mt.load(AREA + 0x10 * PAGE_SIZE)!;
        seen.b2 = mmB.mm_mt.load(AREA2 + 0x10 * PAGE_SIZE)!;
        // With the free list empty again, a fresh object.
        yield* map(mmA, AREA);
        seen.fresh = mmA.mm_mt.load(AREA)!;
      });
    });
    expect(t.result.outcome).toBe('done');
    expect(t.of('warn')).toHaveLength(0);
    const { p, q, b1, b2, fresh } = seen as Record<string, VmAreaStruct>;
    expect(state.freedP).toEqual({ refcnt: 0, freed: true, inUse: false });
    expect(state.cache).toEqual([p!.id, q!.id]);
    // The very same JS objects: a stale pointer to Q now sees B's VMA.
    expect(b1).toBe(q);
    expect(b2).toBe(p);
    expect(b1!.vm_mm).toBe(mmB);
    expect([b1!.vm_start, b1!.vm_end]).toEqual([AREA + 0x10 * PAGE_SIZE, AREA + 0x11 * PAGE_SIZE]);
    expect(b1!.freed).toBe(false);
    expect(b1!.vm_refcnt).toBe(1); // attached in B
    expect(b1!.vm_lock_seq).not.toBe(UINT_MAX); // write-locked by B's mmap (stale since its unlock)
    expect(fresh).not.toBe(p);
    expect(fresh).not.toBe(q);
    // In events: vma_free then vma_create with the same id is the object reused.
    const creates = t.of('vma_create').map((e) => [e.vma, e.mm]);
    expect(creates).toContainEqual([q!.id, mmB.id]);
    expect(creates).toContainEqual([p!.id, mmB.id]);
    const life = t.events.filter((e) => (t.is(e, 'vma_create') || t.is(e, 'vma_free')) && e.vma === q!.id);
    expect(life.map((e) => (e.kind === 'vma_create' ? [e.kind, e.mm] : [e.kind]))).toEqual([['vma_create', mmA.id], ['vma_free'], ['vma_create', mmB.id]]);
  });
  // vma_init's reset of a reused object (refcnt 0, vm_lock_seq UINT_MAX, no flags/backing) is
  // checked after every event by the fold checks below: the model makes a fresh record on vma_create.
});


describe('§12.8 the VMA found by mas_walk is freed (and reused) before vma_start_read', () => {
  for (const [what, mode] of MODES) {
    for (const seed of SEEDS) {
      test(`${what}: every path reads what the slow path reads then (seed ${seed})`, () => {
        for (const [path, variant] of PATHS) {
          const t = run(path, variant, seed, mode);
          const reqs = t.requests('reader');
          expect(reqs.map((r) => [r.result, text(r.data).slice(0, r.result)]), label(path, variant)).toEqual([EXPECTED[mode]]);
          // Never the other mm's bytes.
          expect(text(reqs[0]!.data)).not.toContain('O');
          if (path === 'gup') {
            // No lockless lookup on the mainline path.
            expect(t.of('mas_walk', 'reader')).toHaveLength(0);
            expect(t.of('vma_start_read', 'reader')).toHaveLength(0);
          }
        }
      });
    }
  }

  for (const [path, variant] of PATHS.filter(([p]) => p === 'fast')) {
    for (const seed of SEEDS) {
      const l = `${label(path, variant)}, seed ${seed}`;

      test(`(c) detached: refcnt 0 -> -EAGAIN, MISS, re-walk finds nothing -> ABORT, fallback, 0 bytes (${l})`, () => {
        const t = run(path, variant, seed, MODE_DETACHED);
        const V = vOf(t).vma;
        expect(t.of('mas_walk', 'reader').map((e) => e.vma)).toEqual([V, 0]);
        const sr = t.of('vma_start_read', 'reader');
        expect(sr.map((e) => [e.vma, e.result, e.refcnt])).toEqual([[V, 'detached', 0]]);
        // V was freed -- and not reused -- before the reader tried it.
        const freed = t.of('vma_free', 'writer', (e) => e.vma === V)[0]!;
        expect(freed.seq).toBeLessThan(sr[0]!.seq);
        expect(t.of('vma_create', undefined, (e) => e.vma === V && e.seq > freed.seq)).toHaveLength(0);
        // No reference was taken on it.
        expect(t.of('vma_refcnt', 'reader', (e) => e.vma === V)).toHaveLength(0);
        expect(t.of('vma_end_read', 'reader', (e) => e.vma === V)).toHaveLength(0);
        expect(vmstat(t, 'reader')).toEqual(['VMA_LOCK_MISS', 'VMA_LOCK_ABORT']);
        const fb = t.of('fast_path_fallback', 'reader');
        expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[AREA, 0, 'lock_vma_under_rcu failed']]);
        // The slow path: no VMA at AREA, expand_stack fails.
        expect(t.of('expand_stack', 'reader').map((e) => e.vma)).toEqual([0]);
      });

      test(`(a) reused by another mm: vm_mm != mm -> FOREIGN, the reference is dropped and wakes that mm's writer, ABORT, fallback, 0 bytes (${l})`, () => {
        const t = run(path, variant, seed, MODE_OTHER_MM);
        const v = vOf(t);
        const V = v.vma;
        const targetMm = v.mm;
        // V freed by the target's munmap, then handed to the other process at the same address.
        const freed = t.of('vma_free', 'writer', (e) => e.vma === V)[0]!;
        const reused = t.of('vma_create', 'other', (e) => e.vma === V)[0]!;
        expect(reused.seq).toBeGreaterThan(freed.seq);
        expect(reused.mm).not.toBe(targetMm);
        expect(reused.start).toBe(AREA);
        // The reader found V before the free and tried to lock it after the reuse.
        const walk = t.of('mas_walk', 'reader');
        expect(walk.map((e) => e.vma)).toEqual([V]);
        expect(walk[0]!.seq).toBeLessThan(freed.seq);
        const inc = t.of('vma_refcnt', 'reader', (e) => e.vma === V)[0]!;
        expect([inc.old, inc.new]).toEqual([1, 2]); // attached in the other mm: 1 -> 2
        expect(inc.seq).toBeGreaterThan(reused.seq);
        const sr = t.of('vma_start_read', 'reader');
        expect(sr.map((e) => [e.vma, e.result])).toEqual([[V, 'foreign']]);
        // Meanwhile the other mm's mprotect came to vma_start_write(V) and had to wait for it.
        const block = t.of('sched_block', 'other-writer', (e) => e.on === V)[0]!;
        expect(block.wait).toBe('vma_writer_wait');
        expect(block.seq).toBeGreaterThan(inc.seq);
        expect(block.seq).toBeLessThan(sr[0]!.seq);
        expect(sr[0]!.refcnt).toBe(FLAG + 2); // the writer's FLAG, the owner's 1, the reader's 1
        // err_unstable: RCU dropped, then the reference put -- which wakes the other mm's writer.
        const unlock = t.next('rcu_read_unlock', sr[0]!.seq, 'reader')!;
        const put = t.of('vma_end_read', 'reader', (e) => e.vma === V);
        expect(put.map((e) => e.refcnt)).toEqual([FLAG + 1]);
        expect(unlock.seq).toBeLessThan(put[0]!.seq);
        const wake = t.next('sched_wakeup', put[0]!.seq, 'reader')!;
        expect(wake.target).toBe(t.tid('other-writer'));
        const wrote = t.of('vma_start_write', 'other-writer', (e) => e.vma === V)[0]!;
        expect(wrote.waited).toBe(true);
        expect(wrote.seq).toBeGreaterThan(wake.seq);
        expect(t.of('task_exit', 'other-writer')).toHaveLength(1);
        // The other mm's VMA is left attached and unlocked: refcnt 1, owned by the other mm.
        const live = vmas(t.result.kernel).get(V)!;
        expect(live.vm_mm.id).toBe(reused.mm);
        expect(live.vm_refcnt).toBe(1);
        expect(vmstat(t, 'reader')).toEqual(['VMA_LOCK_ABORT']);
        const fb = t.of('fast_path_fallback', 'reader');
        expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[AREA, 0, 'lock_vma_under_rcu failed']]);
        // Nothing copied on the fast path (the other mm's page is never read).
        expect(t.of('copy', 'reader')).toHaveLength(0);
      });

      test(`(b) reused by the same mm elsewhere: the lock succeeds, the bounds re-check fails -> vma_end_read, ABORT, fallback reads the new VMA (${l})`, () => {
        const t = run(path, variant, seed, MODE_SAME_MM);
        const v = vOf(t);
        const V = v.vma;
        const freed = t.of('vma_free', 'writer', (e) => e.vma === V)[0]!;
        const reused = t.of('vma_create', 'writer', (e) => e.vma === V)[0]!;
        expect(reused.seq).toBeGreaterThan(freed.seq);
        expect([reused.mm, reused.start, reused.end]).toEqual([v.mm, AREA2, AREA2 + PAGE_SIZE]);
        const attached = t.of('vma_mark_attached', 'writer', (e) => e.vma === V && e.seq > reused.seq)[0]!;
        expect(attached.start).toBe(AREA2);
        expect(t.of('mas_walk', 'reader').map((e) => e.vma)).toEqual([V]);
        const sr = t.of('vma_start_read', 'reader');
        expect(sr.map((e) => [e.vma, e.result, e.refcnt])).toEqual([[V, 'ok', 2]]);
        expect(sr[0]!.seq).toBeGreaterThan(attached.seq);
        // The bounds check (after rcu_read_unlock) sees V at AREA2: the reference goes again.
        expect(t.of('vma_end_read', 'reader', (e) => e.vma === V).map((e) => e.refcnt)).toEqual([1]);
        expect(vmstat(t, 'reader')).toEqual(['VMA_LOCK_ABORT']);
        const fb = t.of('fast_path_fallback', 'reader');
        expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[AREA, 0, 'lock_vma_under_rcu failed']]);
        // The slow path (under mmap_lock) copies the new VMA's page.
        const copies = t.of('copy', 'reader');
        expect(copies.map((e) => [e.addr, e.len])).toEqual([[AREA, READ_LEN]]);
        const locked = t.of('mmap_lock_acquire_returned', 'reader', (e) => !e.write && e.success)[0]!;
        expect(copies[0]!.seq).toBeGreaterThan(locked.seq);
      });
    }
  }
});

describe('the projection equals the live kernel after every event', () => {
  for (const [what, mode] of MODES) {
    for (const [path, variant] of PATHS) {
      test(`${what}, ${label(path, variant)}`, () => {
        for (const seed of [1, 2]) {
          const { events, firstMismatch } = checkEveryEvent(vmaReuse, { path, variant, seed, params: { mode } });
          expect(events).toBeGreaterThan(150);
          expect(firstMismatch).toBeNull();
        }
      });
    }
  }
});
