/** The access paths a run can take, the review's switches of the fast path, and run names. */
import { errors } from '../errors.js';
import type { AccessPath } from '../workloads/workload.js';

export const PATHS: readonly AccessPath[] = ['gup', 'fast'];

/** The review's switches of the fast path (kernel-spec §8.3), combinable. */
export const VARIANTS: Readonly<Record<string, string>> = {
  singleVmaOnly: 'fall back unless the whole read lies in one VMA (Suren, Lorenzo, David)',
  checkFollAnon: 'honour FOLL_ANON: no file-backed reads for cmdline/environ (Usama; CVE-2018-1120)',
  touch: 'FOLL_TOUCH: folio_mark_accessed() like GUP (Usama)',
  irqOffWalk: 'keep IRQs disabled across folio_walk_start..end (v2)',
  waitForWriter: 'lock_vma_under_rcu_wait(): wait out a writer on mmap_lock, then retry (Dave Hansen)',
  vmaGup: 'GUP itself under the per-VMA lock (FAULT_FLAG_VMA_LOCK faults, RETRY falls back; reads and writes) (David)',
};

/** Default run name: the path plus its variant switches (`gup`, `fast+singleVmaOnly`). */
export function runName(path: string, variant: readonly string[]): string {
  return [path, ...variant].join('+');
}

/** The paths named, each a known one (EUSAGE otherwise). */
export function checkPaths(paths: readonly string[]): AccessPath[] {
  if (paths.length === 0) throw errors.usage('--path needs at least one of: gup, fast');
  for (const p of paths) {
    if (!PATHS.includes(p as AccessPath)) throw errors.usage(`unknown path '${p}' (paths: ${PATHS.join(', ')})`);
  }
  return paths as AccessPath[];
}

/** The variant switches named, each a known one and only beside the fast path (EUSAGE otherwise). */
export function checkVariant(variant: readonly string[], paths: readonly AccessPath[]): void {
  for (const v of variant) {
    if (!(v in VARIANTS)) throw errors.usage(`unknown variant '${v}' (variants: ${Object.keys(VARIANTS).join(', ')})`);
  }
  if (variant.length > 0 && !paths.includes('fast')) {
    throw errors.usage('--variant switches change the fast path; record with --path=fast (or --path=gup,fast)');
  }
}
