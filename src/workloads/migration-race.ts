/**
 * migration-race (kernel-spec §3.1, §6.6-§6.7, §7.1, §12.9 "not present", §12.12 "a migration
 * entry => not found => fallback"): the page a remote reader reads is being migrated. A target
 * thread calls move_pages(2) on its own page (do_move_page: isolate under mmap_read_lock, then
 * migrate with only the folio lock and the PTLs): try_to_migrate() replaces the PTE by a migration
 * entry, and a directed schedule runs the reader -- and a target thread touching the page itself --
 * exactly while the entry is installed, holding the migration back until both sleep in
 * migration_entry_wait. Then the copy, remove_migration_ptes() and folio_unlock() wake them.
 *
 *  - gup: follow_page_pte() finds a non-present PTE -> faultin_page -> handle_mm_fault ->
 *    do_swap_page -> migration_entry_wait (sleeps on the old folio, mmap_lock held) -> 0 -> GUP
 *    re-follows and copies the new folio's bytes: the same data.
 *  - fast (v1, and with the review's fixes): folio_walk_start() never returns a migration entry
 *    (the base tree has no FW_MIGRATION): "not found" -> fallback ("folio_walk_start: not found")
 *    -> GUP waits as above: the same bytes.
 *  - the toucher (a user load, per-VMA-lock fault): do_user_addr_fault -> handle_mm_fault ->
 *    migration_entry_wait -> 0 -> the load is retried on the new PTE.
 * Afterwards the old folio is freed and the new one is mapped with the old mapcount (1).
 */
import type { EventPredicate, ObservedEvent } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { sys_move_pages } from '../linux/mm/migrate.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { intern_names, outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

/** The migrated page: one anonymous page at a fixed address. */
export const MIGRATION_AREA = 0x50000000;

/** The page's contents: byte i is (i * 7 + 3) & 0xff, so a copy from the wrong place shows. */
export function migrationPattern(): Uint8Array {
  return Uint8Array.from({ length: PAGE_SIZE }, (_, i) => (i * 7 + 3) & 0xff);
}

/** The migration entry is in place and every PTL dropped: try_to_migrate() has returned. */
function entryInstalled(ctx: WorkloadContext): EventPredicate {
  return (e: ObservedEvent) => e.task === 'migrator' && e.kind === 'call_exit' && e.fn === 'try_to_migrate';
}

/** Stateful: true once `n` tasks have gone to sleep in migration_entry_wait. */
function sleepersInMigrationWait(ctx: WorkloadContext, n: number): EventPredicate {
  let seen = 0;
  return (e) => {
    if (e.kind === 'sched_block' && e.wait === 'migration_entry_wait') seen++;
    return seen >= n;
  };
}

export const migrationRace: Workload = {
  name: 'migration-race',
  description: 'a remote read (and a target load) of a page under migration: both wait in migration_entry_wait; v1 falls back (folio_walk_start: not found); same bytes',
  params: {
    len: intParam(64, 1, 4096, 'bytes of the remote read (offset + len <= 4096)'),
    offset: intParam(512, 0, 4095, 'offset of the read within the page'),
    toucher: switchParam(1, '1: a target thread also loads from the page while it is migrated (user fault)'),
  },
  schedule(ctx: WorkloadContext) {
    const sleepers = num(ctx, 'toucher') ? 2 : 1;
    const gates = [
      { task: 'reader', until: entryInstalled(ctx) },
      // Keep the migration entry in place until every accessor sleeps on it.
      { task: 'migrator', after: entryInstalled(ctx), until: sleepersInMigrationWait(ctx, sleepers) },
    ];
    if (sleepers === 2) gates.push({ task: 'toucher', until: entryInstalled(ctx) });
    return gates;
  },
  // The read stays in the page being migrated.
  checkParams: (p) => (Number(p['offset']) + Number(p['len']) > PAGE_SIZE ? `offset + len must be at most ${PAGE_SIZE}: the read stays in the migrated page` : null),
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const offset = num(ctx, 'offset');
    const len = num(ctx, 'len');
    const ready = new Completion();
    intern_names('migration_entry_wait', 'try_to_migrate');
    thread(proc, 'setup', function* () {
      yield* sys_mmap(proc.mm, {
        addr: MIGRATION_AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      });
      yield* user_access(proc.mm, MIGRATION_AREA, migrationPattern(), true);
      yield* complete_all(ready);
    });
    thread(proc, 'migrator', function* () {
      yield* wait_for_completion(ready);
      yield* sys_move_pages(proc.mm, MIGRATION_AREA);
    });
    if (num(ctx, 'toucher')) {
      thread(proc, 'toucher', function* () {
        yield* wait_for_completion(ready);
        yield* user_access(proc.mm, MIGRATION_AREA + offset, new Uint8Array(len), false);
      });
    }
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, MIGRATION_AREA + offset, len);
    });
  },
};
