/**
 * special-vmas (kernel-spec §12.11, §5.4, §6.5, §8.1, §8.3): remote access to mappings GUP refuses.
 * (a) VM_IO|VM_PFNMAP device mapping (remap_pfn_range, special PTEs, ->access = generic_access_phys):
 *     GUP's check_vma_flags gives -EFAULT, the VMA exists and has ->access (CONFIG_HAVE_IOREMAP_PROT),
 *     so __access_remote_vm hands it the whole remaining length: the device's bytes, one I/O copy
 *     (physically contiguous, even across the page boundary). A FOLL_FORCE write to the read-only
 *     mapping: -EINVAL from generic_access_phys, 0 bytes. Fast: the VMA is not for the fast path,
 *     so it falls back at once, and the slow path does the same.
 * (b) memfd_secret mapping: check_vma_flags -EFAULT (vma_is_secretmem) and no ->access: 0 bytes,
 *     on GUP and on the fast path (v1 refuses secretmem VMAs itself), never a kernel fault.
 */
import { describe, expect, it } from 'vitest';
import { entry_pfn, pte_special, pte_write } from '../src/linux/arch/x86/include/pgtable_types.js';
import { EFAULT, EINVAL } from '../src/linux/include/errno.js';
import { VM_IO, VM_PFNMAP } from '../src/linux/mm/mm_types.js';
import { bytesHash } from '../src/trace/hash.js';
import { COPY_FROM_IO } from '../src/trace/vocab/index.js';
import { IO_AREA, SECRET, SECRET_AREA, deviceBytes, specialVmas } from '../src/workloads/special-vmas.js';
import { runTrace, type Ev, type Trace, type Req } from './helpers/harness.js';

const PAGES = specialVmas.params.pages!.default as number;
const LEN = specialVmas.params.len!.default as number;
const OFFSET = specialVmas.params.offset!.default as number;
const ROUNDS = specialVmas.params.rounds!.default as number;
const FIXES = ['singleVmaOnly', 'checkFollAnon', 'touch'];


const requestsOf = (t: Trace, task: string): Req[] => t.requests(task);

/** generic_access_phys calls inside a request: [enter, exit] pairs' return values. */
function accessPhysReturns(t: Trace, r: Req): number[] {
  return t.of('call_exit', 'monitor', (e) => r.inside(e) && e.fn === 'generic_access_phys').map((e) => e.ret);
}

