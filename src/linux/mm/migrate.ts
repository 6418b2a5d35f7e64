/**
 * Page migration (mm/migrate.c, mm/rmap.c try_to_migrate; kernel-spec §3.1, §6.7, §7.1): move the
 * contents of a mapped folio to a new folio while the folio's mappings are replaced by migration
 * entries, so that everybody who touches the page in the meantime waits for the move
 * (migration_entry_wait) instead of seeing a half-copied page.
 *
 * migrate_folio_mapped() is migrate_pages_batch()'s one-folio path (migrate_folio_unmap +
 * migrate_folio_move) in MIGRATE_SYNC mode; do_move_page() is move_pages(2) for one page
 * (add_page_for_migration + do_move_pages_to_node), the way a workload task starts a migration.
 *
 * Simplified (what the model leaves out):
 *  - Only small (order-0) anonymous folios migrate. Large folios (a PMD-mapped THP would need PMD
 *    migration entries, set_pmd_migration_entry / remove_migration_pmd; a PTE-mapped one a split
 *    first), page-cache folios (the page cache's xarray slot would move too) and hugetlb folios are
 *    refused (-EBUSY from do_move_page).
 *  - The rmap walk is the emulated one of mm/rmap.ts: every mm's page tables are scanned for entries
 *    of the folio (no anon_vma, no anon_vma lock: never contended), each PTE table under
 *    rcu_read_lock + pte_offset_map_lock, as page_vma_mapped_walk() takes the PTL.
 *  - PageAnonExclusive is a folio flag (Folio.anon_exclusive): a read-only PTE of an exclusive
 *    anonymous folio becomes a readable-exclusive migration entry, and the flag comes back on the
 *    destination with the entry. There is no fork, so every mapped anonymous folio is exclusive.
 *  - The destination folio is not locked (nobody can reach it before remove_migration_ptes maps
 *    it, and a reader that finds it mapped needs no lock); NUMA nodes are not modelled (the new
 *    folio is just another folio); soft-dirty, uffd-wp and rss counters are not modelled; the TLB
 *    flush is one tlb_flush event per unmapped PTE (ptep_clear_flush), no batching.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import {
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_RW, _PAGE_USER,
  SWP_MIGRATION_READ, SWP_MIGRATION_READ_EXCLUSIVE, SWP_MIGRATION_WRITE,
  entry_pfn, is_migration_entry, is_migration_entry_dirty,
  is_migration_entry_young, is_readable_exclusive_migration_entry, is_writable_migration_entry, make_migration_entry,
  mk_entry, pfn_swap_entry_to_page,
  pte_dirty, pte_write, pte_young,
} from '../arch/x86/include/pgtable_types.js';
import { EAGAIN, EBUSY, EFAULT, ENOENT } from '../include/errno.js';
import { traced } from '../kernel/ftrace.js';
import { syscall } from '../kernel/syscall.js';
import {
  type Folio, PG_active, PG_dirty, PG_referenced, PG_uptodate, folio_alloc, folio_change_flags, folio_get,
  folio_lock, folio_mapcount_dec, folio_mapcount_inc, folio_mark_dirty, folio_put, folio_unlock,
  folio_wait_enqueue, folio_wait_unlocked, is_huge_zero_pfn, is_zero_pfn, page_folio,
} from './folio.js';
import { mmap_read_lock, mmap_read_unlock } from './mmap_lock.js';
import {
  type MmStruct, PAGE_SIZE, VM_ACCESS_FLAGS, VM_IO, VM_PFNMAP, VM_WRITE, is_vm_hugetlb_page, vma_lookup,
} from './mm_types.js';
import { FW_ZEROPAGE, type FolioWalk, folio_walk_end, folio_walk_start } from './pagewalk.js';
import { type EntryPtr, read_entry, set_entry } from './pgtable.js';
import { pte_offset_map_lock, pte_unmap_unlock } from './pgtable_generic.js';
import { rmap_walk_ptes } from './rmap.js';
import { folio_add_lru, lru_add_drain_all, lru_isolated } from './swap.js';
import { folio_isolate_lru, folio_putback_lru } from './vmscan.js';

const W_MIGRATION_ENTRY = name('migration_entry_wait');
const WHY_MIGRATE_FLAGS = name('folio_migrate_flags');
const SYS_MOVE_PAGES = name('move_pages');

/** NR_MAX_MIGRATE_PAGES_RETRY: passes migrate_pages() makes over a folio that keeps failing with -EAGAIN. */
export const NR_MAX_MIGRATE_PAGES_RETRY = 10;

