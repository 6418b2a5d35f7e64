/**
 * Page-table entries and their tables (include/linux/pgtable.h, include/linux/mm.h): reading and
 * writing entries, the split locks, allocation (pud_alloc / pmd_alloc / pte_alloc) and freeing.
 * The table page itself (struct ptdesc) is declared in mm_types.ts.
 */
import { emit, type ArgsOf, PtLevel } from '../../trace/vocab/index.js';
import { name, one_event } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  _PAGE_TABLE, PGD_LEVEL, PTE_LEVEL, entry_huge, entry_none, entry_pfn, entry_present, entry_size, mk_entry, table_index,
} from '../arch/x86/include/pgtable_types.js';
import { kernel, perKernel } from '../kernel.js';
import { rcu_readers_cookie, rcu_readers_left } from '../kernel/rcu/tree.js';
import { type SpinLock, spin_lock, spin_unlock } from '../kernel/locking/spinlock.js';
import { type MmStruct, PageTable, tables } from './mm_types.js';

export { PageTable, tables } from './mm_types.js';

const UAF_PGTABLE = name('page table read after free');

/** The table a table-pointer entry points to. */
export function entry_table(v: number): PageTable {
  const t = tables().get(entry_pfn(v));
  if (!t) throw new Error(`entry ${v.toString(16)} points to no page table`);
  return t;
}

export function table_entry(t: PageTable): number {
  return mk_entry(t.pfn, _PAGE_TABLE);
}

/** A pointer to one entry: pgd_t *, pud_t *, pmd_t *, pte_t *. */
export interface EntryPtr {
  readonly table: PageTable;
  readonly idx: number;
}

export function entry_ptr(table: PageTable, addr: number): EntryPtr {
  return { table, idx: table_index(table.level, addr) };
}

/**
 * Read an entry (READ_ONCE; pXXp_get / pmdp_get_lockless / ptep_get). `lockless`: the caller does
 * not hold the table's lock. Reading a freed table is a use-after-free: reported, and the stale
 * value is returned as the hardware would.
 */
export function read_entry(p: EntryPtr, lockless: boolean): Gen<number> {
  const v = p.table.entries[p.idx]!;
  if (p.table.freed) return read_freed_entry(p, v, lockless);
  stage_pgtable_read(p, v, lockless);
  return one_event(v);
}

/** A read of a freed table (`v`, read already): the use-after-free, then the read. */
function* read_freed_entry(p: EntryPtr, v: number, lockless: boolean): Gen<number> {
  yield emit.use_after_free({ what: UAF_PGTABLE.id, obj: p.table.id });
  yield stage_pgtable_read(p, v, lockless);
  return v;
}

function stage_pgtable_read(p: EntryPtr, v: number, lockless: boolean): 0 {
  return emit.pgtable_read({ level: PtLevel.name(p.table.level), addr: p.table.addrOf(p.idx), value: v, lockless });
}

/**
 * A walker descending through slot `idx` of a table without its lock (the rmap scan, the aging's
 * walk): the entry read locklessly if the slot is populated, 0 unless it is present.
 */
export function* read_present_lockless(table: PageTable, idx: number): Gen<number> {
  if (entry_none(table.entries[idx]!)) return 0;
  const v = yield* read_entry({ table, idx }, true);
  return entry_present(v) ? v : 0;
}

/** set_pte_at / set_pmd / pmd_populate...: write an entry (caller holds the right lock). */
export function set_entry(p: EntryPtr, v: number): Gen {
  const old = p.table.entries[p.idx]!;
  p.table.entries[p.idx] = v;
  if (p.table.freed) return set_freed_entry(p, v, old);
  stage_pgtable_set(p, v, old);
  return one_event(undefined);
}

/** The events of a write to a freed table (already written): the use-after-free, then the write. */
function* set_freed_entry(p: EntryPtr, v: number, old: number): Gen {
  yield emit.use_after_free({ what: UAF_PGTABLE.id, obj: p.table.id });
  yield stage_pgtable_set(p, v, old);
}

function stage_pgtable_set(p: EntryPtr, v: number, old: number): 0 {
  return emit.pgtable_set({ table: p.table.id, addr: p.table.addrOf(p.idx), value: v, old });
}

/**
 * ptep_set_access_flags() / pmdp_set_access_flags(): make a present entry at least as permissive
 * as `entry` (young, and dirty and writable for a write); the caller holds the entry's lock.
 * Returns whether the entry differed. x86 (arch/x86/mm/pgtable.c) writes it only when `dirty` (a
 * write access): the MMU sets the accessed bit itself on the access the fault returns to, so a
 * read fault leaves an old entry old. The generic version (mm/pgtable-generic.c: arm64 and most
 * architectures) writes any change; config `accessFlagsGeneric` selects it.
 */
function* set_access_flags(p: EntryPtr, entry: number, dirty: boolean): Gen<boolean> {
  const changed = p.table.entries[p.idx] !== entry;
  if (changed && (dirty || kernel().config.accessFlagsGeneric)) yield* set_entry(p, entry);
  return changed;
}

