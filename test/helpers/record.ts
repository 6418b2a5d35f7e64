/**
 * Recording a trace file for a test's setup, in this process: the same code `mmtrace record` runs
 * (recordRuns), given the same arguments, without a Node process per recording. A child process
 * costs about 0.8 s of CPU (start-up, module loading, the writer thread) against 0.15 s for the
 * recording itself, and the diff and query tests record a few hundred files. Tests of the record
 * command itself still run the CLI (test/cli.test.ts, test/record-*.test.ts).
 *
 * A run recorded here carries the code version of src/ (codeVersion() hashes the files it runs
 * from), not of dist/: the CLI's re-execution of it (`replay --engine=reexec`, `--verify`) warns
 * that the kernel model changed. Tests of that keep recording with the CLI (test/replay-cli.test.ts).
 */
import { list as commaList, parsePairs } from '../../src/cli/record-command.js';
import { recordRuns, type RecordOptions, type RecordResult } from '../../src/record/record.js';

/**
 * `mmtrace record WORKLOAD ARGS...` in this process. ARGS are the CLI's flags (`--path=gup,fast`,
 * `--param k=v` or `--param=k=v`, `--config`, `--variant`, `--seed`, `--strategy`, `--undirected`,
 * `--out`, `--name`, `--replace`, `--max-events`); any other flag is refused, so a test cannot
 * silently record something else than it says.
 */
export async function recordHere(workload: string, args: string[] = []): Promise<RecordResult> {
  const flags: Record<string, string[]> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const takesValue = ['--param', '--config'].includes(arg);
    const flag = takesValue ? arg : eq < 0 ? arg : arg.slice(0, eq);
    const value = takesValue ? args[++i]! : eq < 0 ? '' : arg.slice(eq + 1);
    (flags[flag] ??= []).push(value);
  }
  const one = (flag: string) => flags[flag]?.at(-1);
  const list = (flag: string) => commaList(one(flag) ?? '');
  const known = ['--path', '--variant', '--seed', '--strategy', '--undirected', '--param', '--config', '--out', '--name', '--replace', '--max-events'];
  const unknown = Object.keys(flags).filter((f) => !known.includes(f));
  if (unknown.length > 0) throw new Error(`recordHere: flags it does not take: ${unknown.join(', ')}`);
  const opts: RecordOptions = {
    workload,
    paths: flags['--path'] ? list('--path') : ['gup'],
    variant: list('--variant'),
    seed: Number(one('--seed') ?? 1),
    strategy: one('--strategy') ?? 'random',
    undirected: flags['--undirected'] !== undefined,
    params: parsePairs('--param', flags['--param'] ?? []),
    config: parsePairs('--config', flags['--config'] ?? []),
    out: one('--out'),
    name: one('--name'),
    replace: flags['--replace'] !== undefined,
    maxEvents: one('--max-events') === undefined ? undefined : Number(one('--max-events')),
  };
  return recordRuns(opts);
}

/** The fast path's switches the review asked for, and the name of a run recorded with them. */
export const FIXES = 'singleVmaOnly,checkFollAnon,touch';
export const FIXED = `fast+${FIXES.split(',').join('+')}`;

/**
 * WORKLOAD recorded into FILE three times, as the diff tests compare it: on gup and on fast as
 * posted (runs `gup`, `fast`), and on fast with every fix (run FIXED). ARGS: more record flags.
 */
export async function recordWithFixes(workload: string, file: string, seed = 1, args: string[] = []): Promise<string> {
  for (const paths of [['--path=gup,fast'], ['--path=fast', `--variant=${FIXES}`]]) {
    await recordHere(workload, [...paths, ...args, `--seed=${seed}`, `--out=${file}`]);
  }
  return file;
}