// --- waiting for a migration entry ----------------------------------------------------------------

/**
 * migration_entry_wait() (mm/migrate.c), called by do_swap_page() for a migration entry: map and
 * lock the PTE; if it still is a migration entry, migration_entry_wait_on_locked() queues on the
 * folio being migrated away from -- which is locked for the whole migration -- while the PTL is
 * still held (so the migration cannot finish, unlock and free it unseen), drops the PTL and sleeps
 * until the folio is unlocked. The caller then returns 0 from the fault and retries.
 */
export const migration_entry_wait = traced('migration_entry_wait', function* (
  mm: MmStruct, pmdp: EntryPtr, address: number,
): Gen {
  const locked = yield* pte_offset_map_lock(mm, pmdp, address);
  if (!locked) return;
  const pte = yield* read_entry(locked.ptep, false);
  if (!is_migration_entry(pte)) {
    // Migration finished (or was undone) meanwhile: just retry the fault.
    yield* pte_unmap_unlock(locked.ptl);
    return;
  }
  const folio = page_folio(pfn_swap_entry_to_page(pte));
  folio_wait_enqueue(folio);
  yield* pte_unmap_unlock(locked.ptl);
  yield* folio_wait_unlocked(folio, W_MIGRATION_ENTRY);
});

/**
 * try_to_migrate() (mm/rmap.c try_to_migrate_one), folio locked: every PTE mapping the folio is
 * cleared and flushed (ptep_clear_flush) and replaced by a migration entry for the same page --
 * writable if the PTE was, with its young/dirty bits -- under that table's PTL. The PTE's dirty bit
 * goes to the folio (folio_mark_dirty); the mapping's mapcount (folio_remove_rmap_pte) and
 * reference (folio_put) are dropped: a migration entry holds neither. (In mm/rmap.c in the kernel;
 * here beside remove_migration_ptes, its inverse, and the migration entry helpers both use.)
 */
export const try_to_migrate = traced('try_to_migrate', function* (folio: Folio): Gen {
  const anon_exclusive = folio.anon && folio.anon_exclusive;
  // folio_try_share_anon_rmap_pte(): the exclusive bit moves into the migration entries.
  folio.anon_exclusive = false;
  yield* rmap_walk_ptes(folio, false, function* (mm, ptep, addr, pte) {
    const type = pte_write(pte) ? SWP_MIGRATION_WRITE : anon_exclusive ? SWP_MIGRATION_READ_EXCLUSIVE : SWP_MIGRATION_READ;
    const entry = make_migration_entry(entry_pfn(pte), type, pte_young(pte), pte_dirty(pte));
    yield* set_entry(ptep, entry);
    yield emit.tlb_flush({ mm: mm.id, start: addr, end: addr + PAGE_SIZE });
    if (pte_dirty(pte)) yield* folio_mark_dirty(folio);
    yield* folio_mapcount_dec(folio); // folio_remove_rmap_pte
    yield* folio_put(folio); // the mapping's reference
  });
});

/**
 * remove_migration_ptes(src, dst) (mm/migrate.c remove_migration_pte): every migration entry of
 * `src` becomes a PTE of the same page index in `dst`, under the PTL: folio_get(dst) and
 * folio_add_anon_rmap_pte (mapcount), mk_pte with the VMA's protection (PROT_NONE: protnone),
 * writable if the entry was (and the VMA still is), old unless the entry was young, dirty if the
 * entry and the folio are. No TLB flush: non-present to present. With dst === src this undoes
 * try_to_migrate() (a failed migration).
 */
