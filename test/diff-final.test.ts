/**
 * The final-state part of `mmtrace diff` (src/diff/final.ts) on hand-built states: objects are
 * matched by meaning (range, address, data), never by id or pfn, and each kind of difference gives
 * its own finding with the right severity.
 */
import { describe, expect, test } from 'vitest';
import type { RunFacts } from '../src/diff/facts.js';
import { finalStateFindings, onlyIn } from '../src/diff/final.js';
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, PMD_LEVEL, PTE_LEVEL, SWP_MIGRATION_WRITE, make_migration_entry, make_swap_pte, mk_entry } from '../src/linux/arch/x86/include/pgtable_types.js';
import type { FolioState, StateDoc, TableState, VmaState } from '../src/replay/state.js';

const PTE_BITS = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;

function folio(id: number, pfn: number, dataHash: string, over: Partial<FolioState> = {}): FolioState {
  return { folio: id, pfn, order: 0, refcount: 1, mapcount: 1, flags: 0, lru: 0, file: null, index: 0, dataHash, ...over };
}

function vma(id: number, start: number, end: number, over: Partial<VmaState> = {}): VmaState {
  return { vma: id, mm: 1, start, end, flags: 0x73, file: null, pgoff: 0, attached: true, vm_refcnt: 1, vm_lock_seq: 0, ...over };
}

/** One PTE table at 0x10000000 mapping each folio at its slot. */
function pteTable(id: number, entries: [number, number][]): TableState {
  return { table: id, level: PTE_LEVEL, base: 0x10000000, entries, pendingFree: false };
}

function state(over: Partial<StateDoc>): StateDoc {
  return {
    seq: 1, tick: 1, tasks: [], mms: [{ mm: 1, pid: 100, mmapLock: 2, mm_lock_seq: 0, arg_start: 0, arg_end: 0, env_start: 0, env_end: 0 }],
    vmas: [], tables: [], folios: [], swap: [], locks: { rwsems: [], spinlocks: [] },
    rcu: { gpSeq: 0, gpWaitingFor: [], pending: [], inGracePeriod: [] } as unknown as StateDoc['rcu'],
    requests: [], checks: { warnings: 0, useAfterFree: 0, kernelFaults: 0, deadlock: false }, ...over,
  };
}

function facts(name: string, final: StateDoc): RunFacts {
  return { run: { name } as RunFacts['run'], requests: new Map(), aggregates: {} as RunFacts['aggregates'], checks: { warnings: [], useAfterFree: [], kernelFaults: [], deadlock: false }, final };
}

const found = (a: StateDoc, b: StateDoc) => finalStateFindings(facts('a', a), facts('b', b)).map((f) => `${f.kind}:${f.severity}`).sort();

/** The base layout: one VMA, two pages mapped from folios with data X and Y. */
function base(over: { ids?: number; pfns?: number; pte1?: number; refY?: number; vmaEnd?: number; dataY?: string } = {}): StateDoc {
  const id = over.ids ?? 0;
  const pfn = over.pfns ?? 0x100;
  return state({
    vmas: [vma(10 + id, 0x10000000, over.vmaEnd ?? 0x10002000)],
    folios: [folio(20 + id, pfn, 'X'), folio(21 + id, pfn + 7, over.dataY ?? 'Y', { refcount: over.refY ?? 1 })],
    tables: [pteTable(30 + id, [[0, mk_entry(pfn, PTE_BITS)], [1, over.pte1 ?? mk_entry(pfn + 7, PTE_BITS)]])],
  });
}

