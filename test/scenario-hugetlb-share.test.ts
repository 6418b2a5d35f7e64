/**
 * hugetlb-share (kernel-spec §5.4, §4.2, §8.3 item 7, §11.1, §12.11): two processes map the same
 * 1 GiB of a hugetlbfs file MAP_SHARED at one PUD-aligned address; the second one's fault shares
 * the first one's PMD table (huge_pmd_share); a monitor reads the first process's memory before,
 * during and after the second one's munmap (huge_pmd_unshare), and after the first one's munmap.
 *  - every path: one PMD table referenced from both mms' PUD entries; one order-9 page-cache folio
 *    holding both processes' stores; fault lock chain hugetlb_fault_mutex -> hugetlb VMA lock ->
 *    i_mmap_rwsem; unshare under hugetlb VMA lock (write) -> i_mmap_rwsem (write): the peer's PUD
 *    entry cleared, the table kept (the target still uses it), tlb_remove_table_sync_one() (one
 *    ipi_sync) as the table is left with one user; the final munmap clears the PMD leaf and frees
 *    the table through the gather (RCU), after that IPI. Reads 1-3 return the bytes, read 4 none.
 *  - gup: follow_page_mask under vma_pgtable_walk_begin (the target's hugetlb VMA lock, read) ->
 *    follow_huge_pmd under the shared table's PMD lock, one per page; the peer's whole munmap runs
 *    while the monitor holds that lock (directed schedule) -- it does not need it.
 *  - fast (v1, and with singleVmaOnly,checkFollAnon,touch): the fast path refuses the hugetlb VMA
 *    ("VMA not for the fast path") before any walk; then GUP as above, the same bytes.
 *  - the projection equals the live kernel after every event (a table with two parents).
 */
import { describe, expect, it } from 'vitest';
import type { EventOf } from '../src/trace/vocab/index.js';
import {
  HUGETLB_AREA, HUGETLB_FILE, HUGETLB_READ_AT, HUGETLB_READ_LEN, expectedBytes, hugetlbShare, pageFill,
} from '../src/workloads/hugetlb-share.js';
import { findWorkload } from '../src/workloads/index.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace, type Ev, type Req, type Trace } from './helpers/harness.js';

const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];
const RUNS = [
  { path: 'gup', variant: [] as string[] },
  { path: 'fast', variant: [] as string[] },
  { path: 'fast', variant: FIXES },
] as const;
const label = (path: string, variant: readonly string[]) => (path === 'gup' ? 'gup' : variant.length ? `fast+${variant.join(',')}` : 'fast (v1)');

type Acquire = EventOf<'rwsem_acquire'>;

/** rwsem_acquire events of a task, of one class (and mode), in a window. */
function acquires(t: Trace, task: string, klass: string, mode: Acquire['mode'] | null, within: (e: Ev) => boolean): Acquire[] {
  return t.of('rwsem_acquire', task, (e) => within(e) && e.class === klass && (mode === null || e.mode === mode));
}

/** The [begin, end] window of a task's munmap syscall. */
function munmapOf(t: Trace, task: string): { begin: Ev; end: Ev; inside: (e: Ev) => boolean } {
  const begins = t.of('syscall_begin', task, (e) => e.nr === 'munmap');
  const ends = t.of('syscall_end', task, (e) => e.nr === 'munmap');
  expect(begins).toHaveLength(1);
  expect(ends).toHaveLength(1);
  const [begin, end] = [begins[0]!, ends[0]!];
  return { begin, end, inside: (e) => e.seq > begin.seq && e.seq < end.seq };
}

function run(seed: number, path: 'gup' | 'fast', variant: readonly string[]) {
  const t = runTrace(hugetlbShare, { seed, path, variant: [...variant] });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  expect(t.of('deadlock')).toHaveLength(0);
  const reqs = t.requests('monitor');
  expect(reqs.map((r) => [r.op, r.addr])).toEqual(Array.from({ length: 4 }, () => ['access_process_vm', HUGETLB_READ_AT]));
  return { t, reqs };
}

