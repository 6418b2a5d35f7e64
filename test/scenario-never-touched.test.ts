/**
 * never-touched (kernel-spec §12.9, §6.6, §6.7, §7.1, §8.3): remote reads of anonymous pages that
 * were never faulted in, and of pages whose PTE maps the shared zero page (the target read them).
 *  - gup: a never-touched page is faulted in for the read (`do_anonymous_page:zero_page`, which
 *    installs a zero-page PTE in the target's page tables) and copied from the zero page; a
 *    zero-page PTE is followed without a fault. Zeros either way.
 *  - fast (v1): folio_walk_start() finds nothing for a never-touched page (no table / pte_none), and
 *    without FW_ZEROPAGE a present zero-page PTE is "not found" too, so every read falls back
 *    (`folio_walk_start: not found`, nothing copied) and GUP does it as above: the same bytes,
 *    extra events. The review's fix set (singleVmaOnly, checkFollAnon, touch) changes nothing here.
 */
import { describe, expect, it } from 'vitest';
import { entry_pfn, entry_present } from '../src/linux/arch/x86/include/pgtable_types.js';
import { PG_reserved } from '../src/linux/mm/folio.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { COPY_FROM_ZERO_PAGE } from '../src/trace/vocab/index.js';
import { NEVER_TOUCHED_AREA, neverTouched } from '../src/workloads/never-touched.js';
import { runTrace, type Ev, type Trace, type Req } from './helpers/harness.js';

const ROUNDS = neverTouched.params.rounds!.default as number;
const LEN = neverTouched.params.len!.default as number;
const OFFSET = neverTouched.params.offset!.default as number;
const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];


const requestsOf = (t: Trace, task: string): Req[] => t.requests(task);

/** The four requests of each round: page 4r PEEK (never touched), 4r+1 read (never touched), 4r+2 PEEK and 4r+3 read (zero-page PTE). */
function layout(r: number, i: number): { addr: number; op: string; len: number; touched: boolean } {
  const peek = i % 2 === 0;
  return {
    addr: NEVER_TOUCHED_AREA + (4 * r + i) * PAGE_SIZE + OFFSET,
    op: peek ? 'ptrace_peekdata' : 'access_process_vm',
    len: peek ? 8 : LEN,
    touched: i >= 2,
  };
}

function run(seed: number, path: 'gup' | 'fast', variant: string[] = []) {
  const t = runTrace(neverTouched, { seed, path, variant });
  expect(t.result.outcome).toBe('done');
  const reqs = requestsOf(t, 'monitor');
  expect(reqs).toHaveLength(4 * ROUNDS);
  const zeroPfn = t.of('folio_alloc', undefined, (e) => (e.flags & PG_reserved) !== 0)[0]!.pfn;
  // The target itself read pages 2 and 3 of each round: zero-page PTEs, installed by its read faults.
  const targetFaults = t.of('fault', 'target/0').map((e) => [Math.floor(e.addr / PAGE_SIZE) * PAGE_SIZE, e.how]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of [2, 3]) {
      expect(targetFaults).toContainEqual([NEVER_TOUCHED_AREA + (4 * r + i) * PAGE_SIZE, 'do_anonymous_page:zero_page']);
    }
  }
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  return { t, reqs, zeroPfn };
}