export const ptep_set_access_flags = set_access_flags;
export const pmdp_set_access_flags = set_access_flags;
export const pudp_set_access_flags = set_access_flags;

/** Allocate a page table (pte_alloc_one, pmd_alloc_one ...). */
export function* alloc_table(level: number, base: number): Gen<PageTable> {
  const t = new PageTable(level, base);
  yield emit.pgtable_alloc({ level: PtLevel.name(level), table: t.id, addr: base });
  return t;
}

/** Base address of the table of `level` that maps addr. */
function table_base(level: number, addr: number): number {
  const span = entry_size(level + 1);
  return Math.floor(addr / span) * span;
}

/**
 * __pud_alloc / __pmd_alloc / __pte_alloc (pmd_install): allocate a missing table under the parent
 * level's lock, re-checking that nobody populated it meanwhile. Returns the table (null: a huge
 * PMD is there, for a PTE table only). Also hugetlb's pud_alloc / pmd_alloc (huge_pte_alloc).
 */
export function table_alloc(mm: MmStruct, parent: EntryPtr, level: number, addr: number): Gen<PageTable | null> {
  const seen = live_entry(parent);
  if (entry_none(seen)) return table_install(mm, parent, level, addr);
  stage_pgtable_read(parent, seen, true);
  // A huge PMD (a THP mapped meanwhile, or one being split) is no table: pmd_install leaves it, and
  // the caller's pte_offset_map_lock() finds no table (the fault is retried).
  return one_event(entry_huge(seen) ? null : entry_table(seen));
}

/**
 * pud_alloc / pmd_alloc as the walk uses them: table_alloc() of an entry that is never a leaf there
 * (a PGD entry; a PUD entry the fault path found no leaf in, or mremap's, which refuses DAX VMAs),
 * returning the slot for addr in the table.
 */
export function table_alloc_slot(mm: MmStruct, parent: EntryPtr, level: number, addr: number): Gen<EntryPtr> {
  const seen = live_entry(parent);
  if (entry_none(seen)) return slot_in_installed(mm, parent, level, addr);
  if (entry_huge(seen)) throw leaf_not_table(level);
  stage_pgtable_read(parent, seen, true);
  return one_event(entry_ptr(entry_table(seen), addr));
}

/**
 * The entry at `parent` when its table is live, else none (0): nearly every call of table_alloc
 * finds the level populated, and the whole call is then the one lockless read, a one-event step
 * (read_entry) instead of a generator. The table the entry names is found with the read, as the
 * kernel's pointer is (a pfn names one table for the kernel's life: never reused).
 */
function live_entry(parent: EntryPtr): number {
  return parent.table.freed ? 0 : parent.table.entries[parent.idx]!;
}

function* slot_in_installed(mm: MmStruct, parent: EntryPtr, level: number, addr: number): Gen<EntryPtr> {
  const table = yield* table_install(mm, parent, level, addr);
  if (table === null) throw leaf_not_table(level);
  return entry_ptr(table, addr);
}

/** table_alloc_slot() found a leaf: its callers rule one out, so a bug of the model's. */
function leaf_not_table(level: number): Error {
  return new Error(`a leaf where a level-${level} table was expected`);
}

/** table_alloc() of a level found empty (or in a freed table): allocate, and install under the lock. */
function* table_install(mm: MmStruct, parent: EntryPtr, level: number, addr: number): Gen<PageTable | null> {
  const seen = yield* read_entry(parent, true);
  if (entry_huge(seen)) return null;
  if (!entry_none(seen)) return entry_table(seen);
  const fresh = yield* alloc_table(level, table_base(level, addr));
  // P4D/PUD populate under page_table_lock (pud_lock is page_table_lock in 7.2); PTE tables are
  // installed under the PMD lock (pmd_install).
  const lock: SpinLock = level === PTE_LEVEL ? yield* pmd_lock(mm, parent) : mm.page_table_lock;
  if (level !== PTE_LEVEL) yield* spin_lock(lock);
  const now = yield* read_entry(parent, false);
  let table: PageTable | null = fresh;
  if (entry_none(now)) {
    yield* set_entry(parent, table_entry(fresh));
  } else {
    table = entry_huge(now) ? null : entry_table(now);
  }
  yield* spin_unlock(lock);
  if (table !== fresh) yield* free_table_now(fresh, 'immediate'); // never visible
  return table;
}

/** mm_alloc_pgd(): the mm's top-level table. */
export function* mm_alloc_pgd(mm: MmStruct): Gen {
  mm.pgd = yield* alloc_table(PGD_LEVEL, 0);
}

/** pte_lockptr(): the PTL guarding the PTE table `pmdval` points to. */
export function pte_lockptr(mm: MmStruct, pmdval: number): SpinLock {
  return ptlock_ptr(mm, entry_table(pmdval));
}

/**
 * The PTL guarding a PTE table already found (pte_offset_map's): ptlock_ptr() of the table's
 * page with split PTE locks, else the mm's page_table_lock, as pte_lockptr() chooses. Taking the
 * table saves looking it up by pfn again, once per PTE lock.
 */
