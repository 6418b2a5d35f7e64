/**
 * A review as a reviewer pastes it into a reply: plain text within 72 columns (a command too long
 * for a line goes on with a shell continuation, so it still runs as pasted). The matrix of
 * scenarios, the headline figures of the candidate against gup, one line per problem in the
 * language of a review, and the command that reproduces each.
 */
import { percentile } from '../reduce/aggregates.js';
import type { Review, ScenarioReview } from './review.js';
import type { RunFigures } from './scenario.js';

export const WIDTH = 72;

/** What a finding or a checker's violation means, said as a reviewer says it. */
const PROBLEMS: Readonly<Record<string, string>> = {
  'mixed-vmas': 'reads spanning two VMAs can return data from VMAs that never coexisted',
  'foll-anon': 'cmdline and environ reads can return file-backed memory, which FOLL_ANON refuses (CVE-2018-1120)',
  'aging': 'reads skip FOLL_TOUCH: what they read is not marked accessed, so reclaim ages it as unused',
  'use-after-free': 'a page-table walk can take the lock of a page table after it was freed',
  'bytes': 'reads can return other bytes than mainline returns',
  'warning': 'a kernel warning fires that mainline does not hit',
  'kernel-fault': 'a kernel fault is taken that mainline does not take',
  'deadlock': 'tasks can deadlock where mainline does not',
  'request-missing': 'a read that completes on mainline does not complete',
  'lockdep': 'lockdep reports an inversion of the lock order',
  'lock-context': 'a lock is taken or held in a context that does not allow it',
  'refcount': 'a folio reference is leaked or dropped twice',
  'final-vmas': 'the address space ends with other VMAs than on mainline',
  'final-memory': 'memory ends with other contents than on mainline',
  'final-page-tables': 'the page tables end different from mainline',
  'final-refcounts': 'folio reference counts end different from mainline',
  'final-pte-aging': 'page-table entries end aged differently from mainline',
  'final-folio-state': 'folio flags or LRU lists end different from mainline',
};

/** The diff's name and the checker's name of one problem are one problem. */
const SAME_PROBLEM: Readonly<Record<string, string>> = { 'foll-anon-file-bytes': 'foll-anon' };

/**
 * Kinds that say how a scenario's bytes differ: where one of them is found, the diff's plain
 * `bytes` difference of the same scenario is its consequence, not another problem.
 */
const EXPLAINS_BYTES = ['mixed-vmas', 'foll-anon'];

export interface Problem {
  kind: string;
  sentence: string;
  /** Where it was seen first, and where else. */
  workload: string;
  seed: number | null;
  /** Preemptions in explore's shrunk schedule, when explore found it in that scenario too. */
  preemptions: number | null;
  /** Found by diff (the scenario's own schedule), by explore, or both. */
  from: ('diff' | 'explore')[];
  /** The commands that show it: the diff of the two runs, the replay of the kept violation. */
  reproduce: string[];
  alsoIn: string[];
  /** Mainline (gup) has it too: a problem of the scenario's config, not of the candidate alone. */
  onGupToo: boolean;
}

export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

export interface Headline {
  /** The monitors' request waits, per headline scenario in the review. */
  waits: { workload: string; gup: Percentiles; candidate: Percentiles }[];
  mmapReadAcquisitions: { gup: number; candidate: number };
  fallbacks: Record<string, number>;
}

/** The scenarios whose monitor waits the headline shows. */
export const WAIT_SCENARIOS = ['stuck-writer', 'cmdline-poll', 'scale'];

