/**
 * migration-race (kernel-spec §3.1 migration entries, §6.6-§6.7 GUP faults on a non-present PTE and
 * waits, §7.1 folio_walk_start finds no migration entry, §12.9 / §12.12 fallback): a page
 * is under migration (its PTE is a migration entry) while a remote reader and a target thread read
 * it. Every path waits in migration_entry_wait and then reads the new folio: the same bytes. The
 * old folio is freed; the new one is mapped with the old mapcount.
 */
import { describe, expect, test } from 'vitest';
import {
  entry_pfn, entry_present, is_migration_entry, is_writable_migration_entry, pfn_swap_entry_to_page,
} from '../src/linux/arch/x86/include/pgtable_types.js';
import { LRU_NONE, pages } from '../src/linux/mm/folio.js';
import { MIGRATION_AREA, migrationPattern, migrationRace } from '../src/workloads/migration-race.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace, type Ev, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', FIXES]];
const LEN = migrationRace.params.len!.default as number;
const OFFSET = migrationRace.params.offset!.default as number;
const ADDR = MIGRATION_AREA + OFFSET;

function run(path: 'gup' | 'fast', variant: string[], seed: number): Trace {
  const t = runTrace(migrationRace, { path, variant, seed });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  return t;
}

/** The migration as the trace shows it: the entry installed, the PTE restored to the new folio. */
function migration(t: Trace) {
  const installs = t.of('pgtable_set', 'migrator', (e) => e.addr === MIGRATION_AREA && is_migration_entry(e.value));
  expect(installs).toHaveLength(1);
  const install = installs[0]!;
  const oldPfn = pfn_swap_entry_to_page(install.value);
  // try_to_migrate replaced the present PTE of the old page (written by setup: a writable entry).
  expect(entry_present(install.old)).toBe(true);
  expect(entry_pfn(install.old)).toBe(oldPfn);
  expect(is_writable_migration_entry(install.value)).toBe(true);
  const restores = t.of('pgtable_set', 'migrator', (e) => e.addr === MIGRATION_AREA && e.old === install.value);
  expect(restores).toHaveLength(1);
  const restore = restores[0]!;
  expect(entry_present(restore.value)).toBe(true);
  const newPfn = entry_pfn(restore.value);
  expect(newPfn).not.toBe(oldPfn);
  const folioOf = (pfn: number) => t.of('folio_alloc', undefined, (e) => e.pfn === pfn).at(-1)!.folio;
  return { install, restore, oldPfn, newPfn, oldFolio: folioOf(oldPfn), newFolio: folioOf(newPfn) };
}

/** The task slept in migration_entry_wait on the old folio while the entry was installed, and its fault returned 0. */
function expectWaited(t: Trace, task: string, m: ReturnType<typeof migration>): Ev {
  const waits = t.of('sched_block', task, (e) => e.wait === 'migration_entry_wait');
  expect(waits).toHaveLength(1);
  const wait = waits[0]!;
  expect(wait.on).toBe(m.oldFolio);
  expect(wait.seq).toBeGreaterThan(m.install.seq);
  expect(wait.seq).toBeLessThan(m.restore.seq);
  // Woken by folio_unlock() of the old folio, after the restore.
  const unlock = t.of('folio_flags', 'migrator', (e) => e.folio === m.oldFolio && e.why === 'folio_unlock')[0]!;
  expect(unlock.seq).toBeGreaterThan(m.restore.seq);
  const woken = t.of('sched_wakeup', 'migrator', (e) => e.target === t.tid(task) && e.on === m.oldFolio);
  expect(woken).toHaveLength(1);
  expect(woken[0]!.seq).toBeGreaterThan(unlock.seq);
  const faults = t.of('fault', task, (e) => e.how === 'do_swap_page:migration_entry_wait');
  expect(faults.map((e) => [e.addr, e.result])).toEqual([[ADDR, 0]]);
  expect(faults[0]!.seq).toBeGreaterThan(woken[0]!.seq);
  return wait;
}

