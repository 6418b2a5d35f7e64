/**
 * Migration entries and page migration (kernel-spec §3.1, §7.1; mm/migrate.c, mm/rmap.c
 * try_to_migrate): folio_walk_start finds no migration entry (the base tree's flags have no
 * FW_MIGRATION), and what the other page-table users do with one -- zap (MADV_DONTNEED) drops it
 * without touching the folio, mprotect keeps it (write-protected), and a folio with an extra
 * reference cannot be migrated (-EAGAIN, undone).
 */
import { describe, expect, test } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import type { EventPredicate } from '../src/sim/directed.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import {
  _PAGE_RW, SWP_MIGRATION_READ_EXCLUSIVE, SWP_MIGRATION_WRITE, entry_none, entry_pfn, entry_present, is_migration_entry,
  is_swap_pte, make_migration_entry, pfn_swap_entry_to_page, pte_write, swp_type,
} from '../src/linux/arch/x86/include/pgtable_types.js';
import { EAGAIN } from '../src/linux/include/errno.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { type Folio, PG_active, PG_lru, folio_get, folio_lock, folio_put, folio_unlock, pages } from '../src/linux/mm/folio.js';
import { folio_mark_accessed } from '../src/linux/mm/swap.js';
import { folio_isolate_lru, folio_putback_lru } from '../src/linux/mm/vmscan.js';
import { MADV_DONTNEED, sys_madvise } from '../src/linux/mm/madvise.js';
import { NR_MAX_MIGRATE_PAGES_RETRY, remove_migration_ptes, sys_move_pages, try_to_migrate } from '../src/linux/mm/migrate.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, vma_lookup } from '../src/linux/mm/mmap.js';
import { mmap_read_lock, mmap_read_unlock } from '../src/linux/mm/mmap_lock.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import * as pagewalk from '../src/linux/mm/pagewalk.js';
import { FW_VMA_LOCKED, FW_ZEROPAGE, type FolioWalk, folio_walk_end, folio_walk_start } from '../src/linux/mm/pagewalk.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { type Process, spawn_process, thread } from '../src/workloads/lib.js';
import type { Workload, WorkloadContext } from '../src/workloads/workload.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runBoot, runTrace, type Trace } from './helpers/harness.js';

const AREA = 0x50000000;

