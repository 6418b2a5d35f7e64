/** The workload registry. */
import { cmdlinePoll } from './cmdline-poll.js';
import { crossVmaRace } from './cross-vma-race.js';
import { dax1g } from './dax.js';
import { dontneedRace } from './dontneed-race.js';
import { mixed } from './mixed.js';
import { processExit } from './process-exit.js';
import { privateDevice } from './private-device.js';
import { lamEnable } from './lam-enable.js';
import { reclaimAging } from './reclaim-aging.js';
import { fatalSignal } from './fatal-signal.js';
import { fileCmdline } from './file-cmdline.js';
import { hugetlbShare } from './hugetlb-share.js';
import { ioFault } from './io-fault.js';
import { khugepagedCollapse } from './khugepaged-collapse.js';
import { migrationRace } from './migration-race.js';
import { neverTouched } from './never-touched.js';
import { scale } from './scale.js';
import { specialVmas } from './special-vmas.js';
import { stuckWriter } from './stuck-writer.js';
import { swapCmdline } from './swap-cmdline.js';
import { ipiVsRcu, thpRead } from './thp.js';
import { mprotectRace, munmapDuringRead, readerBlocksWriter, vmaMerge } from './vma-races.js';
import { vmaReuse } from './vma-reuse.js';
import { didYouMean } from '../errors.js';
import type { ParamSpec, ParamValue, Workload } from './workload.js';

/** Every workload: the demo and benchmark mixes, then the race scenarios in the order docs/semantics.md describes them. */
export const WORKLOADS: readonly Workload[] = [
  cmdlinePoll, scale, mixed,
  crossVmaRace, // §12.1
  fileCmdline, // §12.2
  reclaimAging, // §12.3
  dontneedRace, khugepagedCollapse, // §12.4
  stuckWriter, ioFault, // §12.5 (and mmap_lock across I/O)
  vmaMerge, // §12.6
  munmapDuringRead, // §12.7
  vmaReuse, // §12.8
  neverTouched, migrationRace, swapCmdline, // §12.9 (and §12.12's migration entry, issue 11's swap)
  mprotectRace, // §12.10
  specialVmas, hugetlbShare, privateDevice, // §12.11
  thpRead, dax1g, // §12.12 (and PUD leaves)
  ipiVsRcu, // §12.13
  fatalSignal, // §12.14
  lamEnable, // §12.15
  readerBlocksWriter, // §12.16
  processExit, // §4.1
];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}

/**
 * Defaults overlaid with the user's values. A numeric value is a plain decimal integer (no sign,
 * spaces, exponent or hex: the same rule as --seed) within the parameter's declared bounds, and the
 * workload's own constraint between parameters holds; anything else is refused (RangeError).
 */
export function resolveParams(w: Workload, given: Record<string, string>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, spec] of Object.entries(w.params)) out[k] = spec.default;
  for (const [k, raw] of Object.entries(given)) {
    const spec = w.params[k];
    if (!spec) throw new RangeError(`workload ${w.name} has no parameter '${k}'${didYouMean(k, Object.keys(w.params))} (parameters: ${Object.keys(w.params).join(', ') || 'none'})`);
    out[k] = typeof spec.default === 'number' ? paramInt(k, spec, raw) : raw;
  }
  const broken = w.checkParams?.(out);
  if (broken) throw new RangeError(`${w.name}: ${broken}`);
  return out;
}

function paramInt(key: string, spec: ParamSpec, raw: string): number {
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`parameter ${key} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return v;
}