describe('migration-race: reads of a page under migration wait for it (kernel-spec §3.1, §6.7, §7.1)', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      const label = `${path}${variant.length ? `+${variant.join(',')}` : path === 'fast' ? ' (v1)' : ''} seed ${seed}`;

      test(`the reader and the target wait in migration_entry_wait and read the new folio's bytes (${label})`, () => {
        const t = run(path, variant, seed);
        const m = migration(t);
        // move_pages succeeded.
        expect(t.of('syscall_end', 'migrator', (e) => e.nr === 'move_pages').map((e) => e.ret)).toEqual([0]);
        // The bytes: the same data, copied from the new folio after the restore.
        const [req] = t.requests('reader');
        expect(req!.result).toBe(LEN);
        expect(Array.from(req!.data)).toEqual(Array.from(migrationPattern().subarray(OFFSET, OFFSET + LEN)));
        const copies = t.of('copy', 'reader', req!.inside);
        expect(copies.map((e) => [e.addr, e.len, e.folio])).toEqual([[ADDR, LEN, m.newFolio]]);
        expect(copies[0]!.seq).toBeGreaterThan(m.restore.seq);
        // The migration copied the old folio into the new one (folio_mc_copy) while the entry was in.
        const copied = t.of('folio_copy', 'migrator');
        expect(copied.map((e) => [e.dst, e.src, e.index])).toEqual([[m.newFolio, m.oldFolio, 0]]);
        expect(copied[0]!.seq).toBeGreaterThan(m.install.seq);
        expect(copied[0]!.seq).toBeLessThan(m.restore.seq);
        // The wait (GUP's faultin_page -> handle_mm_fault -> do_swap_page), under mmap_lock.
        const wait = expectWaited(t, 'reader', m);
        const held = t.of('mmap_lock_acquire_returned', 'reader', (e) => e.seq < wait.seq);
        const released = t.of('mmap_lock_released', 'reader', (e) => e.seq < wait.seq);
        expect(held.length).toBe(released.length + 1);
        // The target's own load (user fault under the VMA lock) waits too and then reads the new folio.
        expectWaited(t, 'toucher', m);
        const load = t.of('user_access', 'toucher');
        expect(load.map((e) => [e.addr, e.len, e.write, e.folio])).toEqual([[ADDR, LEN, false, m.newFolio]]);
        // GUP saw the migration entry as "not present" (follow_page_pte): a PTE read of the entry.
        expect(t.of('pgtable_read', 'reader', (e) => e.level === 'pte' && e.value === m.install.value).length).toBeGreaterThan(0);
      });

      test(`the old folio is freed, the new one mapped with the same mapcount and references (${label})`, () => {
        const t = run(path, variant, seed);
        const m = migration(t);
        const mapcounts = (folio: number) => t.of('folio_mapcount', undefined, (e) => e.folio === folio);
        const before = mapcounts(m.oldFolio).filter((e) => e.seq < m.install.seq).at(-1)!.mapcount;
        expect(before).toBe(1);
        // try_to_migrate dropped the old mapping (mapcount 0) ...
        expect(mapcounts(m.oldFolio).at(-1)!.mapcount).toBe(0);
        // ... remove_migration_ptes gave the new folio the same count.
        expect(mapcounts(m.newFolio).at(-1)!.mapcount).toBe(before);
        const freed = t.of('folio_free', undefined, (e) => e.folio === m.oldFolio);
        expect(freed).toHaveLength(1);
        expect(freed[0]!.seq).toBeGreaterThan(m.restore.seq);
        expect(t.of('folio_free', undefined, (e) => e.folio === m.newFolio)).toHaveLength(0);
        // The live kernel at the end: the old pfn has no folio; the new folio has one mapping and
        // one reference (the mapping's), is on the LRU, and nothing waits on the old one.
        const live = pages(t.result.kernel);
        expect(live.has(m.oldPfn)).toBe(false);
        const dst = live.get(m.newPfn)!;
        expect([dst.id, dst.mapcount, dst._refcount, dst.lru !== LRU_NONE]).toEqual([m.newFolio, before, before, true]);
        // No fault ended in an error and no GUP error.
        expect(t.of('gup_error')).toHaveLength(0);
      });

      test(`fallback reason: ${path === 'fast' ? 'folio_walk_start finds no migration entry' : 'none on the GUP path'} (${label})`, () => {
        const t = run(path, variant, seed);
        const m = migration(t);
        const fb = t.of('fast_path_fallback', 'reader');
        if (path === 'gup') {
          expect(fb).toHaveLength(0);
          return;
        }
        expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[ADDR, 0, 'folio_walk_start: not found']]);
        expect(fb[0]!.seq).toBeGreaterThan(m.install.seq);
        expect(fb[0]!.seq).toBeLessThan(m.restore.seq);
        // folio_walk_start read the migration entry under the PTL (a locked PTE read) and gave up:
        // no reference, no copy before the fallback.
        const walk = t.of('pgtable_read', 'reader', (e) => e.seq < fb[0]!.seq && e.level === 'pte' && !e.lockless);
        expect(walk.map((e) => e.value)).toContain(m.install.value);
        expect(t.of('folio_get', 'reader', (e) => e.seq < fb[0]!.seq)).toHaveLength(0);
        expect(t.of('copy', 'reader', (e) => e.seq < fb[0]!.seq)).toHaveLength(0);
        // The slow path (mmap_lock) comes after the fallback and does the wait.
        const lock = t.of('mmap_lock_start_locking', 'reader')[0]!;
        expect(lock.seq).toBeGreaterThan(fb[0]!.seq);
      });

      test(`projection equals the live kernel after every event (${label})`, () => {
        const { events, firstMismatch } = checkEveryEvent(migrationRace, { path, variant, seed });
        expect(events).toBeGreaterThan(150);
        expect(firstMismatch).toBeNull();
      });
    }

    test(`gup and fast return the same bytes (seed ${seed})`, () => {
      const data = PATHS.map(([path, variant]) => {
        const r = run(path, variant, seed).requests('reader')[0]!;
        return [r.result, Array.from(r.data)];
      });
      expect(data[1]).toEqual(data[0]);
      expect(data[2]).toEqual(data[0]);
    });
  }

  test('without the toucher only the reader waits, and the migration still completes', () => {
    const t = runTrace(migrationRace, { path: 'fast', seed: 1, params: { toucher: 0 } });
    expect(t.result.outcome).toBe('done');
    const m = migration(t);
    expectWaited(t, 'reader', m);
    expect(t.of('warn')).toHaveLength(0);
  });
});
