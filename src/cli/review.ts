/**
 * `mmtrace review [--path=fast|FILE] [--variant=...] [--config K=V]... [--seeds=N] [--explore=N]
 * [--workloads=a,b] [--out=FILE] [--workers=N] [--json]`: the candidate path against gup across the
 * scenario library (src/review). Exit 0 only when every scenario is equivalent and explore found
 * nothing; 1 otherwise.
 */
import { availableParallelism } from 'node:os';
import { errors } from '../errors.js';
import { isModuleRef, moduleName } from '../modules/registry.js';
import { clean, headline, problems, reviewText } from '../review/report.js';
import { review } from '../review/review.js';
import { runName } from '../record/variants.js';
import { println, printJson } from './output.js';
import { progress, type Progress } from './progress.js';
import { list, nonNegativeInt, parsePairs } from './record-command.js';

export interface ReviewFlags {
  path: string;
  variant: string;
  config: string[];
  seeds: string;
  explore: string;
  workloads?: string;
  out?: string;
  workers?: string;
  json?: boolean;
}

function positive(flag: string, text: string): number {
  const n = nonNegativeInt(flag, text);
  if (n < 1) throw errors.usage(`${flag} must be at least 1, got '${text}'`);
  return n;
}

export async function reviewCommand(o: ReviewFlags): Promise<void> {
  const variant = list(o.variant);
  const name = runName(isModuleRef(o.path) ? moduleName(o.path) : o.path, variant);
  // one bar over the whole review, made when the number of steps is known
  let shown: Progress | null = null as Progress | null;
  let result;
  try {
    result = await review({
      path: o.path, variant, config: parsePairs('--config', o.config),
      seeds: positive('--seeds', o.seeds), explore: nonNegativeInt('--explore', o.explore),
      workloads: o.workloads === undefined ? null : list(o.workloads),
      out: o.out ?? `traces/review-${name.replace(/\+/g, '-')}.db`,
      workers: o.workers === undefined ? availableParallelism() : positive('--workers', o.workers),
      onProgress: (done, total) => (shown ??= progress('review', total, 'steps')).update(done),
    });
  } finally {
    shown?.stop();
  }
  if (o.json) printJson({ ...result, headline: headline(result), problems: problems(result), clean: clean(result) });
  else for (const line of reviewText(result)) println(line);
  if (!clean(result)) process.exitCode = 1;
}
