/**
 * private-device (kernel-spec §12.11, §5.4, §6.3, §8.1): a private, writable device mapping.
 * remap_pfn_range() maps the frames with the VMA's own protection (read-only in a private mapping,
 * no dirty bit) and sets vm_pgoff to the first pfn. The target's load reaches device memory through
 * the special PTE (no folio); its store faults, and wp_page_copy copies the page through its user
 * address into a new anonymous folio. Remote reads: generic_access_phys copies from the device,
 * physically contiguous from the first page (so the copied page reads as the device's bytes), and
 * refuses a read that starts in the copied page (ioremap of RAM: -ENOMEM, 0 bytes).
 */
import { describe, expect, it } from 'vitest';
import { entry_pfn, pte_dirty, pte_special, pte_write } from '../src/linux/arch/x86/include/pgtable_types.js';
import { EFAULT, ENOMEM } from '../src/linux/include/errno.js';
import { PAGE_SIZE, VM_IO, VM_PFNMAP } from '../src/linux/mm/mm_types.js';
import { USER_ACCESS_IO } from '../src/trace/vocab/index.js';
import { CROSSING_OFFSET, DEVICE_PAGES, LOAD_LEN, READ_LEN, STORED, privateDevice } from '../src/workloads/private-device.js';
import { IO_AREA, deviceBytes } from '../src/workloads/special-vmas.js';
import { runTrace, type Trace } from './helpers/harness.js';

const ROUNDS = privateDevice.params.rounds!.default as number;
const DEVICE = deviceBytes(DEVICE_PAGES);
const SECOND_PAGE = IO_AREA + PAGE_SIZE;

function run(path: 'gup' | 'fast', seed = 1): Trace {
  const t = runTrace(privateDevice, { seed, path });
  expect(t.result.outcome).toBe('done');
  // ioremap() of the copied page's frame: WARN_ONCE, so one warning however many reads it refuses.
  expect(t.of('warn').map((e) => [t.taskName(e.tid), e.what])).toEqual([['monitor', 'ioremap on RAM']]);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

/** The device PTEs remap_pfn_range installed: [addr, value]. */
function devicePtes(t: Trace): [number, number][] {
  return t.of('pgtable_set', 'target/0', (e) => t.isMap(e) && pte_special(e.value) && e.addr >= IO_AREA && e.addr < IO_AREA + DEVICE_PAGES * PAGE_SIZE)
    .map((e) => [e.addr, e.value]);
}

describe('private-device: remap_pfn_range of a private mapping', () => {
  it('maps the frames read-only and clean (vm_page_prot), and vm_pgoff becomes the first pfn', () => {
    const t = run('gup');
    const ptes = devicePtes(t);
    expect(ptes.map(([a]) => a)).toEqual([IO_AREA, SECOND_PAGE]);
    for (const [, v] of ptes) {
      expect(pte_write(v)).toBe(false);
      expect(pte_dirty(v)).toBe(false);
    }
    const firstPfn = entry_pfn(ptes[0]![1]);
    expect(entry_pfn(ptes[1]![1])).toBe(firstPfn + 1);
    const adjusted = t.of('vma_adjust', 'target/0');
    expect(adjusted.map((e) => [e.start, e.end, e.pgoff])).toEqual([[IO_AREA, IO_AREA + DEVICE_PAGES * PAGE_SIZE, firstPfn]]);
    // The COW check and vm_pgoff come before vm_flags_set(), as in the kernel.
    const flags = t.of('vma_flags', 'target/0');
    expect(flags).toHaveLength(1);
    expect(flags[0]!.new & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
    expect(adjusted[0]!.seq).toBeLessThan(flags[0]!.seq);
  });
});

describe('private-device: the target', () => {
  it('loads the device bytes through the special PTE: no fault, no folio', () => {
    const t = run('gup');
    const load = t.of('user_access', 'target/0', (e) => !e.write);
    expect(load.map((e) => [e.addr, e.len, e.folio])).toEqual([[IO_AREA, LOAD_LEN, USER_ACCESS_IO]]);
    expect(t.of('fault', 'target/0', (e) => e.addr === IO_AREA)).toHaveLength(0);
  });

  it('a store copies the page through its user address into a new anonymous folio, and lands there; the device keeps its bytes', () => {
    const t = run('gup');
    expect(t.of('fault', 'target/0').map((e) => [e.addr, e.how, e.result])).toEqual([[SECOND_PAGE, 'do_wp_page:copy', 0]]);
    // __wp_page_copy_user without a source page: the device's second page, whole, into the new folio.
    const copies = t.of('copy_to_folio', 'target/0');
    expect(copies.map((e) => [e.addr, e.len])).toEqual([[SECOND_PAGE, PAGE_SIZE]]);
    expect(copies[0]!.data).toEqual(DEVICE.subarray(PAGE_SIZE, 2 * PAGE_SIZE));
    const newFolio = copies[0]!.folio;
    // wp_page_copy emits no folio_copy for it: that event copies from a folio (or the zero page).
    expect(t.of('folio_copy', 'target/0', (e) => e.dst === newFolio)).toHaveLength(0);
    const store = t.of('user_access', 'target/0', (e) => e.write);
    expect(store.map((e) => [e.addr, e.folio])).toEqual([[SECOND_PAGE, newFolio]]);
    expect(store[0]!.data).toEqual(STORED);
    // The new PTE maps the folio, writable and dirty: no longer special.
    const pfn = t.of('folio_alloc', 'target/0', (e) => e.folio === newFolio)[0]!.pfn;
    const remapped = t.of('pgtable_set', 'target/0', (e) => e.addr === SECOND_PAGE && t.isMap(e) && !pte_special(e.value));
    expect(remapped.map((e) => [entry_pfn(e.value), pte_write(e.value), pte_dirty(e.value)])).toEqual([[pfn, true, true]]);
  });
});

describe('private-device: the monitor reads it remotely', () => {
  for (const path of ['gup', 'fast'] as const) {
    it(`${path}: the read into the copied page gets the device's bytes; one from it gets nothing (-ENOMEM)`, () => {
      const t = run(path);
      const reqs = t.requests('monitor');
      expect(reqs.map((r) => [r.op, r.addr, r.result])).toEqual(Array.from({ length: ROUNDS }, () => [
        ['access_process_vm', IO_AREA + CROSSING_OFFSET, READ_LEN], ['access_process_vm', SECOND_PAGE, 0],
      ]).flat());
      for (let r = 0; r < ROUNDS; r++) {
        const [crossing, copied] = [reqs[2 * r]!, reqs[2 * r + 1]!];
        // Physically contiguous from the first page: the part in the copied page is the device's.
        expect(crossing.data).toEqual(DEVICE.subarray(CROSSING_OFFSET, CROSSING_OFFSET + READ_LEN));
        expect(crossing.data.subarray(PAGE_SIZE - CROSSING_OFFSET)).not.toEqual(STORED.subarray(0, READ_LEN - (PAGE_SIZE - CROSSING_OFFSET)));
        // GUP refuses the VMA; ->access finds the anonymous page's pfn, and ioremap refuses RAM.
        expect(t.of('gup_error', 'monitor', copied.inside).map((e) => [e.addr, e.errno])).toEqual([[SECOND_PAGE, EFAULT]]);
        const returned = t.of('call_exit', 'monitor', (e) => copied.inside(e) && e.fn === 'generic_access_phys').map((e) => e.ret);
        expect(returned).toEqual([-ENOMEM]);
      }
      const warned = t.of('warn')[0]!;
      expect(reqs[1]!.inside(warned)).toBe(true);
    });
  }
});