export const remove_migration_ptes = traced('remove_migration_ptes', function* (src: Folio, dst: Folio): Gen {
  yield* rmap_walk_ptes(src, true, function* (mm, ptep, addr, entry) {
    const vma = mm.mm_mt.load(addr);
    const pfn = dst.pfn + (pfn_swap_entry_to_page(entry) - src.pfn);
    const accessible = vma !== undefined && (vma.vm_flags & VM_ACCESS_FLAGS) !== 0;
    let flags = _PAGE_USER | (accessible ? _PAGE_PRESENT : _PAGE_PROTNONE);
    if (is_writable_migration_entry(entry) && vma && vma.vm_flags & VM_WRITE) flags |= _PAGE_RW;
    if (is_migration_entry_young(entry)) flags |= _PAGE_ACCESSED;
    if (dst.flags & PG_dirty && is_migration_entry_dirty(entry)) flags |= _PAGE_DIRTY;
    yield* folio_get(dst);
    // folio_add_anon_rmap_pte(RMAP_EXCLUSIVE for a writable or readable-exclusive entry).
    const exclusive = is_writable_migration_entry(entry) || is_readable_exclusive_migration_entry(entry);
    if (dst.anon && exclusive) dst.anon_exclusive = true;
    yield* folio_mapcount_inc(dst);
    yield* set_entry(ptep, mk_entry(pfn, flags));
  });
});

// --- migration --------------------------------------------------------------------------------------

/** What migrate_folio_mapped() did: 0 (moved; `dst` now maps where `src` did) or -EAGAIN (undone). */
export interface MigrateResult {
  rc: number;
  dst: Folio | null;
}

/**
 * migrate_folio_mapped(src): move one isolated, small, anonymous folio (the caller holds the
 * isolation reference). migrate_folio_unmap: allocate the destination (get_new_folio), lock the
 * source (folio_lock, sleeping), try_to_migrate(); then migrate_folio_move: __migrate_folio checks
 * that only the isolation reference is left (a GUP reference taken before the unmap makes it
 * -EAGAIN), copies the bytes (folio_mc_copy: a folio_copy event), re-checks the count
 * (__folio_migrate_mapping) and moves the flags (folio_migrate_flags: PG_referenced, PG_active,
 * PG_dirty, PG_uptodate); folio_add_lru(dst), remove_migration_ptes(src, dst), unlock src (waking
 * every migration_entry_wait sleeper), drop dst's allocation reference and src's isolation
 * reference -- src is freed, dst keeps one reference per mapping.
 * On -EAGAIN (still mapped, or extra references) the migration entries go back to src
 * (remove_migration_ptes(src, src)), src is unlocked, dst freed; src stays isolated with its
 * reference for the next pass.
 */
export const migrate_folio_mapped = traced('migrate_folio_mapped', function* (
  src: Folio, was_active = false,
): Gen<MigrateResult> {
  const dst = yield* folio_alloc(0, true, 0); // get_new_folio (zeroed until the copy)
  yield* folio_lock(src);
  const was_mapped = src.mapcount > 0;
  if (was_mapped) yield* try_to_migrate(src);
  // 1 = the isolation reference (folio_expected_ref_count() of an unmapped anon folio is 0, + 1).
  const expected = 1;
  let rc = src.mapcount > 0 ? -EAGAIN : 0;
  if (rc === 0 && src._refcount !== expected) rc = -EAGAIN; // "extra refs before we do more work"
  if (rc === 0) {
    dst.copyFrom(src, 0, src.size()); // folio_mc_copy()
    yield emit.folio_copy({ dst: dst.id, src: src.id, index: 0 });
    if (src._refcount !== expected) rc = -EAGAIN; // __folio_migrate_mapping()
  }
  if (rc !== 0) {
    if (was_mapped) yield* remove_migration_ptes(src, src);
    yield* folio_unlock(src);
    yield* folio_put(dst);
    return { rc, dst: null };
  }
  const carry = src.flags & (PG_referenced | PG_dirty | PG_uptodate);
  yield* folio_change_flags(dst, carry | (was_active ? PG_active : 0), 0, WHY_MIGRATE_FLAGS);
  yield* folio_add_lru(dst);
  if (was_mapped) yield* remove_migration_ptes(src, dst);
  yield* folio_unlock(src);
  yield* folio_put(dst); // get_new_folio's reference: dst keeps one per mapping
  lru_isolated().delete(src);
  yield* folio_put(src); // migrate_folio_done(): the isolation reference -- src is freed
  return { rc: 0, dst };
});