export function ptlock_ptr(mm: MmStruct, table: PageTable): SpinLock {
  if (!kernel().config.CONFIG_SPLIT_PTE_PTLOCKS) return mm.page_table_lock;
  return table.ptl!;
}

/** pmd_lockptr(): the lock of the PMD table holding the entry. */
export function pmd_lockptr(mm: MmStruct, pmdp: EntryPtr): SpinLock {
  if (!kernel().config.CONFIG_SPLIT_PMD_PTLOCKS) return mm.page_table_lock;
  return pmdp.table.ptl!;
}

export function* pmd_lock(mm: MmStruct, pmdp: EntryPtr): Gen<SpinLock> {
  const ptl = pmd_lockptr(mm, pmdp);
  yield* spin_lock(ptl);
  return ptl;
}

/** pud_lock(): mm->page_table_lock in 7.2 (no split PUD locks). */
export function* pud_lock(mm: MmStruct): Gen<SpinLock> {
  yield* spin_lock(mm.page_table_lock);
  return mm.page_table_lock;
}

export { spin_unlock };

/**
 * How a page table is freed: at once, after a grace period (`rcu_freed`: by the RCU callback queued
 * for it, or after synchronize_rcu), or after the tlb_remove_table_sync_one() IPI (`ipi_synced`).
 * Queuing it is `rcu_queued` (pgtable_free_queued).
 */
export type PgtableFreeNow = Extract<ArgsOf<'pgtable_free'>['mode'], 'immediate' | 'rcu_freed' | 'ipi_synced'>;

/** Mark a table freed (the memory goes back to the allocator). */
export function* free_table_now(t: PageTable, mode: PgtableFreeNow): Gen {
  t.freed = true;
  t.pendingFree = false;
  freed_tables().quarantine(t);
  yield emit.pgtable_free({ level: PtLevel.name(t.level), table: t.id, mode });
}

/**
 * Freed tables that a walker may still reach by pfn, like KASAN's quarantine of freed objects: a
 * freed table stays in tables() (flagged, so a walker that reads it is caught) until every RCU
 * read-side section and IRQ-disabled region open at its free has ended, then leaves it, so the
 * registry holds the live tables and a few freed ones rather than every table of the run.
 *
 * Exact for the walkers that can hold a table's pfn across its free: the lockless ones, which the
 * kernel makes safe by RCU (pte_offset_map's section, GUP-fast and the fast path's IRQ-off walk).
 * A walker holding mmap_lock, a VMA lock or a table lock reads a table's pfn and resolves it under
 * the lock that keeps free_pgtables() and khugepaged off that table; once every section open at
 * the free has closed, no one can hold the pfn. The table object itself lives on while anything
 * holds it (an EntryPtr, a gather's batch, a deposit), still flagged freed.
 */
class FreedTables {
  /** Oldest first, each with the cookie of the read-side sections open at its free. */
  private readonly held: { table: PageTable; cookie: number }[] = [];

  quarantine(t: PageTable): void {
    this.held.push({ table: t, cookie: rcu_readers_cookie() });
    this.release();
  }

  /** Let go of the tables whose readers have all left (the oldest first). */
  private release(): void {
    const registry = tables();
    while (this.held.length > 0 && rcu_readers_left(this.held[0]!.cookie)) registry.delete(this.held.shift()!.table.pfn);
  }

  /** How many freed tables are held (for tests). */
  get size(): number {
    return this.held.length;
  }
}

export const freed_tables: () => FreedTables = perKernel('pgtables_freed', () => new FreedTables());

/** Queue a table to be freed after an RCU grace period (tlb_remove_table, pte_free_defer). */
export function* pgtable_free_queued(t: PageTable): Gen {
  t.pendingFree = true;
  yield emit.pgtable_free({ level: PtLevel.name(t.level), table: t.id, mode: 'rcu_queued' });
}

/** pgtable_trans_huge_deposit(): park `pgtable` with the huge PMD at pmdp (pmd_lock held). */
export function* pgtable_trans_huge_deposit(pmdp: EntryPtr, pgtable: PageTable): Gen {
  const list = pmdp.table.deposited.get(pmdp.idx) ?? [];
  list.push(pgtable);
  pmdp.table.deposited.set(pmdp.idx, list);
  yield emit.pgtable_deposit({ table: pmdp.table.id, addr: pmdp.table.addrOf(pmdp.idx), pgtable: pgtable.id, op: 'deposit' });
}

/** pgtable_trans_huge_withdraw(): take back the table deposited with the huge PMD at pmdp. */
export function* pgtable_trans_huge_withdraw(pmdp: EntryPtr): Gen<PageTable> {
  const list = pmdp.table.deposited.get(pmdp.idx);
  const pgtable = list?.pop();
  if (!pgtable) throw new Error(`no page table deposited at PMD ${pmdp.table.addrOf(pmdp.idx).toString(16)}`);
  if (list!.length === 0) pmdp.table.deposited.delete(pmdp.idx);
  yield emit.pgtable_deposit({ table: pmdp.table.id, addr: pmdp.table.addrOf(pmdp.idx), pgtable: pgtable.id, op: 'withdraw' });
  return pgtable;
}
