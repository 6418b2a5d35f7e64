/** `mmtrace record`: parse the flags, call the recording service, print what it recorded. */
import { errors } from '../errors.js';
import { recordRuns } from '../record/record.js';
import { printJson, println } from './output.js';
import { progress } from './progress.js';

interface RecordFlags {
  undirected?: boolean;
  path: string;
  variant: string;
  seed: string;
  strategy: string;
  param: string[];
  config: string[];
  out?: string;
  name?: string;
  replace?: boolean;
  maxEvents?: string;
  maxBytes?: string;
  yes?: boolean;
  json?: boolean;
}

export function nonNegativeInt(flag: string, raw: string): number {
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v)) throw errors.usage(`${flag} must be a non-negative integer, got '${raw}'`);
  return v;
}

const BYTE_UNITS: Readonly<Record<string, number>> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/** A size in bytes: `1048576`, or a number with K, M, G or T (powers of 1000): `500M`, `1.5G`. */
export function byteSize(flag: string, raw: string): number {
  const m = /^(\d+)$|^(\d+(?:\.\d+)?)([kmgt])$/i.exec(raw);
  const bytes = !m ? NaN : m[1] !== undefined ? Number(m[1]) : Math.floor(Number(m[2]) * BYTE_UNITS[m[3]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw errors.usage(`${flag} takes a size in bytes such as 500M, 2G or 1048576, got '${raw}'`);
  return bytes;
}

export function parsePairs(flag: string, pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw errors.usage(`${flag} takes KEY=VALUE, got '${p}'`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

export function list(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export async function recordCommand(workload: string, o: RecordFlags): Promise<void> {
  const result = await recordRuns({
    workload,
    paths: list(o.path),
    variant: list(o.variant),
    seed: nonNegativeInt('--seed', o.seed),
    strategy: o.strategy,
    undirected: o.undirected,
    params: parsePairs('--param', o.param),
    config: parsePairs('--config', o.config),
    out: o.out,
    name: o.name,
    replace: o.replace,
    maxEvents: o.maxEvents === undefined ? undefined : nonNegativeInt('--max-events', o.maxEvents),
    maxBytes: o.maxBytes === undefined ? undefined : byteSize('--max-bytes', o.maxBytes),
    yes: o.yes,
    progress,
  });
  if (o.json) {
    printJson({
      file: result.file,
      runs: result.runs.map(({ name, id, events, finalHash, status, limit, requests }) => ({ name, id, events, finalHash, status, limit, requests })),
    });
    return;
  }
  for (const r of result.runs) {
    // A limited run says so in its status; any other outcome but 'done' (a deadlock) is noted.
    const note = r.limit !== null ? ` (${limitNote(r.limit, o)})` : r.outcome === 'done' ? '' : ` (${r.outcome})`;
    println(`${result.file}#${r.name}: ${r.events} events, ${r.requests} requests, final hash ${r.finalHash}, ${r.status}${note}`);
  }
}

/** What cut a limited run: the --max-events given, or --max-bytes at the event count it allowed. */
function limitNote(limit: number, o: RecordFlags): string {
  const byEvents = o.maxEvents !== undefined && Number(o.maxEvents) === limit;
  return byEvents || o.maxBytes === undefined ? `--max-events=${limit}` : `--max-bytes=${o.maxBytes}: cut at ${limit} events`;
}
