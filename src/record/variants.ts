/** The access paths a run can take, the review's switches of the fast path, and run names. */
import { errors } from '../errors.js';
import { isVariant, VARIANTS, type Variant } from '../linux/kernel.js';
import type { AccessPath } from '../workloads/workload.js';

export const PATHS: readonly AccessPath[] = ['gup', 'fast'];

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
export function checkVariant(variant: readonly string[], paths: readonly AccessPath[]): Variant[] {
  for (const v of variant) {
    if (!isVariant(v)) throw errors.usage(`unknown variant '${v}' (variants: ${Object.keys(VARIANTS).join(', ')})`);
  }
  if (variant.length > 0 && !paths.includes('fast')) {
    throw errors.usage('--variant switches change the fast path; record with --path=fast (or --path=gup,fast)');
  }
  return variant as Variant[];
}

export { VARIANTS, type Variant };
