/**
 * Device memory ("I/O memory"): page frames without a struct page that a driver owns
 * (request_mem_region, kernel/resource.c). Their bytes live here, not in a folio. User space
 * reaches them through the special PTEs remap_pfn_range() installs (the MMU: iomem_page), the
 * kernel through ioremap() (arch/x86/mm/ioremap.c). Not part of the replay model: nothing in it is
 * a folio, and what touches it (a target's loads and stores, ->access handlers) is traced by events
 * that carry no folio.
 */
import { emit } from '../../trace/vocab/index.js';
import { name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { kernel } from '../kernel.js';
import { PAGE_SIZE, pages } from './mm_types.js';

const WARN_IOREMAP_RAM = name('ioremap on RAM');

export interface IoMemRegion {
  readonly pfn: number;
  readonly nr_pages: number;
  readonly data: Uint8Array;
}

function iomem(): IoMemRegion[] {
  return kernel().subsystem('iomem', () => [] as IoMemRegion[]);
}

/** A device claims `nr_pages` fresh page frames, which hold `contents` (zero-padded). */
export function iomem_region_alloc(nr_pages: number, contents: Uint8Array): IoMemRegion {
  const data = new Uint8Array(nr_pages * PAGE_SIZE);
  data.set(contents.subarray(0, data.length));
  const region: IoMemRegion = { pfn: kernel().allocPfns(nr_pages), nr_pages, data };
  iomem().push(region);
  return region;
}

/**
 * The device memory of [page `pfn` + 0, + size), or null when the range is not (entirely) a
 * device's.
 */
function iomem_range(pfn: number, size: number): Uint8Array | null {
  const region = iomem().find((r) => pfn >= r.pfn && pfn < r.pfn + r.nr_pages);
  if (!region) return null;
  const start = (pfn - region.pfn) * PAGE_SIZE;
  if (start + size > region.data.length) return null;
  return region.data.subarray(start, start + size);
}

/**
 * ioremap_prot(phys, size) (arch/x86/mm/ioremap.c): a kernel view of device memory from page `pfn`
 * on, or null. The kernel refuses to remap RAM, with WARN_ONCE("ioremap on RAM at ...") -- once a
 * boot, so one warn event a run (the folio the frame belongs to, if any, is its object); with
 * panic_on_warn the machine would stop there. Every frame the model allocates is a folio's or a
 * device's, so a range that is not a device's is RAM.
 */
export function* ioremap(pfn: number, size: number): Gen<Uint8Array | null> {
  const mapped = iomem_range(pfn, size);
  if (mapped !== null) return mapped;
  const warned = kernel().subsystem('ioremap_warned', () => ({ ram: false }));
  if (!warned.ram) {
    warned.ram = true;
    yield emit.warn({ what: WARN_IOREMAP_RAM.id, obj: pages().get(pfn)?.id ?? 0 });
  }
  return null;
}

/** The bytes of device page `pfn` as the MMU reaches them through a PTE, or null when it is not device memory. */
export function iomem_page(pfn: number): Uint8Array | null {
  return iomem_range(pfn, PAGE_SIZE);
}
