/**
 * can_follow_write_pte() (mm/gup.c, through can_follow_write_common()): a FOLL_FORCE write (ptrace
 * POKE, /proc/PID/mem) may go through a read-only PTE without a fault only in a private mapping
 * that is not writable, and only to an anonymous page that is PageAnonExclusive. A writable VMA's
 * read-only PTE, or a page that is not known to be exclusive, takes the write fault first:
 * do_wp_page() then reuses the page (nobody else holds it) and marks it exclusive. (A writable
 * VMA's exclusive page is read-only only until mprotect gives write back, which makes it writable.)
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { _PAGE_RW, entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { access_remote_vm } from '../src/linux/mm/access_remote.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { page_folio } from '../src/linux/mm/folio.js';
import { FOLL_FORCE, FOLL_WRITE } from '../src/linux/mm/gup.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { pte_at } from './helpers/pgtable.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const POKE = Uint8Array.of(0xcc);

interface Setup {
  /** The VMA's protection when the debugger writes (the page was stored to, then made read-only). */
  finalProt: number;
  /** Forget PageAnonExclusive before the write, as a fork would have. */
  shared: boolean;
}

/** A stored page made read-only, then a FOLL_FORCE write to it from outside. */
function forceWrite({ finalProt, shared }: Setup) {
  const seen = { written: 0, bytes: 0, pte: 0, exclusive: false };
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const ready = new Completion();
    let addr = 0;
    spawnThread(proc, 'target/0', function* () {
      const mm = proc.mm;
      addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
      if (!(yield* user_access(mm, addr, Uint8Array.of(1), true))) throw new Error('store faulted');
      if (shared) page_folio(entry_pfn(pte_at(mm, addr))).anon_exclusive = false;
      yield* sys_mprotect(mm, addr, PAGE_SIZE, PROT_READ);
      if (finalProt !== PROT_READ) yield* sys_mprotect(mm, addr, PAGE_SIZE, finalProt);
      yield* complete_all(ready);
    });
    spawnOutsider('debugger', function* () {
      yield* wait_for_completion(ready);
      seen.written = yield* access_remote_vm(proc.mm, addr, POKE, POKE.length, FOLL_FORCE | FOLL_WRITE);
      seen.pte = pte_at(proc.mm, addr);
      const folio = page_folio(entry_pfn(seen.pte));
      seen.bytes = folio.read(addr % PAGE_SIZE, 1)[0]!;
      seen.exclusive = folio.anon_exclusive;
    });
  }, { maxEvents: 100_000 });
  expect(t.result.outcome).toBe('done');
  return { ...seen, faults: t.of('fault', 'debugger').map((e) => e.how) };
}

describe('can_follow_write_pte: FOLL_FORCE writes through a read-only PTE (mm/gup.c)', () => {
  it('a PageAnonExclusive page of a read-only private mapping is written without a fault', () => {
    const r = forceWrite({ finalProt: PROT_READ, shared: false });
    expect(r.written).toBe(1);
    expect(r.bytes).toBe(0xcc);
    expect(r.faults).toEqual([]);
    expect(r.pte & _PAGE_RW).toBe(0);
  });

  it('a page that is not PageAnonExclusive takes the write fault first: do_wp_page reuses it, still read-only', () => {
    const r = forceWrite({ finalProt: PROT_READ, shared: true });
    expect(r.faults).toEqual(['do_wp_page:reuse']);
    expect(r.written).toBe(1);
    expect(r.bytes).toBe(0xcc);
    expect(r.exclusive).toBe(true);
    expect(r.pte & _PAGE_RW).toBe(0);
  });

  it('a read-only PTE in a writable VMA takes the write fault, which makes it writable (a page not known to be exclusive: mprotect left it read-only)', () => {
    const r = forceWrite({ finalProt: PROT_READ | PROT_WRITE, shared: true });
    expect(r.faults).toEqual(['do_wp_page:reuse']);
    expect(r.written).toBe(1);
    expect(r.bytes).toBe(0xcc);
    expect(r.pte & _PAGE_RW).toBe(_PAGE_RW);
    expect(r.exclusive).toBe(true);
  });

  it('an exclusive page of a VMA made writable again is writable already (mprotect, MM_CP_TRY_CHANGE_WRITABLE): no fault', () => {
    const r = forceWrite({ finalProt: PROT_READ | PROT_WRITE, shared: false });
    expect(r.faults).toEqual([]);
    expect(r.written).toBe(1);
    expect(r.bytes).toBe(0xcc);
    expect(r.pte & _PAGE_RW).toBe(_PAGE_RW);
  });
});
