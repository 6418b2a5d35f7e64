/**
 * The review's switches of the series' fast path (kernel-spec §8.3), combinable, each with what it
 * changes. A kernel built with the fast path has a set of them; `variant()` asks for one.
 *
 * A leaf module, apart from kernel.ts: every `mmtrace` process lists the switches in its help, and
 * reaching them through the kernel model loaded the model and every workload (about 0.25 s of CPU)
 * in commands that run neither.
 */
export const VARIANTS = {
  singleVmaOnly: 'fall back unless the whole read lies in one VMA (Suren, Lorenzo, David)',
  checkFollAnon: 'honour FOLL_ANON: no file-backed reads for cmdline/environ (Usama; CVE-2018-1120)',
  touch: 'FOLL_TOUCH: folio_mark_accessed() like GUP (Usama)',
  irqOffWalk: 'keep IRQs disabled across folio_walk_start..end (v2)',
  waitForWriter: 'lock_vma_under_rcu_wait(): wait out a writer on mmap_lock, then retry (Dave Hansen)',
  vmaGup: 'GUP itself under the per-VMA lock (FAULT_FLAG_VMA_LOCK faults, RETRY falls back; reads and writes) (David)',
  redoWhole: 'a read the fast path stops part-way is read again, whole, under mmap_lock (mmtrace, for the mixed-vmas singleVmaOnly leaves)',
  redoIfWritten: 'as redoWhole, but a read keeps its fast part when no writer took mmap_lock since the fast path began (mmap_lock_speculate_try_begin/retry; mmtrace)',
} as const satisfies Record<string, string>;

export type Variant = keyof typeof VARIANTS;

export function isVariant(name: string): name is Variant {
  return Object.hasOwn(VARIANTS, name);
}

/** The variant switches named in `names` (a run header's list); an unknown name is an error. */
export function parseVariants(names: readonly string[]): Variant[] {
  return names.map((n) => {
    if (!isVariant(n)) throw new RangeError(`unknown variant '${n}' (variants: ${Object.keys(VARIANTS).join(', ')})`);
    return n;
  });
}
