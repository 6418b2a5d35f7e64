/**
 * The code version stored in every run header: the package version plus a hash of the compiled
 * simulator, kernel model and workloads, so a re-execution can tell that the code changed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesHash, hashHex } from './trace/hash.js';

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = here;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(js|ts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

let cached: string | undefined;

/** The folder holding package.json: one level above src/, two above dist/src/. */
export function packageRoot(): string {
  for (const up of ['..', '../..']) {
    if (existsSync(join(here, up, 'package.json'))) return join(here, up);
  }
  return join(here, '..');
}

export function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
}

export function codeVersion(): string {
  if (cached) return cached;
  let h = 0;
  for (const dir of ['sim', 'linux', 'workloads']) {
    for (const f of files(join(srcRoot, dir))) h = (h * 31 + bytesHash(readFileSync(f))) >>> 0;
  }
  cached = `${packageVersion()}+${hashHex(h)}`;
  return cached;
}