/** What every path shows: zeros, copied from the zero page; GUP faults exactly the never-touched pages. */
function expectZerosViaGup(t: Trace, reqs: Req[], zeroPfn: number): void {
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < 4; i++) {
      const want = layout(r, i);
      const req = reqs[4 * r + i]!;
      expect([req.op, req.addr]).toEqual([want.op, want.addr]);
      expect(req.result).toBe(want.len);
      expect(req.data).toEqual(new Uint8Array(want.len));
      // The copy comes from the zero page (copy event folio 0), once, for the whole request.
      const copies = t.of('copy', 'monitor', req.inside);
      expect(copies.map((e) => [e.addr, e.len, e.folio])).toEqual([[want.addr, want.len, COPY_FROM_ZERO_PAGE]]);
      const page = Math.floor(want.addr / PAGE_SIZE) * PAGE_SIZE;
      const faults = t.of('fault', 'monitor', req.inside);
      if (want.touched) {
        // The zero-page PTE is followed: no fault (§6.6 follow_page_pte: zero pfn -> zero page).
        expect(faults).toHaveLength(0);
      } else {
        // §6.7: GUP faults it in; the read fault maps the zero page into the target's page tables.
        expect(faults.map((e) => [Math.floor(e.addr / PAGE_SIZE) * PAGE_SIZE, e.how])).toEqual([[page, 'do_anonymous_page:zero_page']]);
        const installed = t.of('pgtable_set', 'monitor', (e) => req.inside(e) && t.isMap(e));
        expect(installed.map((e) => [e.addr, entry_pfn(e.value)])).toEqual([[page, zeroPfn]]);
      }
      // GUP with FOLL_GET takes (and the copy drops) a reference on the zero page; no errors.
      expect(t.of('gup_error', 'monitor', req.inside)).toHaveLength(0);
    }
  }
}

describe('never-touched: remote reads of never-faulted and zero-page anonymous memory (kernel-spec §12.9)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§12.9/§6.7 gup: never-touched pages are faulted in as the zero page, zero-page PTEs followed; zeros (seed ${seed})`, () => {
      const { t, reqs, zeroPfn } = run(seed, 'gup');
      expectZerosViaGup(t, reqs, zeroPfn);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
    });

    for (const variant of [[], FIXES]) {
      const label = variant.length ? `fast+${variant.join(',')}` : 'fast (v1)';
      it(`§12.9/§7.1/§8.3 ${label}: folio_walk_start finds nothing, not even the zero page (no FW_ZEROPAGE): every read falls back, same zeros, more events (seed ${seed})`, () => {
        const { t, reqs, zeroPfn } = run(seed, 'fast', variant);
        for (let r = 0; r < ROUNDS; r++) {
          for (let i = 0; i < 4; i++) {
            const want = layout(r, i);
            const req = reqs[4 * r + i]!;
            const fb = t.of('fast_path_fallback', 'monitor', req.inside);
            expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[want.addr, 0, 'folio_walk_start: not found']]);
            // The fallback comes before any mmap_lock: the fast path ran first and copied nothing.
            const lock = t.of('mmap_lock_start_locking', 'monitor', req.inside);
            expect(lock.length).toBeGreaterThan(0);
            expect(fb[0]!.seq).toBeLessThan(lock[0]!.seq);
            const before = (e: Ev) => req.inside(e) && e.seq < fb[0]!.seq;
            expect(t.of('copy', 'monitor', before)).toHaveLength(0);
            expect(t.of('folio_get', 'monitor', before)).toHaveLength(0);
            const pteReads = t.of('pgtable_read', 'monitor', (e) => before(e) && e.level === 'pte');
            if (want.touched) {
              // The walk did reach a present PTE -- it maps the zero pfn, which v1 does not return.
              expect(pteReads.some((e) => entry_present(e.value) && entry_pfn(e.value) === zeroPfn)).toBe(true);
            } else {
              // Nothing present at the address.
              expect(pteReads.every((e) => !entry_present(e.value))).toBe(true);
            }
          }
        }
        // Then GUP does exactly what it does on the gup path.
        expectZerosViaGup(t, reqs, zeroPfn);
      });
    }

    it(`§12.9 gup and fast agree byte for byte; the fast path only adds events (seed ${seed})`, () => {
      const gup = run(seed, 'gup');
      const fast = run(seed, 'fast');
      expect(fast.reqs.map((r) => [r.op, r.addr, r.result, Array.from(r.data)])).toEqual(
        gup.reqs.map((r) => [r.op, r.addr, r.result, Array.from(r.data)]));
      for (let i = 0; i < gup.reqs.length; i++) expect(fast.reqs[i]!.events).toBeGreaterThan(gup.reqs[i]!.events);
    });
  }
});
