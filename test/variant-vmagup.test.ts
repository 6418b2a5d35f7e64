/**
 * The vmaGup variant (kernel-spec §8.3 item 6; David Hildenbrand's review, seeds/003): the fast path
 * runs GUP itself under the per-VMA lock instead of folio_walk_start. Per VMA: lock_vma_under_rcu,
 * check_vma_flags in full (§6.5), then per page follow_page_mask under the VMA lock with FOLL_TOUCH
 * (§6.6) and, on a miss, handle_mm_fault(FAULT_FLAG_REMOTE | FAULT_FLAG_VMA_LOCK) (§6.7); a
 * VM_FAULT_RETRY (the handler dropped the VMA lock, §2.7 vmf_anon_prepare) or any refusal falls back
 * to the mmap_lock slow path (§8.1) at the first address not yet copied.
 *
 * On the existing scenarios, seeds 1..3, each test checks the bytes and which locks were taken:
 *  - never-touched (§12.9): the page is faulted in as the zero page under the VMA lock; zeros; no
 *    mmap_lock at all (v1 falls back for every one of these reads).
 *  - file-cmdline (§12.2, §8.2): check_vma_flags applies FOLL_ANON like GUP: 0 bytes (v1 copies the
 *    file's bytes); the slow path confirms under mmap_lock.
 *  - reclaim-aging (§12.3, §5.3): FOLL_TOUCH: two reads activate P as on the GUP path.
 *  - stuck-writer (§12.5): cmdline never waits for mmap_lock; the write-locked region falls back
 *    and waits (waitForWriter: waits on mmap_lock, then retries lock-free).
 *  - special-vmas (§12.11, §5.4): check_vma_flags refuses VM_IO|VM_PFNMAP and secretmem; the slow
 *    path's ->access (generic_access_phys) returns the device bytes; secretmem 0 bytes.
 *  - ad hoc: a remote write fault needing an anon_vma under the VMA lock, mmap_lock held for write
 *    by another thread: vmf_anon_prepare's trylock fails, VM_FAULT_RETRY, the VMA lock is already
 *    released, fall back and wait; uncontended it completes under the VMA lock.
 *  - ad hoc: a read across two VMAs with never-touched pages: every address copied exactly once;
 *    singleVmaOnly sends it to the slow path whole.
 * And the replay rule (checkEveryEvent) with vmaGup on several of them.
 */
