/**
 * A remote read through GUP (kernel-spec §8.1, §6.6) returns the target's bytes and ages the folio
 * the way FOLL_TOUCH does (§5.3: folio_mark_accessed, two touches activate); a never-touched anon
 * page is faulted in as the shared zero page (§6.7, §12.9).
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { _PAGE_RW, _PAGE_SPECIAL, entry_pfn } from '../src/linux/arch/x86/include/pgtable_types.js';
import { type Folio, PG_active, PG_lru, PG_referenced } from '../src/linux/mm/folio.js';
import { access_remote_vm } from '../src/linux/mm/access_remote.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { bytesHash } from '../src/trace/hash.js';
import { COPY_FROM_ZERO_PAGE } from '../src/trace/vocab/index.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const PATTERN = new TextEncoder().encode('remote-read pattern: 0123456789abcdef');
const OFFSET = 0x123;

interface Reads {
  addr: number;
  first: { ret: number; buf: Uint8Array };
  second: { ret: number; buf: Uint8Array };
  zero: { ret: number; buf: Uint8Array };
}

function scenario(seed: number) {
  let mm!: MmStruct;
  const r = {} as Reads;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    mm = proc.mm;
    const written = new Completion();
    spawnThread(proc, 'target/0', function* () {
      r.addr = yield* sys_mmap(mm, { addr: 0, len: 2 * PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
      if (!(yield* user_access(mm, r.addr + OFFSET, PATTERN, true))) throw new Error('store faulted');
      yield* complete_all(written);
    });
    spawnOutsider('reader', function* () {
      yield* wait_for_completion(written);
      for (const which of ['first', 'second'] as const) {
        const buf = new Uint8Array(PATTERN.length);
        r[which] = { ret: yield* access_remote_vm(mm, r.addr + OFFSET, buf, buf.length, 0), buf };
      }
      // The second page was never touched by the target.
      const buf = new Uint8Array(64);
      r.zero = { ret: yield* access_remote_vm(mm, r.addr + PAGE_SIZE + 8, buf, buf.length, 0), buf };
    });
  }, { seed });
  return { trace, r, mm };
}

describe('GUP remote read (kernel-spec §8.1, §6.6, §5.3)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§8.1/§6.6 returns the bytes the target stored; §5.3 first touch sets PG_referenced, second activates (seed ${seed})`, () => {
      const { trace: t, r } = scenario(seed);
      expect(t.result.outcome).toBe('done');
      expect(r.first.ret).toBe(PATTERN.length);
      expect(r.first.buf).toEqual(PATTERN);
      expect(r.second.ret).toBe(PATTERN.length);
      expect(r.second.buf).toEqual(PATTERN);

      // The folio the target's store faulted in: an anonymous folio, on the inactive anon list.
      const alloc = t.of('folio_alloc', 'target/0');
      expect(alloc).toHaveLength(1);
      const folio = alloc[0]!.folio;
      const added = t.of('lru_move', undefined, (e) => e.folio === folio);
      expect(added[0]!.from).toBe('none');
      expect(added[0]!.to).toBe('inactive_anon');

      // Both reads copied from that folio, with the pattern's hash.
      const copies = t.of('copy', 'reader', (e) => e.addr === r.addr + OFFSET);
      expect(copies.map((e) => [e.len, e.folio, e.hash])).toEqual([
        [PATTERN.length, folio, bytesHash(PATTERN)],
        [PATTERN.length, folio, bytesHash(PATTERN)],
      ]);

      // FOLL_TOUCH -> folio_mark_accessed, once per read, by the reader.
      const marks = t.of('folio_mark_accessed', 'reader', (e) => e.folio === folio);
      expect(marks).toHaveLength(2);
      const [m1, m2] = marks as [typeof marks[0], typeof marks[0]];
      // First touch: inactive, unreferenced -> referenced.
      expect(m1.from & (PG_referenced | PG_active)).toBe(0);
      expect(m1.from & PG_lru).toBe(PG_lru);
      expect(m1.to).toBe(m1.from | PG_referenced);
      // Second touch: PG_referenced cleared, and folio_activate follows (PG_active comes with the
      // move to the active list, when the batch is moved).
      expect(m2.from).toBe(m1.to);
      expect(m2.to & (PG_active | PG_referenced)).toBe(0);
      // ... which queues the folio on this CPU's lru_activate batch, after the second read began:
      // PG_lru cleared (folio_test_clear_lru) and a reference for the batch. The batch is not full
      // and nothing drains it: the folio stays on the inactive list.
      const queued = t.of('folio_flags', 'reader', (e) => e.folio === folio && (e.old & PG_lru) !== 0 && (e.new & PG_lru) === 0);
      expect(queued).toHaveLength(1);
      expect(queued[0]!.seq).toBeGreaterThan(m2.seq);
      expect(queued[0]!.seq).toBeGreaterThan(copies[0]!.seq);
      expect(queued[0]!.seq).toBeLessThan(copies[1]!.seq);
      expect(t.of('lru_move', 'reader', (e) => e.folio === folio)).toHaveLength(0);

      // GUP's reference (FOLL_GET) is taken before and dropped after each copy; the batch keeps one.
      const refs = t.of('folio_get', 'reader', (e) => e.folio === folio).map((e) => e.ref);
      const puts = t.of('folio_put', 'reader', (e) => e.folio === folio).map((e) => e.ref);
      expect(refs).toEqual([2, 2, 3]);
      expect(puts).toEqual([1, 2]);
      // The whole of each read ran under one mmap_read_lock hold (§8.1).
      const readHold = { write: false, success: true };
      expect(t.of('mmap_lock_acquire_returned', 'reader').map((e) => ({ write: e.write, success: e.success })))
        .toEqual([readHold, readHold, readHold]);
      expect(t.of('mmap_lock_released', 'reader').map((e) => e.write)).toEqual([false, false, false]);
    });

    it(`§6.7/§12.9 a never-touched anon page reads as zeros via the zero page (seed ${seed})`, () => {
      const { trace: t, r } = scenario(seed);
      const addr = r.addr + PAGE_SIZE + 8;
      expect(r.zero.ret).toBe(64);
      expect(r.zero.buf).toEqual(new Uint8Array(64));
      // GUP found no PTE, faulted (read) -> do_anonymous_page mapped the zero page.
      const faults = t.of('fault', 'reader');
      expect(faults).toHaveLength(1);
      expect(faults[0]!.addr).toBe(addr);
      expect(faults[0]!.how).toBe('do_anonymous_page:zero_page');
      expect(faults[0]!.result).toBe(0); // no VM_FAULT_* bit
      // No folio was allocated for it; the PTE written is a special (no refcounting) zero-pfn entry.
      expect(t.of('folio_alloc', 'reader')).toHaveLength(0);
      const ptes = t.of('pgtable_set', 'reader', (e) => t.isMap(e));
      expect(ptes).toHaveLength(1);
      expect(ptes[0]!.addr).toBe(addr - 8);
      expect(ptes[0]!.old).toBe(0);
      const zeroPfn = (t.result.kernel.subsystems.get('zero_page') as Folio).pfn;
      expect(entry_pfn(ptes[0]!.value)).toBe(zeroPfn);
      expect(ptes[0]!.value & _PAGE_SPECIAL).toBe(_PAGE_SPECIAL);
      expect(ptes[0]!.value & _PAGE_RW).toBe(0); // not writable
      // The copy came from the zero page (folio field 0).
      const copy = t.of('copy', 'reader', (e) => e.addr === addr);
      expect(copy.map((e) => [e.len, e.folio, e.hash])).toEqual([[64, COPY_FROM_ZERO_PAGE, bytesHash(new Uint8Array(64))]]);
    });
  }
});
