/** The access paths a run can take, the review's switches of the fast path, and run names. */
import { didYouMean, errors } from '../errors.js';
import { isModuleRef } from '../modules/registry.js';
import { isVariant, VARIANTS, type Variant } from '../linux/variants.js';
import type { AccessPath } from '../workloads/workload.js';

export const PATHS: readonly AccessPath[] = ['gup', 'fast'];

/** Default run name: the path plus its variant switches (`gup`, `fast+singleVmaOnly`). */
export function runName(path: string, variant: readonly string[]): string {
  return [path, ...variant].join('+');
}

/**
 * A run name a user can give and later name in FILE#RUN: not empty, no '#' (it separates the file
 * from the run, and marks a replacement in progress), and not all digits (#N names run id N).
 */
export function checkRunName(name: string): string {
  if (name === '') throw errors.usage('a run name cannot be empty');
  if (name.includes('#')) throw errors.usage(`run name '${name}' contains '#', which separates FILE from RUN in FILE#RUN`);
  if (/^\d+$/.test(name)) throw errors.usage(`run name '${name}' is all digits, which FILE#RUN reads as a run id`);
  return name;
}

/** The paths named, each a known one or a path module's file (EUSAGE otherwise). */
export function checkPaths(paths: readonly string[]): string[] {
  if (paths.length === 0) throw errors.usage('--path needs at least one of: gup, fast, or a path module such as ./my-v2.ts');
  for (const p of paths) {
    if (!PATHS.includes(p as AccessPath) && !isModuleRef(p)) {
      throw errors.usage(`unknown path '${p}'${didYouMean(p, PATHS)} (paths: ${PATHS.join(', ')}, or a path module such as ./my-v2.ts)`);
    }
  }
  const repeated = paths.find((p, i) => paths.indexOf(p) !== i);
  if (repeated) throw errors.usage(`--path names ${repeated} twice: each path is recorded once per command`);
  return [...paths];
}

/** The variant switches named, each a known one and only beside the fast path (EUSAGE otherwise). */
export function checkVariant(variant: readonly string[], paths: readonly string[]): Variant[] {
  for (const v of variant) {
    if (!isVariant(v)) throw errors.usage(`unknown variant '${v}'${didYouMean(v, Object.keys(VARIANTS))} (variants: ${Object.keys(VARIANTS).join(', ')})`);
  }
  if (variant.length > 0 && !paths.includes('fast')) {
    throw errors.usage('--variant switches change the fast path; record with --path=fast (or --path=gup,fast)');
  }
  return variant as Variant[];
}

export { VARIANTS, type Variant };
