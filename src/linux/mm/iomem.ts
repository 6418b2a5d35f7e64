/**
 * Device memory ("I/O memory"): page frames without a struct page that a driver owns
 * (request_mem_region, kernel/resource.c). Their bytes live here, not in a folio. User space
 * reaches them through the special PTEs remap_pfn_range() installs (the MMU: iomem_page), the
 * kernel through ioremap() (arch/x86/mm/ioremap.c). Not part of the replay model: nothing in it is
 * a folio, and what touches it (a target's loads and stores, ->access handlers) is traced by events
 * that carry no folio.
 */
import { kernel } from '../kernel.js';
import { PAGE_SIZE } from './mm_types.js';

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
 * ioremap_prot(phys, size): a kernel view of [pfn page + 0, + size) of device memory, or null when
 * the range is not (entirely) a device's -- ioremap refuses RAM, so that is -ENOMEM for the caller.
 */
export function ioremap(pfn: number, size: number): Uint8Array | null {
  const region = iomem().find((r) => pfn >= r.pfn && pfn < r.pfn + r.nr_pages);
  if (!region) return null;
  const start = (pfn - region.pfn) * PAGE_SIZE;
  if (start + size > region.data.length) return null;
  return region.data.subarray(start, start + size);
}

/** The bytes of device page `pfn` as the MMU reaches them through a PTE, or null when it is not device memory. */
export function iomem_page(pfn: number): Uint8Array | null {
  return ioremap(pfn, PAGE_SIZE);
}
