/**
 * handle_pte_fault() on a present PTE (mm/memory.c) writes the young (and, for a write, dirty) bit
 * through ptep_set_access_flags(). x86's version (arch/x86/mm/pgtable.c) writes the entry only for a
 * write fault, the MMU setting the accessed bit itself; the generic one (accessFlagsGeneric) writes
 * it for a read fault too. So a read fault on a PTE that reclaim's rmap walk made old leaves it old
 * on x86, as touch_pmd() leaves an old PMD old.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { _PAGE_DIRTY, entry_pfn, pte_young } from '../src/linux/arch/x86/include/pgtable_types.js';
import { page_folio } from '../src/linux/mm/folio.js';
import { handle_mm_fault } from '../src/linux/mm/memory.js';
import { mmap_read_lock, mmap_read_unlock } from '../src/linux/mm/mmap_lock.js';
import { FAULT_FLAG_WRITE } from '../src/linux/mm/mm_types.js';
import { type FolioReferencedArg, folio_referenced } from '../src/linux/mm/rmap.js';
import { spawn_process } from '../src/workloads/lib.js';
import { pte_at } from './helpers/pgtable.js';
import { runBoot } from './helpers/harness.js';
import { spawnThread, storeToFreshAnonPage } from './helpers/tasks.js';

interface FaultOnOldPte {
  /** The PTE after the store, after the rmap walk made it old, and after the fault. */
  stored: number;
  aged: number;
  faulted: number;
  how: string[];
}

/** Store to a fresh anon page, age its PTE as reclaim does, then fault on it (read or write). */
function faultOnOldPte(write: boolean, accessFlagsGeneric: boolean): FaultOnOldPte {
  const seen = { stored: 0, aged: 0, faulted: 0 };
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    spawnThread(proc, 'target/0', function* () {
      const mm = proc.mm;
      const addr = yield* storeToFreshAnonPage(mm);
      seen.stored = pte_at(mm, addr);
      // Reclaim's rmap walk: test-and-clear the young bit (folio_referenced_one).
      const pra: FolioReferencedArg = { mapcount: 0, referenced: 0, vm_flags: 0 };
      yield* folio_referenced(page_folio(entry_pfn(seen.stored)), pra);
      seen.aged = pte_at(mm, addr);
      yield* mmap_read_lock(mm);
      yield* handle_mm_fault(mm.mm_mt.load(addr)!, addr, write ? FAULT_FLAG_WRITE : 0);
      yield* mmap_read_unlock(mm);
      seen.faulted = pte_at(mm, addr);
    });
  }, { config: { accessFlagsGeneric } });
  expect(t.result.outcome).toBe('done');
  return { ...seen, how: t.of('fault', 'target/0').map((e) => e.how) };
}

describe('handle_pte_fault on a present PTE: ptep_set_access_flags (arch/x86/mm/pgtable.c)', () => {
  it('x86: a read fault leaves an old PTE old', () => {
    const r = faultOnOldPte(false, false);
    expect(pte_young(r.stored)).toBe(true);
    expect(pte_young(r.aged)).toBe(false);
    expect(r.how.at(-1)).toBe('handle_pte_fault:young');
    expect(r.faulted).toBe(r.aged);
  });

  it('x86: a write fault makes it young and dirty', () => {
    const r = faultOnOldPte(true, false);
    expect(pte_young(r.aged)).toBe(false);
    expect(r.how.at(-1)).toBe('handle_pte_fault:young');
    expect(pte_young(r.faulted)).toBe(true);
    expect(r.faulted & _PAGE_DIRTY).toBe(_PAGE_DIRTY);
  });

  it('generic ptep_set_access_flags (accessFlagsGeneric=y): a read fault makes it young', () => {
    const r = faultOnOldPte(false, true);
    expect(pte_young(r.aged)).toBe(false);
    expect(r.how.at(-1)).toBe('handle_pte_fault:young');
    expect(pte_young(r.faulted)).toBe(true);
  });
});