function percentiles(xs: number[]): Percentiles {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

function figuresOf(s: ScenarioReview, side: 'gup' | 'candidate'): RunFigures[] {
  return s.seeds.map((x) => x.figures[side]);
}

export function headline(r: Review): Headline {
  const waits = r.scenarios.filter((s) => WAIT_SCENARIOS.includes(s.workload)).map((s) => ({
    workload: s.workload,
    gup: percentiles(figuresOf(s, 'gup').flatMap((f) => f.monitorWaits)),
    candidate: percentiles(figuresOf(s, 'candidate').flatMap((f) => f.monitorWaits)),
  }));
  const sum = (side: 'gup' | 'candidate') => r.scenarios.flatMap((s) => figuresOf(s, side)).reduce((n, f) => n + f.mmapReadAcquisitions, 0);
  const fallbacks: Record<string, number> = {};
  for (const f of r.scenarios.flatMap((s) => figuresOf(s, 'candidate'))) {
    for (const [reason, n] of Object.entries(f.fallbacks)) fallbacks[reason] = (fallbacks[reason] ?? 0) + n;
  }
  return { waits, mmapReadAcquisitions: { gup: sum('gup'), candidate: sum('candidate') }, fallbacks };
}

/** `npx mmtrace diff` of a scenario's first differing seed. */
function diffCommand(r: Review, s: ScenarioReview, seed: number): string {
  const x = s.seeds.find((y) => y.seed === seed)!;
  return `npx mmtrace diff ${r.file}#${x.gup} ${r.file}#${x.candidate}`;
}

/** The problem a diff's finding or a checker's violation is (`foll-anon-file-bytes` is `foll-anon`). */
function problemKind(kind: string): string {
  return SAME_PROBLEM[kind] ?? kind;
}

/** One problem per kind, from the diffs first (they need no search), then from explore. */
export function problems(r: Review): Problem[] {
  const byKind = new Map<string, Problem>();
  const add = (found: { kind: string; workload: string; seed: number | null; preemptions: number | null; from: 'diff' | 'explore'; reproduce: string; onGupToo?: boolean }) => {
    const kind = problemKind(found.kind);
    const seen = byKind.get(kind);
    if (!seen) {
      byKind.set(kind, {
        kind, sentence: PROBLEMS[kind] ?? kind, workload: found.workload, seed: found.seed, preemptions: found.preemptions,
        from: [found.from], reproduce: [found.reproduce], alsoIn: [], onGupToo: found.onGupToo ?? false,
      });
    } else if (seen.workload === found.workload) {
      // the same problem in the same scenario, found the other way too
      if (!seen.from.includes(found.from)) seen.from.push(found.from), seen.reproduce.push(found.reproduce);
      seen.preemptions ??= found.preemptions;
    } else if (!seen.alsoIn.includes(found.workload)) seen.alsoIn.push(found.workload);
  };
  for (const s of r.scenarios) {
    for (const seed of s.seeds) {
      const explained = seed.differences.some((k) => EXPLAINS_BYTES.includes(problemKind(k)));
      for (const kind of seed.differences) {
        if (kind === 'bytes' && explained) continue;
        add({ kind, workload: s.workload, seed: seed.seed, preemptions: null, from: 'diff', reproduce: diffCommand(r, s, seed.seed) });
      }
      for (const kind of seed.shared) {
        add({ kind, workload: s.workload, seed: seed.seed, preemptions: null, from: 'diff', reproduce: diffCommand(r, s, seed.seed), onGupToo: true });
      }
    }
  }
  for (const s of r.scenarios) {
    for (const v of s.violations) {
      add({ kind: v.checker, workload: s.workload, seed: v.seed, preemptions: v.preemptions, from: 'explore', reproduce: v.replay });
    }
  }
  return [...byKind.values()];
}

/**
 * The kept violations of a problem in the scenarios other than the one it is told for: its
 * line names them only as "also", so the Reproduce section gives the command that replays each.
 */
function replaysElsewhere(r: Review, p: Problem): { workload: string; replay: string }[] {
  return r.scenarios
    .filter((s) => s.workload !== p.workload)
    .flatMap((s) => s.violations.filter((v) => problemKind(v.checker) === p.kind).map((v) => ({ workload: s.workload, replay: v.replay })));
}

/** A review finds nothing: every scenario equivalent, and explore found no violation. */
export function clean(r: Review): boolean {
  return r.scenarios.every((s) => s.verdict === 'equivalent' && s.violations.length === 0);
}

// --- text ------------------------------------------------------------------------------------------

/** Words of `text` in lines of at most `width` (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A command in lines of at most WIDTH, continued with ` \` as a shell reads it. */
export function commandLines(command: string, indent: string): string[] {
  const words = command.split(' ');
  const lines: string[] = [];
  let line = indent;
  for (const word of words) {
    const next = line.trim() === '' ? `${line}${word}` : `${line} ${word}`;
    if (next.length + 2 > WIDTH && line.trim() !== '') {
      lines.push(`${line} \\`);
      line = `${indent}  ${word}`;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

/** Columns of the matrix: scenario, verdict, behaviour findings, explore; cells wrap in place. */
const COLUMNS = [21, 11, 22, 18] as const;

function row(cells: string[]): string[] {
  const wrapped = cells.map((c, i) => wrap(c, COLUMNS[i]! - 1));
  const height = Math.max(1, ...wrapped.map((w) => w.length));
  return Array.from({ length: height }, (_, k) => wrapped.map((w, i) => (w[k] ?? '').padEnd(COLUMNS[i]!)).join('').trimEnd());
}

function exploreCell(s: ScenarioReview): string {
  if (s.explored === 0) return '-';
  if (s.violations.length === 0) return 'nothing found';
  return s.violations.map((v) => `${v.checker} (${v.preemptions}${v.minimal ? '' : '+'})`).join(', ');
}

function waitLine(label: string, p: Percentiles): string {
  return `    ${label.padEnd(20)}${String(p.p50).padStart(10)}${String(p.p99).padStart(12)}${String(p.max).padStart(12)}`;
}

/** A list item: its first line at two spaces, the rest at four, all within WIDTH. */
function item(text: string): string[] {
  return wrap(text, WIDTH - 4).map((l, i) => `${i ? '    ' : '  '}${l}`);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function reviewText(r: Review): string[] {
  const h = headline(r);
  const list = problems(r);
  const config = Object.entries(r.config).map(([k, v]) => `${k}=${v}`).join(' ') || 'the default config';
  const out: string[] = [];
  out.push(...wrap(`Review of ${r.candidate} against gup: ${plural(r.scenarios.length, 'scenario')}, ${r.seeds === 1 ? 'seed 1' : `seeds 1..${r.seeds}`}, `
    + `${r.explore > 0 ? `${r.explore} random schedules explored per scenario` : 'no exploration'}, ${config}. Every run is in ${r.file}.`, WIDTH));
  out.push('');
  out.push(...row(['scenario', 'verdict', 'behaviour', 'explore']));
  out.push('-'.repeat(WIDTH));
  for (const s of r.scenarios) out.push(...row([`${s.workload}${s.unordered ? '*' : ''}`, s.verdict, s.differences.join(', ') || '-', exploreCell(s)]));
  out.push('-'.repeat(WIDTH));
  out.push(...wrap('* unordered: only the seeded strategy orders its tasks, so the two paths may interleave them differently. (N): preemptions in the shrunk schedule; (N+): shrinking stopped at its budget, so fewer may do.', WIDTH));
  out.push('', `Headline, ${r.candidate} against gup:`);
  if (h.waits.length) {
    out.push('  monitor request wait, ticks       p50         p99         max');
    for (const w of h.waits) {
      out.push(`  ${w.workload}`, waitLine('gup', w.gup), waitLine(r.candidate, w.candidate));
    }
  }
  const { gup, candidate } = h.mmapReadAcquisitions;
  const avoided = gup - candidate;
  out.push(...item(`mmap_lock read acquisitions: gup ${gup}, ${r.candidate} ${candidate} (${avoided} avoided${gup > 0 ? `, ${Math.round((avoided / gup) * 100)}%` : ''})`));
  const reasons = Object.entries(h.fallbacks).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  out.push(...item(`fallbacks to mmap_lock by reason: ${reasons || 'none'}`));
  out.push('', list.length ? 'Problems:' : 'Problems: none found.');
  const unordered = new Set(r.scenarios.filter((s) => s.unordered).map((s) => s.workload));
  for (const p of list) {
    const where = [`${p.workload}${unordered.has(p.workload) ? '*' : ''}`, p.seed !== null ? `seed ${p.seed}` : null, p.preemptions !== null ? plural(p.preemptions, 'preemption') : null]
      .filter(Boolean).join(', ');
    const more = p.alsoIn.length === 0 ? '' : p.alsoIn.length <= 4
      ? `; also ${p.alsoIn.join(', ')}`
      : `; also ${p.alsoIn.slice(0, 3).join(', ')} and ${p.alsoIn.length - 3} more`;
    const gupToo = p.onGupToo ? '; gup too' : '';
    out.push(...item(`- ${p.sentence} (${where}${gupToo}${more})`));
  }
  if (list.length) {
    out.push('', 'Reproduce:');
    for (const p of list) {
      out.push(`  ${p.kind} on ${p.workload} (${p.from.join(', ')}):`, ...p.reproduce.flatMap((c) => commandLines(c, '    ')));
      for (const e of replaysElsewhere(r, p)) out.push(`  ${p.kind} on ${e.workload} (explore):`, ...commandLines(e.replay, '    '));
    }
  }
  return out;
}
