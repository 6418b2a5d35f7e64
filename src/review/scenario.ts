/**
 * One scenario of a review: the workload recorded on the candidate path and on gup, seed by seed,
 * into a file of its own; each pair diffed; and the figures the headline needs read off both runs.
 * It runs in a worker thread (worker.ts) or inline, so what goes in and out is plain data.
 */
import { diffTracesWithFacts, type Finding, type RunFacts } from '../diff/diff.js';
import { recordRuns } from '../record/record.js';
import { openTrace } from '../trace/reader.js';

/** The diff's check findings that can hold for both runs. */
const SHARED_CHECKS = ['use-after-free', 'warning', 'kernel-fault'];

export interface ScenarioJob {
  workload: string;
  /** gup's rival: fast, or a path module's file. */
  candidate: string;
  variant: string[];
  config: Record<string, string>;
  seeds: number[];
  /** The file this scenario records into (merged into the review's file afterwards). */
  file: string;
  /** Run names: `WORKLOAD/PATH/sSEED`. */
  names: { seed: number; gup: string; candidate: string }[];
}

/** What the headline is made of, for one run. */
export interface RunFigures {
  /** Ticks each monitor request waited (tasks named monitor...), in order. */
  monitorWaits: number[];
  mmapReadAcquisitions: number;
  /** The fast path's fall-backs to the mmap_lock path, by reason. */
  fallbacks: Record<string, number>;
}

export interface SeedResult {
  seed: number;
  gup: string;
  candidate: string;
  verdict: 'equivalent' | 'different';
  differences: string[];
  /** The behaviour findings (the ones that make runs differ). */
  findings: Finding[];
  /**
   * Check findings in both runs (a use-after-free, a warning, a kernel fault): no difference between
   * the paths, but a problem the candidate has, mainline too.
   */
  shared: string[];
  figures: { gup: RunFigures; candidate: RunFigures };
}

export interface ScenarioResult {
  workload: string;
  seeds: SeedResult[];
}

/** The headline's figures of a run, read off the facts its diff was made from (no pass of their own). */
export function runFigures(facts: RunFacts): RunFigures {
  const requests = [...facts.requests.values()];
  const fallbacks: Record<string, number> = {};
  for (const f of requests.flatMap((r) => r.fallbacks)) fallbacks[f.reason] = (fallbacks[f.reason] ?? 0) + 1;
  return {
    monitorWaits: requests.filter((r) => r.id.startsWith('monitor')).map((r) => r.waitTicks),
    mmapReadAcquisitions: facts.aggregates.lockAcquisitions['mmap_lock/read'] ?? 0,
    fallbacks,
  };
}

export async function reviewScenario(job: ScenarioJob): Promise<ScenarioResult> {
  for (const n of job.names) {
    const common = { workload: job.workload, seed: n.seed, strategy: 'random', params: {}, config: job.config, out: job.file, yes: true };
    await recordRuns({ ...common, paths: ['gup'], variant: [], name: n.gup });
    await recordRuns({ ...common, paths: [job.candidate], variant: job.variant, name: n.candidate });
  }
  const trace = await openTrace(job.file);
  try {
    const seeds: SeedResult[] = [];
    for (const n of job.names) {
      const gup = trace.resolveRun(n.gup);
      const candidate = trace.resolveRun(n.candidate);
      const { report, a, b } = await diffTracesWithFacts(trace, gup, trace, candidate);
      seeds.push({
        seed: n.seed, gup: n.gup, candidate: n.candidate, verdict: report.verdict, differences: report.differences,
        findings: report.findings.filter((f) => f.severity === 'behaviour'),
        shared: [...new Set(report.findings.filter((f) => f.run === 'both' && SHARED_CHECKS.includes(f.kind)).map((f) => f.kind))],
        figures: { gup: runFigures(a), candidate: runFigures(b) },
      });
    }
    return { workload: job.workload, seeds };
  } finally {
    trace.close();
  }
}