function run(seed: number, path: 'gup' | 'fast', variant: string[] = []) {
  const t = runTrace(specialVmas, { seed, path, variant });
  expect(t.result.outcome).toBe('done');
  const reqs = requestsOf(t, 'monitor');
  expect(reqs.map((r) => [r.op, r.addr])).toEqual(Array.from({ length: ROUNDS }, () => [
    ['access_process_vm', IO_AREA + OFFSET], ['ptrace_peekdata', IO_AREA], ['access_process_vm_write', IO_AREA],
    ['access_process_vm', SECRET_AREA],
  ]).flat());
  // The device mapping: remap_pfn_range made it VM_IO|VM_PFNMAP and installed special, read-only
  // PTEs for frames that are no folio's (no struct page).
  const flags = t.of('vma_flags', 'target/0');
  expect(flags).toHaveLength(1);
  expect(flags[0]!.new & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
  const folioPfns = new Set(t.of('folio_alloc').map((e) => e.pfn));
  const ptes = t.of('pgtable_set', 'target/0', (e) => t.isMap(e) && e.addr >= IO_AREA && e.addr < IO_AREA + PAGES * 4096);
  expect(ptes).toHaveLength(PAGES);
  for (const e of ptes) {
    expect(pte_special(e.value)).toBe(true);
    expect(pte_write(e.value)).toBe(false);
    expect(folioPfns.has(entry_pfn(e.value))).toBe(false);
  }
  expect(entry_pfn(ptes[1]!.value)).toBe(entry_pfn(ptes[0]!.value) + 1);
  // The secretmem page holds the target's secret (its own store, through the user mapping).
  const store = t.of('user_access', 'target/0', (e) => e.addr === SECRET_AREA && e.write);
  expect(store).toHaveLength(1);
  expect(store[0]!.data).toEqual(SECRET);
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  return { t, reqs };
}

/** What the slow path does for each request, on every path (§8.1). */
function expectSlowPathOutcome(t: Trace, reqs: Req[]): void {
  const dev = deviceBytes(PAGES);
  for (let r = 0; r < ROUNDS; r++) {
    const [read, peek, poke, secret] = reqs.slice(4 * r, 4 * r + 4) as [Req, Req, Req, Req];
    // (a) read: -EFAULT from check_vma_flags (VM_IO|VM_PFNMAP), then ->access returns all LEN
    // bytes in one physically contiguous I/O copy (folio -1), across the page boundary.
    expect(OFFSET % 4096 + LEN).toBeGreaterThan(4096);
    expect(read.result).toBe(LEN);
    expect(read.data).toEqual(dev.subarray(OFFSET, OFFSET + LEN));
    expect(t.of('gup_error', 'monitor', read.inside).map((e) => [e.addr, e.errno])).toEqual([[IO_AREA + OFFSET, EFAULT]]);
    expect(accessPhysReturns(t, read)).toEqual([LEN]);
    const copies = t.of('copy', 'monitor', read.inside);
    expect(copies.map((e) => [e.addr, e.len, e.folio, e.hash])).toEqual([[IO_AREA + OFFSET, LEN, COPY_FROM_IO, bytesHash(read.data)]]);
    expect(t.of('fault', 'monitor', read.inside)).toHaveLength(0);
    expect(t.of('folio_get', 'monitor', read.inside)).toHaveLength(0);
    // ptrace PEEK (FOLL_FORCE): the same route, 8 device bytes.
    expect(peek.result).toBe(8);
    expect(peek.data).toEqual(dev.subarray(0, 8));
    expect(t.of('gup_error', 'monitor', peek.inside).map((e) => [e.addr, e.errno])).toEqual([[IO_AREA, EFAULT]]);
    expect(accessPhysReturns(t, peek)).toEqual([8]);
    // POKE to the read-only device mapping: GUP -EFAULT, then generic_access_phys -EINVAL (the PTE
    // is not writable): nothing written, 0 bytes (the device bytes stay, as the next round shows).
    expect(poke.result).toBe(0);
    expect(t.of('gup_error', 'monitor', poke.inside).map((e) => [e.addr, e.errno])).toEqual([[IO_AREA, EFAULT]]);
    expect(accessPhysReturns(t, poke)).toEqual([-EINVAL]);
    expect(t.of('copy_to_folio', 'monitor', poke.inside)).toHaveLength(0);
    // (b) secretmem: -EFAULT (vma_is_secretmem), no ->access: 0 bytes, nothing touched.
    expect(secret.result).toBe(0);
    expect(secret.data).toHaveLength(0);
    expect(t.of('gup_error', 'monitor', secret.inside).map((e) => [e.addr, e.errno])).toEqual([[SECRET_AREA, EFAULT]]);
    expect(accessPhysReturns(t, secret)).toEqual([]);
    for (const kind of ['copy', 'fault', 'folio_get'] as const) {
      expect(t.byTask('monitor').filter((e) => e.kind === kind && secret.inside(e))).toHaveLength(0);
    }
  }
}

describe('special-vmas: VM_IO|VM_PFNMAP with ->access, and secretmem (kernel-spec §12.11)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§12.11/§5.4/§8.1 gup: -EFAULT from check_vma_flags; the device VMA's ->access (generic_access_phys) returns its bytes, secretmem 0 (seed ${seed})`, () => {
      const { t, reqs } = run(seed, 'gup');
      expectSlowPathOutcome(t, reqs);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
    });

    for (const variant of [[], FIXES]) {
      const label = variant.length ? `fast+${variant.join(',')}` : 'fast (v1)';
      it(`§12.11/§8.3 ${label}: both VMAs are refused by the fast path (fallback before any walk), then as gup (seed ${seed})`, () => {
        const { t, reqs } = run(seed, 'fast', variant);
        for (const r of reqs) {
          const fb = t.of('fast_path_fallback', 'monitor', r.inside);
          if (r.op === 'access_process_vm_write') {
            // Writes never take the fast path.
            expect(fb).toHaveLength(0);
            continue;
          }
          expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([[r.addr, 0, 'VMA not for the fast path']]);
          // The fast path read-locked the VMA, refused it and unlocked it without walking or copying.
          const before = (e: Ev) => r.inside(e) && e.seq < fb[0]!.seq;
          expect(t.of('vma_start_read', 'monitor', (e) => before(e) && e.result === 'ok')).toHaveLength(1);
          expect(t.of('vma_end_read', 'monitor', before)).toHaveLength(1);
          for (const kind of ['pgtable_read', 'copy', 'folio_get'] as const) {
            expect(t.byTask('monitor').filter((e) => e.kind === kind && before(e))).toHaveLength(0);
          }
        }
        expectSlowPathOutcome(t, reqs);
      });
    }
  }
});
