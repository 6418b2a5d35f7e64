/**
 * Node module hooks for workload and path modules (registered with module.register by load.ts; they
 * run on Node's loader thread, so this file imports nothing of mmtrace's).
 *
 *  - `mmtrace/workload` and `mmtrace/linux` resolve to mmtrace's own API modules, by the very URLs
 *    mmtrace imports them through, from a module anywhere on disk: no node_modules needed beside
 *    it, and one instance of the kernel model for mmtrace and the module alike.
 *  - A module file (TypeScript or JavaScript) outside any package that says `"type": "module"` is
 *    loaded as an ES module anyway: modules are documented as ES modules, and a file in /tmp has no
 *    package.json to say so.
 *  - A module may not import Node's built-ins (fs, net, child_process, timers ...): a run is a
 *    function of its header, and I/O would make it depend on the machine (the sandbox guards the
 *    globals, this guards the imports).
 */
import { isBuiltin } from 'node:module';

export interface HookData {
  /** Specifier -> URL of mmtrace's API module. */
  aliases: Record<string, string>;
  /** URL prefixes of mmtrace's own code (its dist/ and src/ folders). */
  own: string[];
}

/** A specifier these hooks resolve, so a thread can tell whether they are registered in it. */
export const PROBE = 'mmtrace-module-hooks-probe';

/** The start of the message of a refused import; load.ts turns it into FILE:LINE. */
export const REFUSED_IMPORT = 'mmtrace refuses the import of';

let data: HookData = { aliases: {}, own: [] };

export function initialize(given: HookData): void {
  data = given;
}

/** A module file of the user's: a file URL outside mmtrace's code and outside node_modules. */
function isUserFile(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('file:') || url.includes('/node_modules/')) return false;
  return !data.own.some((prefix) => url.startsWith(prefix));
}

const MODULE_FILE = /\.(ts|mts|js|mjs)$/;

/**
 * The ES-module format for a CommonJS one. Node 22.18+ and 24 strip TypeScript's types themselves
 * and call a `.ts` file outside an ES-module package `commonjs-typescript`: loaded so, its imports
 * would go through require(), which these hooks do not see.
 */
const AS_MODULE: Readonly<Record<string, string>> = { 'commonjs': 'module', 'commonjs-typescript': 'module-typescript' };

interface ResolveContext {
  parentURL?: string;
}

interface Resolved {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}

type NextResolve = (specifier: string, context: ResolveContext) => Promise<Resolved>;

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<Resolved> {
  if (specifier === PROBE) return { url: 'data:text/javascript,', shortCircuit: true };
  const alias = data.aliases[specifier];
  if (alias !== undefined) return { url: alias, format: 'module', shortCircuit: true };
  if (isBuiltin(specifier) && isUserFile(context.parentURL)) {
    throw new Error(`${REFUSED_IMPORT} '${specifier}' in ${context.parentURL}`);
  }
  const resolved = await next(specifier, context);
  if (!MODULE_FILE.test(resolved.url) || !isUserFile(resolved.url)) return resolved;
  // Node 24 leaves the format to its load step (null here), where a .ts file outside an ES-module
  // package becomes `commonjs-typescript`: say `module` now, as on Node 20
  const format = resolved.format ?? 'commonjs';
  return AS_MODULE[format] ? { ...resolved, format: AS_MODULE[format] } : resolved;
}
