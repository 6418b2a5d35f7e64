/**
 * `mmtrace explore WORKLOAD ...`: parse the flags, run the search (src/explore), print what it found
 * and the command that replays each violation. Exit 1 when a violation was found, 0 when none.
 */
import { parseCheckers } from '../check/index.js';
import { errors } from '../errors.js';
import { defaultExploreThreads, explore, parseSearchName, parseShard, type ExploreSummary } from '../explore/explore.js';
import { isModuleRef, moduleName } from '../modules/registry.js';
import { parsePairs, list, nonNegativeInt } from './record-command.js';
import { println, printJson } from './output.js';
import { counter } from './progress.js';

export interface ExploreFlags {
  path: string;
  variant: string;
  config: string[];
  param: string[];
  seed: string;
  seeds: string;
  strategy: string;
  checkers?: string;
  workers?: string;
  all?: boolean;
  keep?: string;
  shard?: string;
  maxEvents: string;
  starvationTicks?: string;
  json?: boolean;
}

function positive(flag: string, text: string): number {
  const n = nonNegativeInt(flag, text);
  if (n < 1) throw errors.usage(`${flag} must be at least 1, got '${text}'`);
  return n;
}

function summaryText(s: ExploreSummary): string[] {
  const lines = [
    `explore ${s.workload} on ${[s.path, ...s.variant].join('+')} (${s.strategy}): ${s.schedules} schedule(s), ${s.schedulesPerSec}/s, ${s.interleavings} distinct interleaving(s)${s.pruned ? `, ${s.pruned} pruned as equivalent` : ''}`,
    `covered: ${s.covered}`,
  ];
  const counts = Object.entries(s.violationsByChecker).map(([c, n]) => `${c} ×${n}`).join(', ');
  if (counts) lines.push(`violating schedules by checker: ${counts}`);
  if (s.violations.length === 0) lines.push('no violation');
  for (const v of s.violations) {
    lines.push(`violation: ${v.checker} (${v.severity})${v.seed !== null ? ` at seed ${v.seed}` : ''}: ${v.message}`);
    const budget = v.minimal ? '' : ', where shrinking stopped at its budget (not minimal)';
    lines.push(`  shrunk from ${v.foundWith} deviation(s) to ${v.deviations} (${v.preemptions} preemption(s)) in ${v.shrinkRuns} run(s)${budget}: --strategy=${v.schedule}`);
    if (v.replay) lines.push(`  kept as ${v.run}; replay it:`, `    ${v.replay}`);
  }
  return lines;
}

export async function exploreCommand(workload: string, o: ExploreFlags): Promise<void> {
  parseSearchName(o.strategy);
  const summary = await explore({
    target: {
      workload, path: o.path, variant: list(o.variant), params: parsePairs('--param', o.param), config: parsePairs('--config', o.config),
      seed: nonNegativeInt('--seed', o.seed), maxEvents: positive('--max-events', o.maxEvents),
      starvationTicks: o.starvationTicks === undefined ? undefined : positive('--starvation-ticks', o.starvationTicks),
      checkers: o.checkers === undefined ? undefined : parseCheckers(o.checkers),
    },
    strategy: o.strategy,
    schedules: positive('--seeds', o.seeds),
    all: o.all ?? false,
    workers: o.workers === undefined ? defaultExploreThreads() : positive('--workers', o.workers),
    shard: parseShard(o.shard),
    keep: o.keep === '' ? undefined : o.keep ?? `traces/explore-${isModuleRef(workload) ? moduleName(workload) : workload}.db`,
    onProgress: counter('explore', 'schedules'),
  });
  if (o.json) printJson(summary);
  else for (const line of summaryText(summary)) println(line);
  if (summary.violations.length > 0) process.exitCode = 1;
}