import { describe, expect, it } from 'vitest';
import { entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { EFAULT, EINVAL } from '../src/linux/include/errno.js';
import { PG_lru, PG_referenced, PG_reserved } from '../src/linux/mm/folio.js';
import { VM_FAULT_RETRY } from '../src/linux/mm/mm_types.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { mmap_write_lock, mmap_write_unlock } from '../src/linux/mm/mmap_lock.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import type { Gen } from '../src/sim/task.js';
import { VARIANTS } from '../src/linux/variants.js';
import { COPY_FROM_IO, COPY_FROM_ZERO_PAGE } from '../src/trace/vocab/index.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { fileCmdline } from '../src/workloads/file-cmdline.js';
import { outsider, remote_read, remote_write, spawn_process, thread } from '../src/workloads/lib.js';
import { NEVER_TOUCHED_AREA, neverTouched } from '../src/workloads/never-touched.js';
import { PAGE_P, P_OFFSET, P_PATTERN, reclaimAging } from '../src/workloads/reclaim-aging.js';
import { IO_AREA, SECRET_AREA, deviceBytes, specialVmas } from '../src/workloads/special-vmas.js';
import { stuckWriter } from '../src/workloads/stuck-writer.js';
import type { Workload } from '../src/workloads/workload.js';
import { num } from '../src/workloads/workload.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { type Ev, type Req, type Trace, runTrace } from './helpers/harness.js';
import { cmdlineBytes, waitUntil } from './helpers/tasks.js';

const SEEDS = [1, 2, 3];
const VMA_GUP = ['vmaGup'];
const FB_CHECK = 'check_vma_flags refused the VMA';
const FB_RETRY = 'VM_FAULT_RETRY: the fault dropped the VMA lock';
const FB_NO_LOCK = 'lock_vma_under_rcu failed';
const FB_SPANS = 'read spans more than one VMA';

function run(w: Workload, seed: number, variant: string[] = VMA_GUP, params: Record<string, number> = {}, path: 'gup' | 'fast' = 'fast'): Trace {
  const t = runTrace(w, { seed, path, variant, params });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn').map((e) => e.what)).toEqual([]);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

const fallbacks = (t: Trace, task: string, r?: Req) =>
  t.of('fast_path_fallback', task, r?.inside).map((e) => [e.addr, e.copied, e.reason] as [number, number, string]);
const mmapLocks = (t: Trace, task: string, r?: Req) => t.of('mmap_lock_start_locking', task, r?.inside);
const mmapWaits = (t: Trace, task: string, r?: Req) =>
  t.of('sched_block', task, (e) => (!r || r.inside(e)) && e.wait === 'rwsem_down_read');

/** Is `task` holding a VMA read lock it took with lock_vma_under_rcu at event e? */
function vmaLockedAt(t: Trace, task: string, e: Ev): boolean {
  const last = t.of('vma_start_read', task, (x) => x.seq < e.seq && x.result === 'ok').at(-1);
  if (!last) return false;
  return t.of('vma_end_read', task, (x) => x.seq > last.seq && x.seq < e.seq && x.vma === last.vma).length === 0;
}

/** Every lock_vma_under_rcu success of the task in r is released exactly once (by it or the fault handler). */
function expectVmaLocksBalanced(t: Trace, task: string, r: Req): void {
  const ok = t.of('vma_start_read', task, (e) => r.inside(e) && e.result === 'ok');
  for (const s of ok) {
    const end = t.next('vma_end_read', s.seq, task, (e) => e.vma === s.vma)!;
    expect(end).toBeDefined();
    expect(end.seq).toBeLessThan(r.end);
  }
}

/** Is the task inside handle_mm_fault at event e (between its call_enter and call_exit)? */
function inFault(t: Trace, task: string, e: Ev): boolean {
  const enter = t.of('call_enter', task, (x) => x.seq < e.seq && x.fn === 'handle_mm_fault').at(-1);
  if (!enter) return false;
  return t.of('call_exit', task, (x) => x.seq > enter.seq && x.seq < e.seq && x.fn === 'handle_mm_fault').length === 0;
}

/**
 * No mmap_lock is requested while the task holds a VMA read lock (kernel-spec §11.2, §11.3): the
 * fallback comes after vma_end_read. The one exception is inside a fault: vmf_anon_prepare's
 * mmap_read_trylock, which cannot deadlock.
 */
function expectNoMmapLockUnderVmaLock(t: Trace, task: string): void {
  for (const e of t.of('mmap_lock_start_locking', task)) {
    if (vmaLockedAt(t, task, e)) expect(inFault(t, task, e)).toBe(true);
  }
}

describe('vmaGup in the build', () => {
  it('is a recordable variant with a description (src/cli/record.ts VARIANTS)', () => {
    expect(VARIANTS.vmaGup).toMatch(/VMA lock/);
  });
});

describe('§12.9 never-touched with vmaGup: faulted in under the VMA lock, zeros, no mmap_lock', () => {
  const ROUNDS = neverTouched.params.rounds!.default as number;
  const LEN = neverTouched.params.len!.default as number;
  const OFFSET = neverTouched.params.offset!.default as number;
  for (const seed of SEEDS) {
    it(`§6.6/§6.7/§8.3.6: do_anonymous_page:zero_page runs under FAULT_FLAG_VMA_LOCK, the zero page is copied (seed ${seed})`, () => {
      const t = run(neverTouched, seed);
      const gup = run(neverTouched, seed, [], {}, 'gup');
      const zeroPfn = t.of('folio_alloc', undefined, (e) => (e.flags & PG_reserved) !== 0)[0]!.pfn;
      const reqs = t.requests('monitor');
      expect(reqs).toHaveLength(4 * ROUNDS);
      // Same bytes as mainline GUP: zeros everywhere.
      expect(reqs.map((r) => [r.op, r.addr, r.result, Array.from(r.data)])).toEqual(
        gup.requests('monitor').map((r) => [r.op, r.addr, r.result, Array.from(r.data)]));
      // No mmap_lock, not even tried, and nothing fell back (v1 falls back for every one of these).
      expect(mmapLocks(t, 'monitor')).toHaveLength(0);
      expect(fallbacks(t, 'monitor')).toEqual([]);
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < 4; i++) {
          const req = reqs[4 * r + i]!;
          const want = NEVER_TOUCHED_AREA + (4 * r + i) * PAGE_SIZE + OFFSET;
          const len = i % 2 === 0 ? 8 : LEN;
          expect([req.addr, req.result]).toEqual([want, len]);
          expect(req.data).toEqual(new Uint8Array(len));
          expectVmaLocksBalanced(t, 'monitor', req);
          // One copy, from the zero page (folio 0), made with the VMA read lock held and a FOLL_GET
          // reference on the zero folio taken before it and dropped after it.
          const copies = t.of('copy', 'monitor', req.inside);
          expect(copies.map((e) => [e.addr, e.len, e.folio])).toEqual([[want, len, COPY_FROM_ZERO_PAGE]]);
          expect(vmaLockedAt(t, 'monitor', copies[0]!)).toBe(true);
          const gets = t.of('folio_get', 'monitor', (e) => req.inside(e) && e.seq < copies[0]!.seq);
          const puts = t.of('folio_put', 'monitor', (e) => req.inside(e) && e.seq > copies[0]!.seq);
          expect(gets).toHaveLength(1);
          expect(puts.map((e) => e.folio)).toEqual([gets[0]!.folio]);
          const faults = t.of('fault', 'monitor', req.inside);
          if (i >= 2) {
            // The target's own read mapped the zero page: followed, no fault (§6.6).
            expect(faults).toHaveLength(0);
          } else {
            const page = want - OFFSET;
            expect(faults.map((e) => [e.addr - (e.addr % PAGE_SIZE), e.how, e.result])).toEqual([[page, 'do_anonymous_page:zero_page', 0]]);
            expect(vmaLockedAt(t, 'monitor', faults[0]!)).toBe(true);
            const installed = t.of('pgtable_set', 'monitor', (e) => req.inside(e) && t.isMap(e));
            expect(installed.map((e) => [e.addr, entry_pfn(e.value)])).toEqual([[page, zeroPfn]]);
            // GUP's own steps, under the VMA lock: lookup, fault, lookup again.
            const calls = t.of('call_enter', 'monitor', (e) => req.inside(e) && ['follow_page_mask', 'faultin_page'].includes(e.fn));
            expect(calls.map((e) => e.fn)).toEqual(['follow_page_mask', 'faultin_page', 'follow_page_mask']);
          }
        }
      }
    });
  }
});

