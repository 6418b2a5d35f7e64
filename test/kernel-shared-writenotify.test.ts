/**
 * A shared writable mapping that wants no write notification (vma_wants_writenotify(): no
 * ->page_mkwrite, no writeback -- shmem here) has a writable vm_page_prot: a read fault maps its
 * page writable (clean), and a later store makes no fault; mprotect(PROT_READ|PROT_WRITE) makes its
 * pages writable at once (pte_modify); a read fault on a folio already dirty maps it dirty too. A shared file mapping (->page_mkwrite) keeps write for the
 * fault, which tells the filesystem; a private mapping is never writable before its write fault.
 */
import { describe, expect, it } from 'vitest';
import { _PAGE_DIRTY, _PAGE_RW, entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { page_folio } from '../src/linux/mm/folio.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap,
} from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, PG_dirty, type MmStruct } from '../src/linux/mm/mm_types.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import type { Gen } from '../src/sim/task.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { pte_at } from './helpers/pgtable.js';
import { spawnThread } from './helpers/tasks.js';

const SHMEM = 0x50000000;
const FILE = SHMEM + 16 * PAGE_SIZE;
const PRIVATE = SHMEM + 32 * PAGE_SIZE;
const AREAS = [['shmem', SHMEM], ['file', FILE], ['private', PRIVATE]] as const;
type Area = (typeof AREAS)[number][0];

const RW = PROT_READ | PROT_WRITE;

/** What the PTE at each area says: writable, dirty. */
function bits(mm: MmStruct): Record<Area, { rw: boolean; dirty: boolean }> {
  const out = {} as Record<Area, { rw: boolean; dirty: boolean }>;
  for (const [area, at] of AREAS) {
    const pte = pte_at(mm, at);
    out[area] = { rw: (pte & _PAGE_RW) !== 0, dirty: (pte & _PAGE_DIRTY) !== 0 };
  }
  return out;
}

function* mapAll(mm: MmStruct, prot: number): Gen {
  yield* sys_mmap(mm, { addr: SHMEM, len: PAGE_SIZE, prot, flags: MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED });
  const file = yield* create_file('/data/shared', new Uint8Array(PAGE_SIZE));
  yield* sys_mmap(mm, { addr: FILE, len: PAGE_SIZE, prot, flags: MAP_SHARED | MAP_FIXED, file });
  yield* sys_mmap(mm, { addr: PRIVATE, len: PAGE_SIZE, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
}

function* readAll(mm: MmStruct): Gen {
  for (const [, at] of AREAS) yield* user_access(mm, at, new Uint8Array(4), false);
}

function* storeAll(mm: MmStruct, offset: number): Gen {
  for (const [, at] of AREAS) yield* user_access(mm, at + offset, Uint8Array.of(1, 2, 3, 4), true);
}

/** Run `body` in a thread of a fresh process; returns the trace and what `body` recorded. */
function run(body: (mm: MmStruct, note: (what: string, value: unknown) => void) => Gen) {
  const notes: Record<string, unknown> = {};
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    spawnThread(proc, 'toucher', () => body(proc.mm, (what, value) => (notes[what] = value)));
  }, { seed: 1 });
  expect(t.result.outcome).toBe('done');
  return { t, notes };
}

/** The fault events of the toucher at `at` and the page after it (the stores land at +8). */
function faultsAt(t: ReturnType<typeof run>['t'], at: number): string[] {
  return t.of('fault', 'toucher', (e) => e.addr >= at && e.addr < at + PAGE_SIZE).map((e) => String(e.how));
}

describe('a shared writable mapping without write notification', () => {
  it('maps a read fault writable and clean, so the store after it does not fault; a file mapping and a private one map it read-only', () => {
    const { t, notes } = run(function* (mm, note) {
      yield* mapAll(mm, RW);
      yield* readAll(mm);
      note('after read', bits(mm));
      yield* storeAll(mm, 8);
      note('after store', bits(mm));
    });
    expect(notes['after read']).toEqual({
      shmem: { rw: true, dirty: false },
      file: { rw: false, dirty: false },
      private: { rw: false, dirty: false },
    });
    expect(notes['after store']).toEqual({
      shmem: { rw: true, dirty: true }, // the MMU set dirty
      file: { rw: true, dirty: true },
      private: { rw: true, dirty: true },
    });
    expect(faultsAt(t, SHMEM)).toHaveLength(1); // the read's
    expect(faultsAt(t, FILE)).toHaveLength(2); // the read's, then the store's write notification
    expect(faultsAt(t, FILE)[1]).toBe('do_wp_page:reuse');
    expect(faultsAt(t, PRIVATE)).toHaveLength(2); // the zero page, then its COW
  });

  it('mprotect(PROT_READ|PROT_WRITE) makes its clean pages writable at once; the file mapping leaves a clean page to the fault', () => {
    const { t, notes } = run(function* (mm, note) {
      yield* mapAll(mm, PROT_READ);
      yield* readAll(mm);
      note('read-only', bits(mm));
      for (const [, at] of AREAS) yield* sys_mprotect(mm, at, PAGE_SIZE, RW);
      note('after mprotect', bits(mm));
      yield* storeAll(mm, 8);
    });
    expect(notes['read-only']).toEqual({
      shmem: { rw: false, dirty: false },
      file: { rw: false, dirty: false },
      private: { rw: false, dirty: false },
    });
    expect(notes['after mprotect']).toEqual({
      shmem: { rw: true, dirty: false },
      file: { rw: false, dirty: false },
      private: { rw: false, dirty: false },
    });
    expect(faultsAt(t, SHMEM)).toHaveLength(1);
    expect(faultsAt(t, FILE)).toHaveLength(2);
    expect(faultsAt(t, PRIVATE)).toHaveLength(2);
  });

  it('mprotect(PROT_READ) takes write away again, and the dirty page written through the writable PTE is dirty in the page cache after munmap', () => {
    const { notes } = run(function* (mm, note) {
      yield* mapAll(mm, RW);
      yield* readAll(mm);
      yield* storeAll(mm, 8);
      const folio = page_folio(entry_pfn(pte_at(mm, SHMEM)));
      note('folio dirty before munmap', (folio.flags & PG_dirty) !== 0);
      yield* sys_mprotect(mm, SHMEM, PAGE_SIZE, PROT_READ);
      note('read-only again', bits(mm).shmem);
      yield* sys_munmap(mm, SHMEM, PAGE_SIZE);
      note('folio dirty after munmap', (folio.flags & PG_dirty) !== 0);
    });
    expect(notes['folio dirty before munmap']).toBe(false); // only the PTE knew
    expect(notes['read-only again']).toEqual({ rw: false, dirty: true });
    expect(notes['folio dirty after munmap']).toBe(true); // the zap moved the PTE's dirty bit to the folio
  });

  it('a read fault on a folio already dirty maps it writable and dirty (set_pte_range)', () => {
    const { notes } = run(function* (mm, note) {
      yield* mapAll(mm, RW);
      yield* storeAll(mm, 8);
      // The PTE goes; the page-cache folio stays, dirty (the zap moved the PTE's dirty bit to it).
      yield* sys_madvise(mm, SHMEM, PAGE_SIZE, MADV_DONTNEED);
      yield* user_access(mm, SHMEM, new Uint8Array(4), false);
      note('read again', bits(mm).shmem);
    });
    expect(notes['read again']).toEqual({ rw: true, dirty: true });
  });
});
