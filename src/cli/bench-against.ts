/**
 * `mmtrace bench --against=DIR`: the bench of another checkout's build (DIR/dist, e.g. the commit
 * before a change), run in a child process with the same --events and the --skip names it knows,
 * so every figure can be given beside the other build's, measured on the same machine in the same
 * invocation. The other bench runs first, then this one (their parts are not interleaved).
 *
 * `--rounds=N` (N > 1) runs both benches N times, alternately (taking turns going first), each in
 * a fresh child process, and gives the median of every figure: on a machine whose speed drifts
 * from minute to minute, one run of each says little, the medians of alternating runs much more.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errors } from '../errors.js';

export interface Against {
  /** The other checkout's root, absolute. */
  dir: string;
  /** Its bench's --json document. */
  figures: Record<string, unknown>;
  /** This build's figure over the other's, for every number both report (the other's not 0). */
  ratios: Record<string, number>;
}

/** The other build's CLI; a DIR without one is a usage error, before anything is measured. */
export function againstCli(dir: string): string {
  const cli = join(resolve(dir), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw errors.usage(`--against=${dir}: no built mmtrace there (${cli} is missing; run npm run build in it)`);
  return cli;
}

/** The --skip names the other build's bench lists in its help (an older one may have none). */
function skipsKnownTo(cli: string, skip: readonly string[]): string[] {
  const help = spawnSync(process.execPath, [cli, 'bench', '--help'], { encoding: 'utf8' }).stdout ?? '';
  const described = optionHelp(help, '--skip');
  return skip.filter((name) => new RegExp(`\\b${name}\\b`).test(described));
}

/**
 * The help text of one option: its line and the lines its description wraps onto (commander
 * wraps to the terminal's width, so the names --skip takes can be on the second line).
 */
export function optionHelp(help: string, option: string): string {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(option));
  if (start < 0) return '';
  const wrapped = lines.slice(start + 1).findIndex((l) => !/^\s{4,}\S/.test(l));
  const end = wrapped < 0 ? lines.length : start + 1 + wrapped;
  return lines.slice(start, end).join(' ');
}

/** Run the other build's bench; its progress goes to our stderr, its figures come back. */
export function benchOf(dir: string, events: number, skip: readonly string[]): Record<string, unknown> {
  return benchChild(againstCli(dir), resolve(dir), events, skip, `--against=${dir}: its bench`);
}

/** This build's bench, in a child process of its own (a round of --rounds). */
export function ownBench(events: number, skip: readonly string[]): Record<string, unknown> {
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  return benchChild(cli, resolve(dirname(cli), '..', '..', '..'), events, skip, 'a round of this build\'s bench');
}

function benchChild(cli: string, root: string, events: number, skip: readonly string[], what: string): Record<string, unknown> {
  const known = skipsKnownTo(cli, skip);
  const args = [cli, 'bench', '--json', `--events=${events}`, ...(known.length > 0 ? [`--skip=${known.join(',')}`] : [])];
  // with this process's node options: the two builds' figures are of one node, run the same way
  const r = spawnSync(process.execPath, [...process.execArgv, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  try {
    if (r.status !== 0) throw new Error(`exit ${r.status}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch (e) {
    throw errors.usage(`${what} failed (${(e as Error).message})`);
  }
}

/**
 * Every figure's median over several benches of one build (the mean of the middle two for an even
 * count); a figure that is not a number in all of them (null: skipped) is the first's.
 */
export function medianFigures(docs: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, first] of Object.entries(docs[0] ?? {})) {
    const values = docs.map((d) => d[key]);
    out[key] = values.every((v): v is number => typeof v === 'number') ? median(values) : first;
  }
  return out;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const m = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return +m.toFixed(3);
}

/** now / old for every figure both give as a number; an old 0 has no ratio. */
export function ratios(now: Readonly<Record<string, unknown>>, old: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(now)) {
    const before = old[key];
    if (typeof value === 'number' && typeof before === 'number' && before !== 0) out[key] = +(value / before).toFixed(3);
  }
  return out;
}

/** Every figure of this build beside the other's, with the ratio: lines for the terminal. */
export function againstTable(now: Readonly<Record<string, unknown>>, against: Against): string[] {
  const keys = Object.keys(now);
  const width = Math.max(...keys.map((k) => k.length));
  const cell = (x: unknown) => (x === undefined ? '-' : String(x)).padStart(12);
  return [
    `against ${against.dir} (its bench ran first, in a child process)`,
    `${'figure'.padEnd(width)} ${cell('this build')} ${cell('against')} ${cell('ratio')}`,
    ...keys.map((k) => `${k.padEnd(width)} ${cell(now[k])} ${cell(against.figures[k])} ${cell(against.ratios[k])}`),
  ];
}
