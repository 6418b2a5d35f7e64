/** Diff two recorded runs the way `mmtrace diff` does, minus the event streams; and read the result. */
import { diffRuns, type DiffReport } from '../../src/diff/diff.js';
import { runFacts } from '../../src/diff/facts.js';
import { openTrace } from '../../src/trace/reader.js';

export async function diffFiles(fileA: string, a: string, fileB: string, b: string): Promise<DiffReport> {
  const x = await openTrace(fileA);
  try {
    const y = fileB === fileA ? x : await openTrace(fileB);
    try {
      return diffRuns(runFacts(x, x.resolveRun(a)), runFacts(y, y.resolveRun(b)));
    } finally {
      if (y !== x) y.close();
    }
  } finally {
    x.close();
  }
}

/** The behaviour findings as `kind:run`, sorted, one per finding. */
export const kinds = (r: DiffReport) => r.findings.filter((f) => f.severity === 'behaviour').map((f) => `${f.kind}:${f.run}`).sort();
