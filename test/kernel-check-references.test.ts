/**
 * folio_check_references() (mm/vmscan.c) decides on a folio found in a VM_LOCKED VMA before it
 * reads PG_referenced: the folio is activated (on its way to the unevictable list) and keeps its
 * PG_referenced mark. Only a folio that is not mlocked has the mark tested and cleared. The same
 * holds with the multi-gen LRU, whose branch comes after the VM_LOCKED check.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { page_folio } from '../src/linux/mm/folio.js';
import { PG_referenced, VM_LOCKED } from '../src/linux/mm/mm_types.js';
import { FOLIOREF_ACTIVATE, FOLIOREF_KEEP, folio_check_references, type References } from '../src/linux/mm/vmscan.js';
import { spawn_process } from '../src/workloads/lib.js';
import { pte_at } from './helpers/pgtable.js';
import { runBoot } from './helpers/harness.js';
import { spawnThread, storeToFreshAnonPage } from './helpers/tasks.js';

interface Checked {
  references: References;
  /** PG_referenced of the folio after the check. */
  markAfter: boolean;
}

/**
 * Store to a fresh anon page (its PTE young), mark its folio PG_referenced as a previous scan
 * would have, optionally mlock the VMA (VM_LOCKED set on it: mlock itself is not modelled), then
 * run folio_check_references on the folio.
 */
function checkReferences(locked: boolean, lru_gen_enabled: boolean): Checked {
  let seen: Checked | undefined;
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    spawnThread(proc, 'target/0', function* () {
      const mm = proc.mm;
      const addr = yield* storeToFreshAnonPage(mm);
      if (locked) mm.mm_mt.load(addr)!.vm_flags |= VM_LOCKED;
      const folio = page_folio(entry_pfn(pte_at(mm, addr)));
      folio.flags |= PG_referenced;
      const references = yield* folio_check_references(folio);
      seen = { references, markAfter: (folio.flags & PG_referenced) !== 0 };
    });
  }, { config: { lru_gen_enabled } });
  expect(t.result.outcome).toBe('done');
  return seen!;
}

describe('folio_check_references: VM_LOCKED is decided before PG_referenced is read', () => {
  for (const lruGen of [false, true]) {
    const lru = lruGen ? 'multi-gen LRU' : 'classic LRU';

    it(`${lru}: a folio in a VM_LOCKED VMA is activated and keeps PG_referenced`, () => {
      const { references, markAfter } = checkReferences(true, lruGen);
      expect(references.verdict).toBe(FOLIOREF_ACTIVATE);
      // folio_referenced_one stops the walk at the VM_LOCKED VMA before testing the young bit.
      expect(references.ptes).toBe(0);
      expect(references.referenced).toBe(true);
      expect(markAfter).toBe(true);
    });
  }

  it('classic LRU: a folio not mlocked has PG_referenced tested and cleared (then set again for its young PTE)', () => {
    const { references } = checkReferences(false, false);
    // PG_referenced from the previous scan and a young PTE: a second look, activate.
    expect(references.referenced).toBe(true);
    expect(references.verdict).toBe(FOLIOREF_ACTIVATE);
    expect(references.verdict).not.toBe(FOLIOREF_KEEP);
  });
});