describe('§12.2 file-cmdline with vmaGup: check_vma_flags applies FOLL_ANON like GUP', () => {
  for (const seed of SEEDS) {
    for (const touchFirst of [1, 0]) {
      it(`§6.5/§8.2: the file VMA is refused before any fault or copy: 0 bytes, as gup (touchFirst=${touchFirst}, seed ${seed})`, () => {
        const t = run(fileCmdline, seed, VMA_GUP, { touchFirst });
        const gup = run(fileCmdline, seed, [], { touchFirst }, 'gup');
        const v1 = run(fileCmdline, seed, [], { touchFirst }, 'fast');
        const reqs = t.requests('monitor');
        expect(reqs.map((r) => [r.result, Array.from(r.data)])).toEqual(gup.requests('monitor').map((r) => [r.result, Array.from(r.data)]));
        const [control, ...after] = reqs;
        // The control read of the real argv (stack VMA, anonymous): done under the VMA lock alone.
        expect(control!.result).toBe(cmdlineBytes(TARGET_ARGV).length);
        expect(control!.data).toEqual(cmdlineBytes(TARGET_ARGV));
        expect(mmapLocks(t, 'monitor', control)).toHaveLength(0);
        expect(after).toHaveLength(fileCmdline.params.reads!.default as number);
        for (const r of after) {
          expect(r.result).toBe(0);
          // Both access_remote_vm calls of the read (the arg_end-1 probe and the argv read) fall back
          // at once with nothing copied; the slow path's GUP then refuses too (-EFAULT, no ->access).
          const fb = fallbacks(t, 'monitor', r);
          expect(fb.length).toBeGreaterThanOrEqual(1);
          for (const [, copied, reason] of fb) expect([copied, reason]).toEqual([0, FB_CHECK]);
          expect(t.of('gup_error', 'monitor', r.inside).map((e) => e.errno)).toEqual(fb.map(() => EFAULT));
          expect(mmapLocks(t, 'monitor', r)).toHaveLength(fb.length);
          expect(t.of('fault', 'monitor', r.inside)).toHaveLength(0);
          expect(t.of('copy', 'monitor', r.inside)).toHaveLength(0);
          expectVmaLocksBalanced(t, 'monitor', r);
        }
        expectNoMmapLockUnderVmaLock(t, 'monitor');
        // v1 (no FOLL_ANON) reads the file when it is mapped: vmaGup is GUP, not v1.
        if (touchFirst) expect(v1.requests('monitor').slice(1).every((r) => r.result > 0)).toBe(true);
      });
    }
  }
});