/**
 * migrate_pages() for one isolated folio: up to NR_MAX_MIGRATE_PAGES_RETRY passes while it fails
 * with -EAGAIN, then putback_movable_pages(). Returns 0 or -EAGAIN, and the new folio.
 */
export const migrate_pages = traced('migrate_pages', function* (folio: Folio, was_active: boolean): Gen<MigrateResult> {
  let res: MigrateResult = { rc: -EAGAIN, dst: null };
  for (let pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && res.rc === -EAGAIN; pass++) {
    res = yield* migrate_folio_mapped(folio, was_active);
  }
  if (res.rc !== 0) yield* folio_putback_lru(folio, was_active);
  return res;
});

/**
 * move_pages(2) for one page of `mm` (do_pages_move -> add_page_for_migration ->
 * do_move_pages_to_node): under mmap_read_lock, folio_walk_start(FW_ZEROPAGE) finds the folio and
 * folio_isolate_lru() takes it off the LRU with a reference, under the PTL; mmap_lock is dropped
 * before the migration itself, which holds only the folio lock and the PTLs. Returns 0, or
 * -EFAULT (no VMA / not migratable / the zero page), -ENOENT (nothing mapped), -EBUSY (cannot be
 * isolated or not modelled: large or page-cache folios), -EAGAIN (kept failing). `out.dst` gets the
 * new folio.
 */
export function* do_move_page(mm: MmStruct, addr: number, out: { dst?: Folio } = {}): Gen<number> {
  yield* mmap_read_lock(mm);
  const vma = vma_lookup(mm, addr);
  // vma_migratable(): no VM_IO / VM_PFNMAP; hugetlb folios are not modelled here.
  if (!vma || vma.vm_flags & (VM_IO | VM_PFNMAP) || is_vm_hugetlb_page(vma)) {
    yield* mmap_read_unlock(mm);
    return -EFAULT;
  }
  const walk: { result?: FolioWalk } = {};
  const folio = yield* folio_walk_start(walk, vma, addr, FW_ZEROPAGE);
  let err = -ENOENT;
  let isolated = { ok: false, active: false };
  if (folio) {
    if (is_zero_pfn(folio.pfn) || is_huge_zero_pfn(folio.pfn)) err = -EFAULT;
    else if (folio.nr_pages > 1 || !folio.anon || folio.mapping) err = -EBUSY; // not modelled (header)
    else {
      isolated = yield* folio_isolate_lru(folio);
      err = isolated.ok ? 0 : -EBUSY;
    }
    yield* folio_walk_end(walk.result!, vma);
  }
  yield* mmap_read_unlock(mm);
  if (err || !folio) return err;
  const res = yield* migrate_pages(folio, isolated.active);
  if (res.dst) out.dst = res.dst;
  return res.rc;
}

/** move_pages(pid, 1, &addr, &node, &status, MPOL_MF_MOVE) as a system call of the target's mm. */
export function sys_move_pages(mm: MmStruct, addr: number, out: { dst?: Folio } = {}): Gen<number> {
  return syscall(SYS_MOVE_PAGES, addr, 1, 0, function* () {
    // do_pages_move()'s lru_cache_disable(): queued activations are drained first, so that a folio
    // waiting in some CPU's batch (PG_lru clear) can be isolated.
    yield* lru_add_drain_all();
    return yield* do_move_page(mm, addr, out);
  });
}