function* map_page(proc: Process): Gen {
  yield* sys_mmap(proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  yield* user_access(proc.mm, AREA, new Uint8Array(64).fill(0x5a), true);
}

function* lookup(proc: Process, flags: number): Gen<{ folio: Folio | null; fw: FolioWalk | undefined }> {
  yield* mmap_read_lock(proc.mm);
  const vma = vma_lookup(proc.mm, AREA)!;
  const out: { result?: FolioWalk } = {};
  const folio = yield* folio_walk_start(out, vma, AREA, flags);
  const fw = out.result;
  if (folio) yield* folio_walk_end(fw!, vma);
  yield* mmap_read_unlock(proc.mm);
  return { folio, fw: folio ? fw : undefined };
}

function clean(t: Trace): void {
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
}

describe('migration entries (x86 encoding, kernel-spec §3.1)', () => {
  test('a migration entry is not present and not none, and carries the pfn and the write bit', () => {
    const w = make_migration_entry(0x1234, SWP_MIGRATION_WRITE, true, true);
    const r = make_migration_entry(0x1234, SWP_MIGRATION_READ_EXCLUSIVE, false, false);
    for (const v of [w, r]) {
      expect(entry_none(v)).toBe(false);
      expect(entry_present(v)).toBe(false);
      expect(is_swap_pte(v)).toBe(true);
      expect(is_migration_entry(v)).toBe(true);
      expect(pfn_swap_entry_to_page(v)).toBe(0x1234);
      expect(entry_pfn(v)).toBe(0x1234);
    }
    expect([swp_type(w), swp_type(r)]).toEqual([SWP_MIGRATION_WRITE, SWP_MIGRATION_READ_EXCLUSIVE]);
    // A present PTE, a none entry and a table pointer are not migration entries.
    expect(is_migration_entry(0x1234 * 4096 + 0x67)).toBe(false);
    expect(is_migration_entry(0)).toBe(false);
  });
});

describe('folio_walk_start flags of the series\' base tree (include/linux/pagewalk.h, seeds/000)', () => {
  test('FW_ZEROPAGE is BIT(0), FW_VMA_LOCKED BIT(1), and there is no FW_MIGRATION', () => {
    expect(FW_ZEROPAGE).toBe(1 << 0);
    expect(FW_VMA_LOCKED).toBe(1 << 1);
    expect('FW_MIGRATION' in pagewalk).toBe(false);
  });

  test('a migration entry is not found, whatever the flags, and a present PTE is found again after it', () => {
    const seen: Record<string, unknown> = {};
    const t = runBoot(function* () {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      thread(proc, 'walker', function* () {
        yield* map_page(proc);
        const present = yield* lookup(proc, 0);
        const folio = present.folio!;
        seen.present = [present.fw!.page, folio.pfn];
        // Install the migration entry as migration does: the folio locked and referenced.
        yield* folio_get(folio);
        yield* folio_lock(folio);
        yield* try_to_migrate(folio);
        // Bit 0 was FW_MIGRATION's when folio_walk_start() was introduced; here it is FW_ZEROPAGE.
        const bit0 = 1 << 0;
        seen.migrating = [(yield* lookup(proc, 0)).folio, (yield* lookup(proc, bit0)).folio, (yield* lookup(proc, FW_ZEROPAGE)).folio];
        yield* remove_migration_ptes(folio, folio);
        yield* folio_unlock(folio);
        yield* folio_put(folio);
        const after = yield* lookup(proc, 0);
        seen.after = [after.folio === folio, after.fw!.page, folio.mapcount, folio._refcount];
      });
    });
    clean(t);
    const pfn = (seen.present as number[])[1]!;
    expect(seen.present).toEqual([pfn, pfn]);
    expect(seen.migrating).toEqual([null, null, null]);
    // remove_migration_ptes(folio, folio) undid it: mapped again, one mapping, one reference.
    expect(seen.after).toEqual([true, pfn, 1, 1]);
    // Every walk took the PTL and read the migration entry (pte_unmap_unlock, not found).
    const entryReads = t.of('pgtable_read', 'walker', (e) => e.level === 'pte' && !e.lockless && is_migration_entry(e.value));
    expect(entryReads.length).toBeGreaterThanOrEqual(3);
  });
});

/**
 * A migration (move_pages by 'migrator') with `other` running in the window where the migration
 * entry is installed; the migrator waits there until `other` has done `doneKind` (its syscall_end).
 */
function raceWorkload(op: (proc: Process) => Gen): Workload {
  return {
    name: 'migration-window', description: 'test', params: {},
    schedule(ctx: WorkloadContext) {
      const installed: EventPredicate = (e) => e.task === 'migrator' && e.kind === 'call_exit' && e.fn === 'try_to_migrate';
      return [
        { task: 'other', until: installed },
        { task: 'migrator', after: installed, until: (e) => e.task === 'other' && e.kind === 'task_exit' },
      ];
    },
    *boot(ctx: WorkloadContext): Gen {
      const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
      const ready = new Completion();
      thread(proc, 'setup', function* () {
        yield* map_page(proc);
        yield* complete_all(ready);
      });
      thread(proc, 'migrator', function* () {
        yield* wait_for_completion(ready);
        yield* sys_move_pages(proc.mm, AREA);
      });
      thread(proc, 'other', function* () {
        yield* wait_for_completion(ready);
        yield* op(proc);
      });
    },
  };
}

const zapDuring = raceWorkload(function* (proc) {
  yield* sys_madvise(proc.mm, AREA, PAGE_SIZE, MADV_DONTNEED);
});
const mprotectDuring = raceWorkload(function* (proc) {
  yield* sys_mprotect(proc.mm, AREA, PAGE_SIZE, PROT_READ);
});

/** The migration's folios: the old (locked) one and the new one. */
function folios(t: Trace): { oldFolio: number; newFolio: number; install: number } {
  const oldFolio = t.of('folio_flags', 'migrator', (e) => e.why === 'folio_lock')[0]!.folio;
  const newFolio = t.of('folio_alloc', 'migrator')[0]!.folio;
  const install = t.of('pgtable_set', 'migrator', (e) => is_migration_entry(e.value))[0]!.value;
  return { oldFolio, newFolio, install };
}

describe('other page-table users meet a migration entry', () => {
  for (const seed of [1, 2, 3]) {
    test(`zap (MADV_DONTNEED) clears it without touching the folio; the new folio ends up unmapped and freed (seed ${seed})`, () => {
      const t = runTrace(zapDuring, { seed });
      clean(t);
      const { oldFolio, newFolio, install } = folios(t);
      const zap = t.of('pgtable_set', 'other', (e) => e.addr === AREA && e.old === install && e.value === 0);
      expect(zap).toHaveLength(1);
      // zap_nonpresent_ptes: no mapcount or reference change of either folio by the zapper.
      expect(t.of('folio_mapcount', 'other')).toHaveLength(0);
      expect(t.of('folio_put', 'other')).toHaveLength(0);
      // remove_migration_ptes found nothing: the new folio was never mapped; both are freed.
      expect(t.of('pgtable_set', 'migrator', (e) => e.old === install)).toHaveLength(0);
      expect(t.of('folio_mapcount', undefined, (e) => e.folio === newFolio)).toHaveLength(0);
      for (const f of [oldFolio, newFolio]) expect(t.of('folio_free', 'migrator', (e) => e.folio === f)).toHaveLength(1);
      expect(t.of('syscall_end', 'migrator', (e) => e.nr === 'move_pages').map((e) => e.ret)).toEqual([0]);
      expect(checkEveryEvent(zapDuring, { seed }).firstMismatch).toBeNull();
    });

    test(`mprotect(PROT_READ) keeps it but makes it read-only; the restored PTE is read-only (seed ${seed})`, () => {
      const t = runTrace(mprotectDuring, { seed });
      clean(t);
      const { newFolio, install } = folios(t);
      expect(swp_type(install)).toBe(SWP_MIGRATION_WRITE);
      const changed = t.of('pgtable_set', 'other', (e) => e.addr === AREA && e.old === install);
      expect(changed).toHaveLength(1);
      const ro = changed[0]!.value;
      expect(is_migration_entry(ro)).toBe(true);
      expect(swp_type(ro)).toBe(SWP_MIGRATION_READ_EXCLUSIVE);
      expect(pfn_swap_entry_to_page(ro)).toBe(pfn_swap_entry_to_page(install));
      const restore = t.of('pgtable_set', 'migrator', (e) => e.old === ro);
      expect(restore).toHaveLength(1);
      expect(entry_present(restore[0]!.value)).toBe(true);
      expect(pte_write(restore[0]!.value)).toBe(false);
      expect(restore[0]!.value & _PAGE_RW).toBe(0);
      const live = pages(t.result.kernel).get(entry_pfn(restore[0]!.value))!;
      expect([live.id, live.mapcount, live._refcount]).toEqual([newFolio, 1, 1]);
      expect(checkEveryEvent(mprotectDuring, { seed }).firstMismatch).toBeNull();
    });
  }

  test('an extra reference (a GUP get) makes every pass fail with -EAGAIN: undone, the old folio stays mapped', () => {
    const pinned: Workload = {
      name: 'migration-pinned', description: 'test', params: {},
      *boot(): Gen {
        const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
        thread(proc, 'migrator', function* () {
          yield* map_page(proc);
          const { folio } = yield* lookup(proc, 0);
          yield* folio_get(folio!); // as GUP's FOLL_GET would, held across the migration
          yield* sys_move_pages(proc.mm, AREA);
          yield* folio_put(folio!);
        });
      },
    };
    const t = runTrace(pinned, { seed: 1 });
    clean(t);
    const movePages = (e: { nr: string }) => e.nr === 'move_pages';
    expect(t.of('syscall_end', 'migrator', movePages).map((e) => e.ret)).toEqual([-EAGAIN]);
    const begin = t.of('syscall_begin', 'migrator', movePages)[0]!.seq;
    const allocs = t.of('folio_alloc', 'migrator', (e) => e.seq > begin);
    expect(allocs).toHaveLength(NR_MAX_MIGRATE_PAGES_RETRY);
    for (const a of allocs) expect(t.of('folio_free', undefined, (e) => e.folio === a.folio)).toHaveLength(1);
    // Nothing was copied; every pass installed a migration entry and put the old PTE back.
    expect(t.of('folio_copy', 'migrator')).toHaveLength(0);
    const sets = t.of('pgtable_set', 'migrator', (e) => e.seq > begin && e.addr === AREA);
    expect(sets).toHaveLength(2 * NR_MAX_MIGRATE_PAGES_RETRY);
    const last = sets.at(-1)!;
    expect(entry_present(last.value) && pte_write(last.value)).toBe(true);
    const old = pages(t.result.kernel).get(entry_pfn(last.value))!;
    expect([old.mapcount, old._refcount, old.lru !== 0]).toEqual([1, 1, true]);
    expect(checkEveryEvent(pinned, { seed: 1 }).firstMismatch).toBeNull();
  });
});

// An isolated folio is in no lru_add batch, so folio_mark_accessed cannot mark it active (swap.ts
// lru_isolated). folio_isolate_lru (migration) once skipped that bookkeeping, which only reclaim's
// isolate_lru_folios did; both now isolate through one helper in vmscan.ts.
test('a folio isolated for migration is not marked active by folio_mark_accessed; putback restores it', () => {
  let flagsWhileIsolated = -1;
  let flagsAfterPutback = -1;
  const t = runBoot(function* () {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    thread(proc, 'migrator', function* () {
      yield* map_page(proc);
      const { folio } = yield* lookup(proc, 0);
      const isolated = yield* folio_isolate_lru(folio!);
      expect(isolated).toEqual({ ok: true, active: false });
      yield* folio_mark_accessed(folio!);
      yield* folio_mark_accessed(folio!); // the second access would activate a folio on no list
      flagsWhileIsolated = folio!.flags;
      yield* folio_putback_lru(folio!, isolated.active);
      flagsAfterPutback = folio!.flags;
    });
  });
  clean(t);
  expect(flagsWhileIsolated & PG_active).toBe(0);
  expect(flagsAfterPutback & PG_lru).toBe(PG_lru);
});