describe('§12.3 reclaim-aging with vmaGup: FOLL_TOUCH ages like GUP', () => {
  for (const seed of SEEDS) {
    it(`§5.3/§6.6: two reads -> folio_mark_accessed twice -> P queued for activation, kswapd never judges it (seed ${seed})`, () => {
      const t = run(reclaimAging, seed);
      const store = t.of('user_access', 'target', (e) => e.addr === PAGE_P + P_OFFSET && e.write);
      expect(store).toHaveLength(1);
      const p = store[0]!.folio;
      const reads = t.requests('monitor');
      expect(reads.map((r) => [r.result, Array.from(r.data)])).toEqual(reads.map(() => [P_PATTERN.length, Array.from(P_PATTERN)]));
      // No mmap_lock: the page is present, GUP follows it under the VMA lock.
      expect(mmapLocks(t, 'monitor')).toHaveLength(0);
      expect(fallbacks(t, 'monitor')).toEqual([]);
      const touches = t.of('folio_mark_accessed', 'monitor', (e) => e.folio === p);
      expect(touches).toHaveLength(2);
      expect([touches[0]!.from & PG_referenced, touches[0]!.to & PG_referenced]).toEqual([0, PG_referenced]);
      expect([touches[1]!.from & PG_referenced, touches[1]!.to & PG_referenced]).toEqual([PG_referenced, 0]);
      expect(reads[0]!.inside(touches[0]!)).toBe(true);
      expect(reads[1]!.inside(touches[1]!)).toBe(true);
      for (const e of touches) expect(vmaLockedAt(t, 'monitor', e)).toBe(true);
      // The 2nd touch queues P on the monitor CPU's lru_activate batch (PG_lru cleared); reclaim's
      // isolation passes over it.
      const queued = t.of('folio_flags', 'monitor', (e) => e.folio === p && (e.old & PG_lru) !== 0 && (e.new & PG_lru) === 0);
      expect(queued).toHaveLength(1);
      expect(reads[1]!.inside(queued[0]!)).toBe(true);
      expect(t.of('reclaim_verdict', 'kswapd0', (e) => e.folio === p)).toHaveLength(0);
      // The same aging events as the GUP path.
      const gup = run(reclaimAging, seed, [], {}, 'gup');
      const pg = gup.of('user_access', 'target', (e) => e.addr === PAGE_P + P_OFFSET && e.write)[0]!.folio;
      expect(gup.of('folio_mark_accessed', 'monitor', (e) => e.folio === pg).map((e) => [e.from, e.to])).toEqual(touches.map((e) => [e.from, e.to]));
    });
  }
});

describe('§12.5 stuck-writer with vmaGup', () => {
  for (const seed of SEEDS) {
    it(`cmdline: never waits on (nor takes) mmap_lock while the writer holds it; gup waits (seed ${seed})`, () => {
      const gup = run(stuckWriter, seed, [], { pages: 128 }, 'gup');
      expect(mmapWaits(gup, 'monitor').length).toBeGreaterThanOrEqual(1);
      const t = run(stuckWriter, seed, VMA_GUP, { pages: 128 });
      const reqs = t.requests('monitor');
      expect(reqs.map((r) => r.result)).toEqual([48, 48, 48, 48]);
      expect(reqs.map((r) => Array.from(r.data))).toEqual(gup.requests('monitor').map((r) => Array.from(r.data)));
      expect(mmapLocks(t, 'monitor')).toHaveLength(0);
      expect(mmapWaits(t, 'monitor')).toHaveLength(0);
      expect(fallbacks(t, 'monitor')).toEqual([]);
      // GUP under the VMA lock did the work.
      expect(t.of('call_enter', 'monitor', (e) => e.fn === 'get_user_page_vma_locked').length).toBeGreaterThanOrEqual(4);
    });

    it(`the write-locked region: the VMA lock is refused, fall back and wait like gup; waitForWriter retries lock-free (seed ${seed})`, () => {
      const t = run(stuckWriter, seed, VMA_GUP, { pages: 128, region: 1 });
      expect(t.requests('monitor').every((r) => r.result === 64)).toBe(true);
      expect(fallbacks(t, 'monitor').some(([, , why]) => why === FB_NO_LOCK)).toBe(true);
      expect(mmapWaits(t, 'monitor').length).toBeGreaterThanOrEqual(1);
      const w = run(stuckWriter, seed, ['vmaGup', 'waitForWriter'], { pages: 128, region: 1 });
      expect(w.requests('monitor').every((r) => r.result === 64)).toBe(true);
      expect(w.of('vma_lock_wait_retry', 'monitor').length).toBeGreaterThanOrEqual(1);
      expect(fallbacks(w, 'monitor').filter(([, , why]) => why === FB_NO_LOCK)).toEqual([]);
      expectNoMmapLockUnderVmaLock(w, 'monitor');
    });
  }
});