describe('final state', () => {
  test('other ids, pfns and table ids for the same layout: no finding', () => {
    expect(found(base(), base({ ids: 50, pfns: 0x900 }))).toEqual([]);
  });

  test('a VMA with another range: final-vmas, naming the range on each side', () => {
    const f = finalStateFindings(facts('a', base()), facts('b', base({ vmaEnd: 0x10003000 })));
    expect(f.map((x) => x.kind)).toEqual(['final-vmas']);
    expect(f[0]!.message).toMatch(/only in a: pid 100 0x10000000-0x10002000 .*only in b: pid 100 0x10000000-0x10003000/);
  });

  test('other data in a mapped folio: final-memory and final-page-tables', () => {
    expect(found(base(), base({ dataY: 'Z' }))).toEqual(['final-memory:behaviour', 'final-page-tables:behaviour']);
  });

  test('a PTE mapping another page of the same data, or read-only: final-page-tables', () => {
    const readOnly = base({ pte1: mk_entry(0x107, _PAGE_PRESENT | _PAGE_USER) });
    expect(found(base(), readOnly)).toEqual(['final-page-tables:behaviour']);
  });

  test('a PTE that is a migration entry in one run only: final-page-tables', () => {
    const migrating = base({ pte1: make_migration_entry(0x107, SWP_MIGRATION_WRITE, false, false) });
    const f = finalStateFindings(facts('a', base()), facts('b', migrating));
    expect(f.map((x) => x.kind)).toEqual(['final-page-tables']);
    expect(f[0]!.message).toMatch(/only in b: 0x10001000 L1 migration entry -> data Y\+0/);
  });

  test('a swap entry is keyed by what its slot holds, not by the slot number', () => {
    const swapped = (slot: number, dataHash: string) => {
      const s = base({ pte1: make_swap_pte(0, slot, true) });
      return { ...s, folios: s.folios.slice(0, 1), swap: [{ offset: slot, count: 1, cache: false, folio: null, dataHash }] };
    };
    expect(found(swapped(1, 'Y'), swapped(5, 'Y'))).toEqual([]);
    const f = finalStateFindings(facts('a', swapped(1, 'Y')), facts('b', swapped(1, 'Z')));
    // Other bytes swapped out: other memory, and another swap entry.
    expect(f.map((x) => x.kind)).toEqual(['final-memory', 'final-page-tables']);
    expect(f[1]!.message).toMatch(/only in a: 0x10001000 L1 swap entry -> data Y.*only in b: 0x10001000 L1 swap entry -> data Z/);
  });

  test('a page swapped out in one run and mapped in the other holds the same memory: final-page-tables only', () => {
    const swappedOut = base({ pte1: make_swap_pte(0, 3, true) });
    const s = { ...swappedOut, folios: swappedOut.folios.slice(0, 1), swap: [{ offset: 3, count: 1, cache: false, folio: null, dataHash: 'Y' }] };
    expect(found(base(), s)).toEqual(['final-page-tables:behaviour']);
    // Other bytes in the slot than in the folio: the memory differs too.
    const otherBytes = { ...s, swap: [{ ...s.swap[0]!, dataHash: 'Z' }] };
    expect(found(base(), otherBytes)).toEqual(['final-memory:behaviour', 'final-page-tables:behaviour']);
  });

  test('only the accessed bit differs: info, not a difference', () => {
    const young = base({ pte1: mk_entry(0x107, PTE_BITS | _PAGE_ACCESSED) });
    expect(found(base(), young)).toEqual(['final-pte-aging:info']);
  });

  test('a leaked folio reference: final-refcounts', () => {
    expect(found(base(), base({ refY: 2 }))).toEqual(['final-refcounts:behaviour']);
  });

  test('a huge PMD leaf is a mapping; a PMD pointing to a table is not', () => {
    const huge = (pfn: number) => state({
      folios: [folio(1, pfn, 'H', { order: 9 })],
      tables: [{ table: 2, level: PMD_LEVEL, base: 0x40000000, entries: [[3, mk_entry(pfn, PTE_BITS | 0x80)], [4, mk_entry(pfn + 0x1000, PTE_BITS)]], pendingFree: false }],
    });
    // Same huge mapping, table pointers to other table pfns: equal.
    expect(found(huge(0x200), huge(0x400))).toEqual([]);
  });

  test('onlyIn is a multiset difference', () => {
    expect(onlyIn(['a', 'a', 'b'], ['a', 'c'])).toEqual(['a', 'b']);
    expect(onlyIn(['a', 'a', 'a'], ['a'])).toEqual(['a x2']);
    expect(onlyIn([], ['a'])).toEqual([]);
  });
});
