/**
 * `mmtrace check FILE[#RUN] [--json] [--starvation-ticks=N]`: run the checkers over recorded runs
 * (every run of the file, or the one named). Exit 1 when anything is reported.
 */
import { checkRun, DEFAULT_STARVATION_TICKS, parseCheckers, type Violation } from '../check/index.js';
import { errors } from '../errors.js';
import { openTrace, parseRunRef, type RunInfo } from '../trace/reader.js';
import { runStateNote } from '../trace/run-state.js';
import { println, printJson } from './output.js';

interface CheckedRun {
  run: string;
  status: string;
  violations: Violation[];
}

function starvationTicks(text: string | undefined): number {
  if (text === undefined) return DEFAULT_STARVATION_TICKS;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw errors.usage(`--starvation-ticks must be a positive integer, got '${text}'`);
  return n;
}

/** A violation as a few lines of text: what, where in the run, and each witness's stack. */
export function violationText(v: Violation): string[] {
  const lines = [`${v.checker} (${v.severity}): ${v.message}`];
  if (v.seqs.length > 0) lines.push(`  events ${v.seqs.join(', ')}`);
  for (const w of v.witnesses) {
    lines.push(`  #${w.seq} ${w.task}: ${w.what}`);
    if (w.stack.length > 0) lines.push(`      in ${w.stack.join(' > ')}`);
  }
  return lines;
}

export async function checkCommand(ref: string, o: { json?: boolean; starvationTicks?: string; checkers?: string }): Promise<void> {
  const options = { starvationTicks: starvationTicks(o.starvationTicks), checkers: o.checkers === undefined ? undefined : parseCheckers(o.checkers) };
  const { file, run: named } = parseRunRef(ref);
  const trace = await openTrace(file);
  try {
    const runs: RunInfo[] = named === undefined ? trace.listRuns() : [trace.resolveRun(named)];
    const checked: CheckedRun[] = runs.map((run) => {
      const note = runStateNote(`${file}#${run.name}`, run);
      if (note) process.stderr.write(`mmtrace: ${note}\n`);
      return { run: run.name, status: run.status, violations: checkRun(trace, run, options) };
    });
    const found = checked.some((c) => c.violations.length > 0);
    if (o.json) printJson({ file, runs: checked });
    else {
      for (const c of checked) {
        println(`${file}#${c.run}: ${c.violations.length === 0 ? 'no violations' : `${c.violations.length} violation(s)`}`);
        for (const v of c.violations) for (const line of violationText(v)) println(`  ${line}`);
      }
    }
    if (found) process.exitCode = 1;
  } finally {
    trace.close();
  }
}