describe('§12.11 special-vmas with vmaGup: GUP refuses, the slow path does ->access', () => {
  const LEN = specialVmas.params.len!.default as number;
  const OFFSET = specialVmas.params.offset!.default as number;
  const device = deviceBytes(specialVmas.params.pages!.default as number);
  const accessPhys = (t: Trace, r: Req) =>
    t.of('call_exit', 'monitor', (e) => r.inside(e) && e.fn === 'generic_access_phys').map((e) => e.ret);
  for (const seed of SEEDS) {
    it(`§6.5 VM_IO|VM_PFNMAP and secretmem fall back at once; generic_access_phys returns the device bytes (seed ${seed})`, () => {
      const t = run(specialVmas, seed);
      const gup = run(specialVmas, seed, [], {}, 'gup');
      const reqs = t.requests('monitor');
      expect(reqs.map((r) => [r.op, r.addr, r.result, Array.from(r.data)])).toEqual(
        gup.requests('monitor').map((r) => [r.op, r.addr, r.result, Array.from(r.data)]));
      for (let i = 0; i < reqs.length; i += 4) {
        const [read, peek, poke, secret] = reqs.slice(i, i + 4) as [Req, Req, Req, Req];
        // Every request (the POKE too: vmaGup serves writes) is refused by check_vma_flags under the
        // VMA lock, which is released before the slow path takes mmap_lock (once).
        for (const r of [read, peek, poke, secret]) {
          expect(fallbacks(t, 'monitor', r)).toEqual([[r.addr, 0, FB_CHECK]]);
          const fb = t.of('fast_path_fallback', 'monitor', r.inside)[0]!;
          expect(vmaLockedAt(t, 'monitor', fb)).toBe(false);
          const locks = mmapLocks(t, 'monitor', r);
          expect(locks).toHaveLength(1);
          expect(locks[0]!.seq).toBeGreaterThan(fb.seq);
          expect(t.of('fault', 'monitor', r.inside)).toHaveLength(0);
          expectVmaLocksBalanced(t, 'monitor', r);
        }
        expect([read.result, Array.from(read.data)]).toEqual([LEN, Array.from(device.subarray(OFFSET, OFFSET + LEN))]);
        expect(accessPhys(t, read)).toEqual([LEN]);
        expect(t.of('copy', 'monitor', read.inside).map((e) => [e.addr, e.len, e.folio])).toEqual([[IO_AREA + OFFSET, LEN, COPY_FROM_IO]]);
        expect([peek.result, Array.from(peek.data)]).toEqual([8, Array.from(device.subarray(0, 8))]);
        expect(poke.result).toBe(0);
        expect(accessPhys(t, poke)).toEqual([-EINVAL]);
        expect(secret.addr).toBe(SECRET_AREA);
        expect(secret.result).toBe(0);
        expect(accessPhys(t, secret)).toEqual([]);
      }
      expect(t.of('kernel_fault', 'monitor')).toHaveLength(0);
    });
  }
});

const ANON_AREA = 0x40000000;
const POKE_DATA = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67]);

/**
 * A remote write (access_process_vm + FOLL_WRITE, as /proc/PID/mem) to a never-touched page of an
 * anonymous VMA with no anon_vma yet. contend=1: a target thread holds mmap_lock for write (without
 * write-locking that VMA) until the monitor queues on it. Then the target reads the bytes back.
 */