describe('hugetlb-share: a PMD table shared by two processes, unshared at munmap (kernel-spec §5.4, §4.2)', () => {
  for (const seed of [1, 2, 3]) {
    for (const { path, variant } of RUNS) {
      const name = `${label(path, variant)}, seed ${seed}`;

      it(`§5.4 the bytes: reads before, during and after the peer's unshare return both processes' stores; none after the final munmap (${name})`, () => {
        const { t, reqs } = run(seed, path, variant);
        const want = expectedBytes();
        for (const r of reqs.slice(0, 3)) {
          expect(r.result).toBe(HUGETLB_READ_LEN);
          expect(r.data).toEqual(want);
        }
        // The read spans the target's page 0, the peer's page 1 and the target's page 2.
        expect(want[99]).toBe(pageFill(0));
        expect(want[100]).toBe(pageFill(1));
        expect(want[100 + 4096]).toBe(pageFill(2));
        expect(reqs[3]!.result).toBe(0);
        // One order-9 folio, in the hugetlbfs file's page cache, holds every store; it outlives
        // both mappings (the page cache keeps its reference).
        const huge = t.of('folio_alloc', undefined, (e) => e.order === 9);
        expect(huge).toHaveLength(1);
        const folio = huge[0]!.folio;
        expect(t.of('page_cache_add', undefined, (e) => e.folio === folio).map((e) => [e.file, e.index])).toEqual([[HUGETLB_FILE, 0]]);
        const stores = t.of('user_access', undefined, (e) => e.write && e.addr >= HUGETLB_AREA);
        expect(stores.map((e) => [t.taskName(e.tid), e.addr - HUGETLB_AREA, e.folio])).toEqual([
          ['target/0', 0, folio], ['target/0', 2 * 4096, folio], ['peer/0', 4096, folio],
        ]);
        expect(t.of('folio_free', undefined, (e) => e.folio === folio)).toHaveLength(0);
        // Shared PMD mappings count once: the target's PMD leaf maps the folio (mapcount 1), the
        // peer's PUD entry to the same table adds nothing; the final zap drops it.
        expect(t.of('folio_mapcount', undefined, (e) => e.folio === folio).map((e) => [t.taskName(e.tid), e.mapcount])).toEqual([
          ['target/0', 1], ['target/0', 0],
        ]);
        // Every monitor copy came from that folio.
        for (const r of reqs.slice(0, 3)) {
          const copies = t.of('copy', 'monitor', r.inside);
          expect(copies.length).toBeGreaterThan(0);
          for (const c of copies) expect(c.folio).toBe(folio);
        }
      });

      it(`§5.4/§11.1 sharing: one PMD table referenced from both mms' PUD entries; fault lock chain fault_mutex -> hugetlb vma lock -> i_mmap_rwsem (${name})`, () => {
        const { t } = run(seed, path, variant);
        const level = new Map(t.of('pgtable_alloc').map((e) => [e.table, e.level]));
        const pudSets = t.of('pgtable_set', undefined, (e) => level.get(e.table) === 'pud' && e.addr === HUGETLB_AREA && e.value !== 0);
        expect(pudSets.map((e) => t.taskName(e.tid))).toEqual(['target/0', 'peer/0']);
        const [mine, theirs] = pudSets as [EventOf<'pgtable_set'>, EventOf<'pgtable_set'>];
        expect(theirs.value).toBe(mine.value); // the same table value ...
        expect(theirs.table).not.toBe(mine.table); // ... in two different PUD tables (two mms)
        // The table is the target's PMD table; the peer allocated no PMD table for the range.
        const pmdTables = t.of('pgtable_alloc', undefined, (e) => e.level === 'pmd' && e.addr === HUGETLB_AREA);
        expect(pmdTables.map((e) => t.taskName(e.tid))).toEqual(['target/0']);
        expect(t.isLeafEntry(mine.value)).toBe(false);
        // The peer's fault: huge_pmd_share found the target's table; the PMD leaf was there already.
        const peerFaults = t.of('fault', 'peer/0', (e) => e.addr >= HUGETLB_AREA);
        expect(peerFaults.map((e) => e.how)).toEqual(['hugetlb_fault:present']);
        const targetFaults = t.of('fault', 'target/0', (e) => e.addr >= HUGETLB_AREA);
        expect(targetFaults.map((e) => e.how)).toEqual(['hugetlb_no_page']);
        expect(t.of('call_enter', 'peer/0', (e) => e.fn === 'huge_pmd_share')).toHaveLength(1);
        // Lock chain (§11.1) in both first faults, around the PUD population.
        for (const [task, set] of [['target/0', mine], ['peer/0', theirs]] as const) {
          const before = (e: Ev) => e.seq < set.seq;
          const mutex = acquires(t, task, 'hugetlb_fault_mutex', 'write', before);
          const vmaLock = acquires(t, task, 'hugetlb_vma_lock', 'read', before);
          const immap = acquires(t, task, 'i_mmap_rwsem', 'read', before);
          expect(mutex.length).toBeGreaterThan(0);
          expect(vmaLock.length).toBeGreaterThan(0);
          expect(immap.length).toBeGreaterThan(0);
          expect(mutex.at(-1)!.seq).toBeLessThan(vmaLock.at(-1)!.seq);
          expect(vmaLock.at(-1)!.seq).toBeLessThan(immap.at(-1)!.seq);
        }
        // The peer's PUD entry was set under page_table_lock and i_mmap_rwsem (read).
        const ptl = t.of('spin_lock', 'peer/0', (e) => e.seq < theirs.seq && e.class === 'page_table_lock').at(-1)!;
        expect(t.of('spin_unlock', 'peer/0', (e) => e.seq > ptl.seq && e.seq < theirs.seq && e.lock === ptl.lock)).toHaveLength(0);
      });

      it(`§4.2 unshare: the peer's munmap clears only its PUD entry (hugetlb vma lock -> i_mmap_rwsem, write), syncs the IPI, frees nothing; the final munmap frees the table after it (${name})`, () => {
        const { t, reqs } = run(seed, path, variant);
        const level = new Map(t.of('pgtable_alloc').map((e) => [e.table, e.level]));
        const pudSets = t.of('pgtable_set', undefined, (e) => level.get(e.table) === 'pud' && e.addr === HUGETLB_AREA && e.value !== 0);
        const shared = pudSets[0]!.value;
        const table = t.of('pgtable_alloc', 'target/0', (e) => e.level === 'pmd' && e.addr === HUGETLB_AREA)[0]!.table;
        const peer = munmapOf(t, 'peer/0');
        // The peer unmapped while the monitor was inside its second read, holding the target's
        // hugetlb VMA lock for read (directed schedule): the unshare does not need it.
        expect(reqs[1]!.inside(peer.begin) && reqs[1]!.inside(peer.end)).toBe(true);
        const held = acquires(t, 'monitor', 'hugetlb_vma_lock', 'read', (e) => e.seq < peer.begin.seq && reqs[1]!.inside(e)).at(-1)!;
        expect(held).toBeDefined();
        const release = t.next('rwsem_release', held.seq, 'monitor', (e) => e.sem === held.sem)!;
        expect(release.seq).toBeGreaterThan(peer.end.seq);
        // hugetlb_zap_begin: the peer's hugetlb VMA lock (write), then i_mmap_rwsem (write).
        const vmaW = acquires(t, 'peer/0', 'hugetlb_vma_lock', 'write', peer.inside);
        const immapW = acquires(t, 'peer/0', 'i_mmap_rwsem', 'write', peer.inside);
        expect(vmaW).toHaveLength(1);
        expect(immapW.length).toBeGreaterThan(0);
        expect(vmaW[0]!.seq).toBeLessThan(immapW[0]!.seq);
        expect(vmaW[0]!.sem).not.toBe(held.sem); // the peer's VMA lock, not the target's
        // huge_pmd_unshare: the peer's PUD entry cleared; the shared table untouched, not freed.
        const peerSets = t.of('pgtable_set', 'peer/0', peer.inside);
        const cleared = peerSets.filter((e) => e.old === shared);
        expect(cleared.map((e) => [e.addr, e.value])).toEqual([[HUGETLB_AREA, 0]]);
        expect(peerSets.filter((e) => e.table === table)).toHaveLength(0);
        expect(t.of('folio_mapcount', 'peer/0', peer.inside)).toHaveLength(0);
        expect(t.of('pgtable_free', undefined, (e) => e.table === table && e.seq < peer.end.seq)).toHaveLength(0);
        // The table is left with one user: tlb_remove_table_sync_one(), under both locks.
        const ipis = t.of('ipi_sync');
        expect(ipis).toHaveLength(1);
        const ipi = ipis[0]!;
        expect(peer.inside(ipi)).toBe(true);
        expect(ipi.seq).toBeGreaterThan(cleared[0]!.seq);
        const vmaRel = t.next('rwsem_release', vmaW[0]!.seq, 'peer/0', (e) => e.sem === vmaW[0]!.sem)!;
        const immapRel = t.next('rwsem_release', immapW[0]!.seq, 'peer/0', (e) => e.sem === immapW[0]!.sem)!;
        expect(ipi.seq).toBeLessThan(vmaRel.seq);
        expect(ipi.seq).toBeLessThan(immapRel.seq);
        expect(vmaRel.seq).toBeLessThan(immapRel.seq); // the VMA lock is freed before i_mmap_rwsem drops
        // The final munmap (the target): same lock order, the PMD leaf cleared in the (now
        // exclusive) table, the table freed through the gather: RCU-queued, then freed.
        const target = munmapOf(t, 'target/0');
        const tVmaW = acquires(t, 'target/0', 'hugetlb_vma_lock', 'write', target.inside);
        const tImmapW = acquires(t, 'target/0', 'i_mmap_rwsem', 'write', target.inside);
        expect(tVmaW).toHaveLength(1);
        expect(tVmaW[0]!.seq).toBeLessThan(tImmapW[0]!.seq);
        const zap = t.of('pgtable_set', 'target/0', (e) => target.inside(e) && e.table === table);
        expect(zap.map((e) => [e.addr, e.value])).toEqual([[HUGETLB_AREA, 0]]);
        expect(t.of('pgtable_set', 'target/0', (e) => target.inside(e) && e.old === shared).map((e) => e.value)).toEqual([0]);
        const frees = t.of('pgtable_free', undefined, (e) => e.table === table);
        expect(frees.map((e) => e.mode)).toEqual(['rcu_queued', 'rcu_freed']);
        expect(target.inside(frees[0]!)).toBe(true);
        expect(frees[0]!.seq).toBeGreaterThan(ipi.seq);
        expect(frees[1]!.seq).toBeLessThan(reqs[3]!.begin);
        expect(t.of('ipi_sync', 'target/0')).toHaveLength(0);
      });

      it(`§8.3 item 7 the access path: GUP follows the PMD leaf under the hugetlb VMA lock; fast refuses the VMA first (${name})`, () => {
        const { t, reqs } = run(seed, path, variant);
        for (const r of reqs.slice(0, 3)) {
          // GUP: one follow_huge_pmd per page, each inside the target's hugetlb VMA lock (read)
          // and under the PMD lock; no fault (the PMD leaf is present).
          const follows = t.of('call_enter', 'monitor', (e) => r.inside(e) && e.fn === 'follow_huge_pmd');
          expect(follows).toHaveLength(4);
          for (const f of follows) {
            const lock = acquires(t, 'monitor', 'hugetlb_vma_lock', 'read', (e) => r.inside(e) && e.seq < f.seq).at(-1)!;
            expect(lock).toBeDefined();
            expect(t.next('rwsem_release', lock.seq, 'monitor', (e) => e.sem === lock.sem)!.seq).toBeGreaterThan(f.seq);
            const pmdLock = t.of('spin_lock', 'monitor', (e) => e.seq < f.seq && e.seq > lock.seq && e.class === 'pmd_lock');
            expect(pmdLock).toHaveLength(1);
          }
          expect(t.of('fault', 'monitor', r.inside)).toHaveLength(0);
          const fb = t.of('fast_path_fallback', 'monitor', r.inside);
          if (path === 'gup') {
            expect(fb).toHaveLength(0);
          } else {
            expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[HUGETLB_READ_AT, 0, 'VMA not for the fast path']]);
            // Refused before any walk: no folio_walk_start, no page-table read before the fallback.
            const before = (e: Ev) => r.inside(e) && e.seq < fb[0]!.seq;
            expect(t.of('pgtable_read', 'monitor', before)).toHaveLength(0);
            expect(t.of('call_enter', 'monitor', (e) => r.inside(e) && e.fn === 'folio_walk_start')).toHaveLength(0);
          }
        }
        // After both unmapped: no VMA, nothing read (and nothing freed read).
        const last: Req = reqs[3]!;
        expect(t.of('copy', 'monitor', last.inside)).toHaveLength(0);
      });
    }
  }

  for (const { path, variant } of RUNS) {
    it(`replay: the projection equals the live kernel after every event (${label(path, variant)}, seeds 1..2)`, () => {
      for (const seed of [1, 2]) {
        const { events, firstMismatch } = checkEveryEvent(hugetlbShare, { path, variant: [...variant], seed });
        expect(events).toBeGreaterThan(500);
        expect(firstMismatch).toBeNull();
      }
    }, 120_000);
  }

  it('is registered (appended to WORKLOADS)', () => {
    expect(findWorkload('hugetlb-share')).toBe(hugetlbShare);
  });
});
