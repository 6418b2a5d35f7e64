/**
 * `mmtrace new workload NAME` and `mmtrace new path NAME`: write a commented starting file for a
 * workload module or an access-path module (templates/), one that records as it is.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { errors } from '../errors.js';
import { isModuleRef } from '../modules/registry.js';
import { PATHS } from '../record/variants.js';
import { packageVersion, packageRoot } from '../version.js';
import { findWorkload } from '../workloads/index.js';
import { printJson, println } from './output.js';

export type ModuleKind = 'workload' | 'path';

/** A module name: a file name's stem, which also names its runs and its default trace file. */
function checkName(kind: ModuleKind, name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || isModuleRef(name)) {
    throw errors.usage(`'${name}' is not a ${kind} module name: use letters, digits, '.', '-' and '_', without a file ending (e.g. my-race)`);
  }
  if (kind === 'path' && (PATHS as readonly string[]).includes(name)) throw errors.usage(`'${name}' is a built-in path; choose another name for your path module`);
  if (kind === 'workload' && findWorkload(name)) throw errors.usage(`'${name}' is a built-in workload; choose another name for your workload module`);
}

/** The template with its placeholders filled in. */
function starter(kind: ModuleKind, name: string, out: string): string {
  const template = readFileSync(join(packageRoot(), 'templates', `${kind}.ts`), 'utf8');
  return template
    .replaceAll('__NAME__', name)
    .replaceAll('__FILE__', basename(out))
    .replaceAll('__DESCRIPTION__', `${name}: the fast path of patch 3/3 v1 (mmtrace ${packageVersion()}), to change`);
}

/** The commands that record and compare the new module. */
function nextSteps(kind: ModuleKind, name: string, out: string): string[] {
  const file = out.includes('/') ? out : `./${out}`;
  if (kind === 'workload') {
    return [`npx mmtrace record ${file} --path=gup,fast`, `npx mmtrace diff traces/${name}.db#gup traces/${name}.db#fast`];
  }
  return [
    `npx mmtrace record cross-vma-race --path=gup,${file} --out=traces/${name}.db`,
    `npx mmtrace diff traces/${name}.db#gup traces/${name}.db#${name}`,
  ];
}

export async function newCommand(kind: ModuleKind, name: string, o: { out?: string; json?: boolean }): Promise<void> {
  checkName(kind, name);
  const out = o.out ?? `${name}.ts`;
  if (!/\.(ts|mts)$/.test(out)) throw errors.usage(`--out=${out}: the starting file is TypeScript; give a file ending in .ts`);
  if (existsSync(out)) throw errors.usage(`${out} exists already; choose another --out, or remove it first`);
  try {
    writeFileSync(out, starter(kind, name, out), { flag: 'wx' });
  } catch (e) {
    throw errors.unwritable(out, (e as Error).message.split('\n')[0]!, e, `the ${kind} module`);
  }
  const next = nextSteps(kind, name, out);
  if (o.json) {
    printJson({ file: out, kind, name, next });
    return;
  }
  println(`${out}: a ${kind} module to start from; record it with:`);
  for (const command of next) println(`  ${command}`);
}
