/**
 * mprotect giving write back (mm/mprotect.c, MM_CP_TRY_CHANGE_WRITABLE): change_pte_range makes a
 * PTE writable itself where the write fault would have done nothing else -- an exclusive anonymous
 * page of a private mapping -- and leaves the rest write-protected for the fault: a page of a
 * private file mapping (COW), an anonymous page not known to be exclusive.
 */
import { describe, expect, it } from 'vitest';
import { _PAGE_RW, entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { page_folio } from '../src/linux/mm/folio.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import type { Gen } from '../src/sim/task.js';
import { spawn_process } from '../src/workloads/lib.js';
import { pte_at } from './helpers/pgtable.js';
import { runBoot } from './helpers/harness.js';
import { spawnThread } from './helpers/tasks.js';

const ANON = 0x50000000;
const SHARED_ANON = ANON + 16 * PAGE_SIZE;
const FILE = ANON + 32 * PAGE_SIZE;

describe('mprotect(PROT_READ|PROT_WRITE) after PROT_READ: which PTEs it makes writable itself', () => {
  it('an exclusive anonymous page: writable at once, no fault; one not known to be exclusive, and a private file page: left to the write fault', () => {
    const rw: Record<string, boolean> = {};
    const t = runBoot(function* (): Gen {
      const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
      spawnThread(proc, 'toucher', function* () {
        const mm = proc.mm;
        const word = Uint8Array.of(1, 2, 3, 4);
        yield* sys_mmap(mm, { addr: ANON, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        yield* sys_mmap(mm, { addr: SHARED_ANON, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        const file = yield* create_file('/data/f', new Uint8Array(PAGE_SIZE));
        yield* sys_mmap(mm, { addr: FILE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_FIXED, file });
        yield* user_access(mm, ANON, word, true);
        yield* user_access(mm, SHARED_ANON, word, true);
        yield* user_access(mm, FILE, new Uint8Array(4), false); // the page-cache page, read-only
        // As after fork (not modelled): this one is no longer known to be exclusive.
        page_folio(entry_pfn(pte_at(mm, SHARED_ANON))).anon_exclusive = false;
        for (const prot of [PROT_READ, PROT_READ | PROT_WRITE]) {
          for (const at of [ANON, SHARED_ANON, FILE]) yield* sys_mprotect(mm, at, PAGE_SIZE, prot);
        }
        for (const [name, at] of [['anon', ANON], ['not exclusive', SHARED_ANON], ['file', FILE]] as const) rw[name] = (pte_at(mm, at) & _PAGE_RW) !== 0;
        for (const at of [ANON, SHARED_ANON, FILE]) yield* user_access(mm, at + 8, word, true);
      });
    }, { seed: 1 });
    expect(t.result.outcome).toBe('done');
    expect(rw).toEqual({ anon: true, 'not exclusive': false, file: false });
    const late = t.of('fault', 'toucher').slice(-2).map((e) => [e.addr, e.how]);
    expect(late).toEqual([[SHARED_ANON + 8, 'do_wp_page:reuse'], [FILE + 8, 'do_wp_page:copy']]);
    expect(t.of('fault', 'toucher', (e) => e.addr === ANON + 8)).toHaveLength(0);
  });
});