const anonWrite: Workload = {
  name: 'vmagup-anon-write',
  description: 'test: a remote write fault that needs an anon_vma under the VMA lock, mmap_lock contended or not',
  params: { contend: { default: 1, description: '1: a thread holds mmap_lock for write meanwhile' } },
  *boot(ctx): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const mapped = new Completion();
    const written = new Completion();
    thread(proc, 'target/0', function* () {
      const addr = yield* sys_mmap(mm, { addr: ANON_AREA, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      if (addr !== ANON_AREA) throw new Error(`mmap returned ${addr}`);
      if (num(ctx, 'contend')) {
        yield* mmap_write_lock(mm);
        yield* complete_all(mapped);
        // Hold it until the monitor queues behind us (its slow path), then let it in.
        yield* waitUntil(() => mm.mmap_lock.is_contended());
        yield* mmap_write_unlock(mm);
      } else {
        yield* complete_all(mapped);
      }
      yield* wait_for_completion(written);
      // The target sees the bytes through its own mapping (a throw would end the run as failed).
      const readBack = new Uint8Array(POKE_DATA.length);
      if (!(yield* user_access(mm, ANON_AREA + 16, readBack, false))) throw new Error('read back faulted');
      if (readBack.some((b, i) => b !== POKE_DATA[i])) throw new Error('read back differs');
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(mapped);
      yield* remote_write(proc, ANON_AREA + 16, POKE_DATA);
      // Again, now that the page is mapped writable: no fault, no mmap_lock.
      yield* remote_write(proc, ANON_AREA + 32, POKE_DATA);
      yield* remote_read(proc, ANON_AREA + 16, 24);
      yield* complete_all(written);
    });
  },
};

describe('§2.7/§6.7 a write fault under the VMA lock that needs an anon_vma (vmf_anon_prepare)', () => {
  for (const seed of SEEDS) {
    it(`mmap_lock contended: trylock fails, VM_FAULT_RETRY drops the VMA lock, fall back and wait; the bytes land (seed ${seed})`, () => {
      const t = run(anonWrite, seed);
      const [first, second, read] = t.requests('monitor') as [Req, Req, Req];
      expect([first.op, first.result, second.result, read.result]).toEqual(['access_process_vm_write', 8, 8, 24]);
      expect(Array.from(read.data)).toEqual([...POKE_DATA, ...new Uint8Array(8), ...POKE_DATA]);
      // First request: the fault under the VMA lock ...
      const faults = t.of('fault', 'monitor', first.inside);
      expect(faults.map((e) => [e.how, e.result])).toEqual([['vmf_anon_prepare:retry', VM_FAULT_RETRY], ['do_anonymous_page', 0]]);
      expect(vmaLockedAt(t, 'monitor', faults[0]!)).toBe(false); // released by vmf_anon_prepare itself
      // ... tried mmap_lock (trylock, failed) while holding the VMA lock ...
      const tries = t.of('mmap_lock_acquire_returned', 'monitor', (e) => first.inside(e) && e.seq < faults[0]!.seq);
      expect(tries.map((e) => e.success)).toEqual([false]);
      expect(vmaLockedAt(t, 'monitor', tries[0]!)).toBe(true);
      // ... and fell back at the same address with nothing copied, after the lock was gone.
      expect(fallbacks(t, 'monitor', first)).toEqual([[ANON_AREA + 16, 0, FB_RETRY]]);
      const fb = t.of('fast_path_fallback', 'monitor', first.inside)[0]!;
      expect(fb.seq).toBeGreaterThan(faults[0]!.seq);
      expect(t.of('vma_end_read', 'monitor', (e) => first.inside(e) && e.seq > faults[0]!.seq)).toHaveLength(0);
      expectVmaLocksBalanced(t, 'monitor', first);
      // The slow path slept on mmap_lock until the writer let go, then GUP faulted the page in.
      expect(mmapWaits(t, 'monitor', first).length).toBeGreaterThanOrEqual(1);
      expect(faults[1]!.seq).toBeGreaterThan(mmapWaits(t, 'monitor', first)[0]!.seq);
      expect(vmaLockedAt(t, 'monitor', faults[1]!)).toBe(false);
      // The data was written exactly once, by the slow path.
      expect(t.of('copy_to_folio', 'monitor', first.inside).map((e) => [e.addr, e.len])).toEqual([[ANON_AREA + 16, 8]]);
      // Second write and the read: the page is mapped, GUP follows it under the VMA lock alone.
      for (const r of [second, read]) {
        expect(mmapLocks(t, 'monitor', r)).toHaveLength(0);
        expect(t.of('fault', 'monitor', r.inside)).toHaveLength(0);
        expect(fallbacks(t, 'monitor', r)).toEqual([]);
      }
      const wrote = t.of('copy_to_folio', 'monitor', second.inside);
      expect(wrote.map((e) => [e.addr, e.len])).toEqual([[ANON_AREA + 32, 8]]);
      expect(vmaLockedAt(t, 'monitor', wrote[0]!)).toBe(true);
      expectNoMmapLockUnderVmaLock(t, 'monitor');
      // The target read them back through its own mapping (the workload checks the bytes).
      const back = t.of('user_access', 'target/0', (e) => e.addr === ANON_AREA + 16 && !e.write);
      expect(back).toHaveLength(1);
    });

    it(`mmap_lock free: the trylock succeeds, the write fault completes under the VMA lock, no fallback (seed ${seed})`, () => {
      const t = run(anonWrite, seed, VMA_GUP, { contend: 0 });
      const [first] = t.requests('monitor') as [Req];
      expect(first.result).toBe(8);
      const faults = t.of('fault', 'monitor', first.inside);
      expect(faults.map((e) => [e.how, e.result])).toEqual([['do_anonymous_page', 0]]);
      expect(vmaLockedAt(t, 'monitor', faults[0]!)).toBe(true);
      expect(fallbacks(t, 'monitor')).toEqual([]);
      // The only mmap_lock activity: vmf_anon_prepare's successful trylock, taken and dropped inside the fault.
      expect(t.of('mmap_lock_acquire_returned', 'monitor').map((e) => ({ write: e.write, success: e.success }))).toEqual([{ write: false, success: true }]);
      expect(mmapWaits(t, 'monitor')).toHaveLength(0);
      expect(Array.from(t.requests('monitor')[2]!.data)).toEqual([...POKE_DATA, ...new Uint8Array(8), ...POKE_DATA]);
    });

    it(`gup path for comparison: one fault under mmap_lock, after waiting for the writer (seed ${seed})`, () => {
      const t = run(anonWrite, seed, [], {}, 'gup');
      const [first] = t.requests('monitor') as [Req];
      expect(first.result).toBe(8);
      expect(t.of('fault', 'monitor', first.inside).map((e) => e.how)).toEqual(['do_anonymous_page']);
      expect(mmapWaits(t, 'monitor', first).length).toBeGreaterThanOrEqual(1);
    });
  }
});

const SPAN_A = 0x50000000;
const SPAN_B = SPAN_A + 2 * PAGE_SIZE;
const SPAN_START = SPAN_A + 100;
const SPAN_LEN = 3 * PAGE_SIZE;
const patternA = new TextEncoder().encode('first VMA, first page');
const patternB = new TextEncoder().encode('second VMA, first page');

/**
 * Two adjacent anonymous VMAs that cannot merge (the second is PROT_EXEC); the target writes the
 * first page of each, the second page of each is never touched. The monitor reads 3 pages from
 * SPAN_A + 100: across both VMAs, with a fault in each.
 */
const twoVmas: Workload = {
  name: 'vmagup-two-vmas',
  description: 'test: one remote read across two VMAs with never-touched pages',
  params: {},
  *boot(): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const ready = new Completion();
    thread(proc, 'target/0', function* () {
      const a = yield* sys_mmap(mm, { addr: SPAN_A, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      const b = yield* sys_mmap(mm, { addr: SPAN_B, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_EXEC, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      if (a !== SPAN_A || b !== SPAN_B) throw new Error('mmap');
      yield* user_access(mm, SPAN_A + 100, patternA, true);
      yield* user_access(mm, SPAN_B, patternB, true);
      yield* complete_all(ready);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, SPAN_START, SPAN_LEN);
    });
  },
};

function expectedSpan(): Uint8Array {
  const mem = new Uint8Array(4 * PAGE_SIZE);
  mem.set(patternA, 100);
  mem.set(patternB, 2 * PAGE_SIZE);
  return mem.subarray(100, 100 + SPAN_LEN);
}

describe('§8.3.6 multi-VMA reads with vmaGup: every page address exactly once', () => {
  for (const seed of SEEDS) {
    it(`re-lookup per VMA: two VMA locks, a fault in each, contiguous copies covering the range once (seed ${seed})`, () => {
      const t = run(twoVmas, seed);
      const [r] = t.requests('monitor') as [Req];
      expect([r.result, Array.from(r.data)]).toEqual([SPAN_LEN, Array.from(expectedSpan())]);
      expect(mmapLocks(t, 'monitor', r)).toHaveLength(0);
      expect(fallbacks(t, 'monitor', r)).toEqual([]);
      const locked = t.of('vma_start_read', 'monitor', (e) => r.inside(e) && e.result === 'ok');
      expect(locked).toHaveLength(2);
      expect(locked[0]!.vma).not.toBe(locked[1]!.vma);
      // The first VMA's lock is dropped before the second is taken (re-lookup at the next address).
      const end0 = t.next('vma_end_read', locked[0]!.seq, 'monitor', (e) => e.vma === locked[0]!.vma)!;
      expect(end0.seq).toBeLessThan(locked[1]!.seq);
      expectVmaLocksBalanced(t, 'monitor', r);
      // Copies: contiguous, in order, no address twice, exactly the requested range.
      const copies = t.of('copy', 'monitor', r.inside).map((e) => [e.addr, e.len] as [number, number]);
      let at = SPAN_START;
      for (const [addr, len] of copies) {
        expect(addr).toBe(at);
        at += len;
      }
      expect(at).toBe(SPAN_START + SPAN_LEN);
      expect(copies.map(([a]) => a)).toEqual([SPAN_START, SPAN_A + PAGE_SIZE, SPAN_B, SPAN_B + PAGE_SIZE]);
      // One fault per never-touched page, each under that VMA's lock.
      const faults = t.of('fault', 'monitor', r.inside);
      expect(faults.map((e) => [e.addr - (e.addr % PAGE_SIZE), e.how])).toEqual([
        [SPAN_A + PAGE_SIZE, 'do_anonymous_page:zero_page'], [SPAN_B + PAGE_SIZE, 'do_anonymous_page:zero_page']]);
      for (const f of faults) expect(vmaLockedAt(t, 'monitor', f)).toBe(true);
    });

    it(`with singleVmaOnly the read falls back whole to the slow path, same bytes (seed ${seed})`, () => {
      const t = run(twoVmas, seed, ['vmaGup', 'singleVmaOnly']);
      const [r] = t.requests('monitor') as [Req];
      expect([r.result, Array.from(r.data)]).toEqual([SPAN_LEN, Array.from(expectedSpan())]);
      expect(fallbacks(t, 'monitor', r)).toEqual([[SPAN_START, 0, FB_SPANS]]);
      expect(mmapLocks(t, 'monitor', r)).toHaveLength(1);
      expect(t.of('call_enter', 'monitor', (e) => r.inside(e) && e.fn === 'get_user_page_vma_locked')).toHaveLength(0);
    });
  }
});

describe('redoWhole with vmaGup: a read stopped part-way starts over; a write keeps what it wrote', () => {
  const A = 0x4800_0000;
  /** A read-write page, then an inaccessible one: a write or read across the boundary stops there. */
  const rwThenNone: Workload = {
    name: 'rw-then-none',
    description: 'a remote write and read across a writable page and a PROT_NONE one',
    params: {},
    *boot(): Gen {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const ready = new Completion();
      thread(proc, 'target/0', function* () {
        yield* sys_mmap(proc.mm, { addr: A, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* sys_mmap(proc.mm, { addr: A + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_NONE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* user_access(proc.mm, A, new Uint8Array(PAGE_SIZE).fill(0x61), true);
        yield* complete_all(ready);
      });
      outsider('monitor', function* () {
        yield* wait_for_completion(ready);
        yield* remote_write(proc, A + PAGE_SIZE - 4, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
        yield* remote_read(proc, A + PAGE_SIZE - 4, 8);
      });
    },
  };
  for (const seed of [1, 2]) {
    it(`the write's 4 bytes stay written, once, and are its result; the read's 4 are read again under mmap_lock (seed ${seed})`, () => {
      const t = run(rwThenNone, seed, ['vmaGup', 'redoWhole']);
      const [write, read] = t.requests('monitor') as [Req, Req];
      expect([write.result, read.result]).toEqual([4, 4]);
      // check_vma_flags refuses the PROT_NONE VMA on both, after 4 bytes.
      expect(fallbacks(t, 'monitor', write)).toEqual([[A + PAGE_SIZE, 4, FB_CHECK]]);
      expect(fallbacks(t, 'monitor', read)).toEqual([[A + PAGE_SIZE, 4, FB_CHECK]]);
      // The write keeps them: they are in the target already, and the slow path does not write them again.
      expect(t.of('fast_path_discard', 'monitor', write.inside)).toHaveLength(0);
      expect(t.of('copy_to_folio', 'monitor', write.inside).map((e) => [e.addr, e.len])).toEqual([[A + PAGE_SIZE - 4, 4]]);
      // The read drops them and reads them again under mmap_lock.
      const discards = t.of('fast_path_discard', 'monitor', read.inside);
      expect(discards.map((e) => [e.addr, e.copied])).toEqual([[A + PAGE_SIZE - 4, 4]]);
      const copies = t.of('copy', 'monitor', read.inside);
      expect(copies.map((e) => [e.addr, e.len, e.seq > discards[0]!.seq])).toEqual([[A + PAGE_SIZE - 4, 4, false], [A + PAGE_SIZE - 4, 4, true]]);
      expect(Array.from(read.data.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    });
  }
});

describe('the replay rule holds after every event with vmaGup', () => {
  const cases: [Workload, Record<string, number>, string[]][] = [
    [neverTouched, {}, VMA_GUP],
    [fileCmdline, {}, VMA_GUP],
    [reclaimAging, {}, VMA_GUP],
    [specialVmas, {}, VMA_GUP],
    [stuckWriter, { pages: 24, reads: 3, region: 1 }, ['vmaGup', 'waitForWriter']],
    [anonWrite, {}, VMA_GUP],
    [twoVmas, {}, VMA_GUP],
  ];
  for (const [w, params, variant] of cases) {
    for (const seed of [1, 2]) {
      it(`${w.name} ${variant.join('+')} (seed ${seed})`, () => {
        const { events, firstMismatch } = checkEveryEvent(w, { path: 'fast', variant, seed, params, pct: seed === 2 });
        expect(events).toBeGreaterThan(150);
        expect(firstMismatch).toBeNull();
      });
    }
  }
});
