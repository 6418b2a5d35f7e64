/**
 * The code version stored in every run header: the package version plus a hash of the compiled
 * simulator, kernel model and workloads, so a re-execution can tell that the code changed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

export function packageVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      return JSON.parse(readFileSync(join(here, up, 'package.json'), 'utf8')).version as string;
    } catch {
      // try the next level (dist/src vs src)
    }
  }
  return '0.0.0';
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
