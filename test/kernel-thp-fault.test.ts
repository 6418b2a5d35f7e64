/**
 * Faults on a THP-eligible VMA (kernel-spec §12.12; the PMD part of __handle_mm_fault): every way
 * handle_huge_pmd_fault goes, each reached on purpose (the workloads reach the first two; the
 * write-protect and set-accessed returns only in races):
 *  - a none PMD read: the huge zero page (do_huge_pmd_anonymous_page);
 *  - a write to the huge zero page: a new THP in its place (do_huge_zero_wp_pmd);
 *  - a none PMD written: a new THP;
 *  - mprotect giving write back makes an exclusive THP's leaf writable itself (no fault);
 *  - a write to a write-protected PMD leaf, do_huge_pmd_wp_page: an exclusive THP is reused whatever
 *    else holds a reference; one not known to be exclusive (mprotect leaves it write-protected) is
 *    reused only when the mapping's reference is the only one (under the folio lock, slept for if
 *    somebody holds it), else split, and the fault goes on at PTE level;
 *  - a fault on a present, writable leaf (what a fault that lost the race to map it finds):
 *    huge_pmd_set_accessed, touch_pmd.
 */
import { describe, expect, it } from 'vitest';
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE, _PAGE_RW, entry_clear_bits, entry_pfn, PMD_SIZE,
} from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import {
  type Folio, PG_locked, folio_get, folio_lock, folio_put, folio_unlock, is_huge_zero_pfn, page_folio,
} from '../src/linux/mm/folio.js';
import { MADV_HUGEPAGE, sys_madvise } from '../src/linux/mm/madvise.js';
import { handle_mm_fault } from '../src/linux/mm/memory.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { mmap_read_lock, mmap_read_unlock } from '../src/linux/mm/mmap_lock.js';
import { FAULT_FLAG_WRITE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { type FolioReferencedArg, folio_referenced } from '../src/linux/mm/rmap.js';
import type { Gen } from '../src/sim/task.js';
import { pmd_value } from '../src/workloads/thp.js';
import { remote_write, spawn_process, type Process } from '../src/workloads/lib.js';
import { FOLL_FORCE } from '../src/linux/mm/gup.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { pmd_slot } from './helpers/pgtable.js';
import { spawnOutsider, spawnThread, waitUntil } from './helpers/tasks.js';

/** Two PMD entries' worth, 2 MiB-aligned. */
const AREA = 0x60000000;
const SECOND = AREA + PMD_SIZE;
const WORD = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

const leaf = (v: number) => (v & _PAGE_PSE) !== 0;
const writable = (v: number) => (v & _PAGE_RW) !== 0;

interface Run {
  t: Trace;
  /** The two PMD entries after each noted step. */
  after: Record<string, [number, number]>;
  /** Whether each maps the huge zero page, after each noted step (asked of the run's kernel). */
  zero: Record<string, [boolean, boolean]>;
  /** The THPs the two writes mapped. */
  thps: [Folio, Folio];
}

/**
 * The toucher maps the area (MADV_HUGEPAGE) and writes both halves (a THP each), then runs `then`,
 * which notes the PMDs after its steps; `beside` runs other tasks of the same process.
 */
function run(seed: number, then: (mm: MmStruct, thps: [Folio, Folio], note: (step: string) => void) => Gen, beside?: (proc: Process, thps: () => [Folio, Folio]) => void): Run {
  const after: Run['after'] = {};
  const zero: Run['zero'] = {};
  let thps!: [Folio, Folio];
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const mm = proc.mm;
    const note = (step: string) => {
      after[step] = [pmd_value(mm, AREA), pmd_value(mm, SECOND)];
      zero[step] = [is_huge_zero_pfn(entry_pfn(after[step][0])), is_huge_zero_pfn(entry_pfn(after[step][1]))];
    };
    spawnThread(proc, 'toucher', function* () {
      yield* sys_mmap(mm, { addr: AREA, len: 2 * PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_madvise(mm, AREA, 2 * PMD_SIZE, MADV_HUGEPAGE);
      yield* user_access(mm, AREA + 64, new Uint8Array(8), false);
      note('read');
      yield* user_access(mm, AREA + 128, WORD, true);
      yield* user_access(mm, SECOND + 128, WORD, true);
      thps = [page_folio(entry_pfn(pmd_value(mm, AREA))), page_folio(entry_pfn(pmd_value(mm, SECOND)))];
      note('written');
      yield* then(mm, thps, note);
    });
    beside?.(proc, () => thps);
  }, { seed });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  return { t, after, zero, thps };
}

/**
 * mprotect read-only and back: the leaves of THPs not known to be exclusive stay write-protected
 * (mprotect makes only exclusive ones writable again).
 */
function* writeProtect(mm: MmStruct): Gen {
  yield* sys_mprotect(mm, AREA, 2 * PMD_SIZE, PROT_READ);
  yield* sys_mprotect(mm, AREA, 2 * PMD_SIZE, PROT_READ | PROT_WRITE);
}

const faults = (r: Run) => r.t.of('fault', 'toucher').map((e) => [e.addr, e.how]);
const FIRST_FAULTS = [
  [AREA + 64, 'do_huge_pmd_anonymous_page:huge_zero_page'],
  [AREA + 128, 'do_huge_zero_wp_pmd'],
  [SECOND + 128, 'do_huge_pmd_anonymous_page'],
];

describe('faults on a THP-eligible VMA: every way handle_huge_pmd_fault goes', () => {
  for (const seed of [1, 2]) {
    it(`the huge zero page, its write fault, a new THP; mprotect giving write back makes the exclusive THPs' leaves writable at once, no fault (seed ${seed})`, () => {
      const r = run(seed, function* (mm, _thps, note) {
        yield* sys_mprotect(mm, AREA, 2 * PMD_SIZE, PROT_READ);
        note('protected');
        yield* sys_mprotect(mm, AREA, 2 * PMD_SIZE, PROT_READ | PROT_WRITE);
        note('unprotected');
        yield* user_access(mm, AREA + 256, WORD, true);
        yield* user_access(mm, SECOND + 256, WORD, true);
        note('rewritten');
      });
      // The huge zero page: a read-only leaf; then a THP of its own, writable and dirty.
      expect(faults(r)).toEqual(FIRST_FAULTS);
      expect(leaf(r.after['read']![0]) && !writable(r.after['read']![0])).toBe(true);
      expect(r.zero['read']![0]).toBe(true);
      for (const v of r.after['written']!) expect(leaf(v) && writable(v) && (v & _PAGE_DIRTY) !== 0).toBe(true);
      expect(r.zero['written']).toEqual([false, false]);
      for (const v of r.after['protected']!) expect(leaf(v) && !writable(v)).toBe(true);
      // MM_CP_TRY_CHANGE_WRITABLE: exclusive anonymous THPs are made writable by mprotect itself.
      expect(r.after['unprotected']).toEqual(r.after['written']);
      expect(r.after['rewritten']).toEqual(r.after['written']);
    });

    it(`an exclusive THP write-protected in a writable VMA is reused in place on a write fault, even with a reference held (seed ${seed})`, () => {
      const r = run(seed, function* (mm, [, second], note) {
        // Another reference to the second THP (a reader's get): it stays exclusive all the same.
        yield* folio_get(second);
        // Write-protected as soft-dirty or uffd-wp tracking would leave them (neither is modelled).
        for (const at of [AREA, SECOND]) {
          const slot = pmd_slot(mm, at);
          slot.table.entries[slot.idx] = entry_clear_bits(slot.table.entries[slot.idx]!, _PAGE_RW);
        }
        note('protected');
        yield* user_access(mm, AREA + 256, WORD, true);
        yield* user_access(mm, SECOND + 256, WORD, true);
        note('rewritten');
        yield* folio_put(second);
      });
      expect(faults(r)).toEqual([
        ...FIRST_FAULTS,
        [AREA + 256, 'do_huge_pmd_wp_page:reuse'],
        [SECOND + 256, 'do_huge_pmd_wp_page:reuse'],
      ]);
      for (const v of r.after['protected']!) expect(leaf(v) && !writable(v)).toBe(true);
      // Reused in place: the same leaves as before, no split, no lock on the folio.
      expect(r.after['rewritten']).toEqual(r.after['written']);
      expect(r.t.of('call_enter', 'toucher', (e) => e.fn === '__split_huge_pmd')).toHaveLength(0);
      expect(r.t.of('folio_flags', 'toucher', (e) => e.why === 'folio_lock')).toHaveLength(0);
    });

    it(`a THP not known to be exclusive: reused under the folio lock when only the mapping holds it, split when another reference is held (seed ${seed})`, () => {
      const r = run(seed, function* (mm, [first, second], note) {
        // As after fork's page_try_dup_anon_rmap() (fork is not modelled): no longer known to be exclusive.
        first.anon_exclusive = false;
        second.anon_exclusive = false;
        yield* folio_get(second);
        yield* writeProtect(mm);
        yield* user_access(mm, AREA + 256, WORD, true);
        yield* user_access(mm, SECOND + 256, WORD, true);
        note('rewritten');
        yield* folio_put(second);
      });
      const [first, second] = r.thps;
      expect(faults(r)).toEqual([
        ...FIRST_FAULTS,
        [AREA + 256, 'do_huge_pmd_wp_page:reuse'],
        // Split at PMD level, then the PTE-level write fault: the page is exclusive no more... but
        // the split keeps the folio whole and PTE-mapped, and its reference count high: a copy.
        [SECOND + 256, 'do_wp_page:copy'],
      ]);
      expect(r.after['rewritten']![0]).toBe(r.after['written']![0]);
      expect(first.anon_exclusive).toBe(true); // SetPageAnonExclusive on reuse
      expect(leaf(r.after['rewritten']![1])).toBe(false);
      expect(r.t.of('call_enter', 'toucher', (e) => e.fn === '__split_huge_pmd')).toHaveLength(1);
      // Both took the folio lock (a trylock that succeeded) and let it go.
      const locked = r.t.of('folio_flags', 'toucher', (e) => e.why === 'folio_lock').map((e) => e.folio);
      expect(locked).toEqual([first.id, second.id]);
      expect(second.freed).toBe(false);
      expect(second.flags & PG_locked).toBe(0);
    });

    it(`a THP not known to be exclusive whose folio lock is held: the fault sleeps for it without the PMD lock, then reuses it (seed ${seed})`, () => {
      // Made in the run (beside, at boot, before the toucher's first step): a completion is kernel state.
      let holding!: Completion;
      let release!: Completion;
      const r = run(seed, function* (mm, [first], note) {
        first.anon_exclusive = false;
        yield* writeProtect(mm);
        yield* complete_all(holding);
        yield* wait_for_completion(release);
        yield* user_access(mm, AREA + 256, WORD, true);
        note('rewritten');
      }, (_proc, thps) => {
        holding = new Completion();
        release = new Completion();
        spawnOutsider('locker', function* () {
          yield* wait_for_completion(holding);
          const [first] = thps();
          yield* folio_lock(first);
          yield* complete_all(release);
          // Until the toucher sleeps on the folio lock, then let it go.
          yield* waitUntil(() => first.waiters.length > 0);
          yield* folio_unlock(first);
        });
      });
      const [first] = r.thps;
      expect(faults(r).at(-1)).toEqual([AREA + 256, 'do_huge_pmd_wp_page:reuse']);
      const fault = r.t.of('fault', 'toucher').at(-1)!;
      const block = r.t.of('sched_block', 'toucher', (e) => e.wait === 'folio_lock' && e.on === first.id);
      expect(block).toHaveLength(1);
      // It held a reference and no PMD lock while it slept, and took the PMD lock again after.
      const entered = r.t.of('call_enter', 'toucher', (e) => e.fn === 'handle_mm_fault').at(-1)!;
      const pmdLocks = r.t.of('spin_lock', 'toucher', (e) => e.class === 'pmd_lock' && e.seq > entered.seq && e.seq < fault.seq);
      const pmdUnlocks = r.t.of('spin_unlock', 'toucher', (e) => e.class === 'pmd_lock' && e.seq < block[0]!.seq && e.seq > pmdLocks[0]!.seq);
      expect(pmdLocks.map((e) => e.seq < block[0]!.seq)).toEqual([true, false]);
      expect(pmdUnlocks).toHaveLength(1);
      expect(r.after['rewritten']![0]).toBe(r.after['written']![0]);
      expect(first.anon_exclusive).toBe(true);
      expect(first._refcount).toBe(1);
    });

    it(`a FOLL_FORCE write (ptrace) to a read-only THP not known to be exclusive: reused, exclusive again, the PMD still read-only (seed ${seed})`, () => {
      let written: number | undefined;
      let pmdAfter = 0;
      let ready!: Completion;
      const r = run(seed, function* (mm, [first], note) {
        first.anon_exclusive = false;
        yield* sys_mprotect(mm, AREA, 2 * PMD_SIZE, PROT_READ);
        note('protected');
        yield* complete_all(ready);
      }, (proc) => {
        ready = new Completion();
        spawnOutsider('debugger', function* () {
          yield* wait_for_completion(ready);
          written = (yield* remote_write(proc, AREA + 1024, WORD, FOLL_FORCE)).result;
          pmdAfter = pmd_value(proc.mm, AREA);
        });
      });
      const [first] = r.thps;
      expect(written).toBe(WORD.length);
      // GUP could not follow for the write (not exclusive), so it faulted: reuse, and then it could.
      expect(r.t.of('fault', 'debugger').map((e) => [e.addr, e.how])).toEqual([[AREA + 1024, 'do_huge_pmd_wp_page:reuse']]);
      expect(first.anon_exclusive).toBe(true);
      expect(leaf(pmdAfter) && !writable(pmdAfter) && (pmdAfter & _PAGE_DIRTY) !== 0).toBe(true);
      expect(entry_pfn(pmdAfter)).toBe(first.pfn);
      expect(r.t.of('call_enter', 'debugger', (e) => e.fn === '__split_huge_pmd')).toHaveLength(0);
    });

    it(`a fault on a present writable leaf: huge_pmd_set_accessed makes the old PMD young and dirty (touch_pmd) (seed ${seed})`, () => {
      const r = run(seed, function* (mm, [first], note) {
        // Reclaim's rmap walk makes the PMD old.
        const pra: FolioReferencedArg = { mapcount: 0, referenced: 0, vm_flags: 0 };
        yield* folio_referenced(first, pra);
        note('aged');
        yield* mmap_read_lock(mm);
        yield* handle_mm_fault(mm.mm_mt.load(AREA)!, AREA + 512, FAULT_FLAG_WRITE);
        yield* mmap_read_unlock(mm);
        note('accessed');
      });
      expect(faults(r).at(-1)).toEqual([AREA + 512, 'huge_pmd_set_accessed']);
      expect(r.after['aged']![0] & _PAGE_ACCESSED).toBe(0);
      expect(r.after['accessed']![0]).toBe(r.after['aged']![0] | _PAGE_ACCESSED | _PAGE_DIRTY);
      expect(r.t.of('call_enter', 'toucher', (e) => e.fn === 'touch_pmd')).toHaveLength(1);
    });
  }
});
