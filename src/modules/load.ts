/**
 * Workload and access-path modules loaded from a file: `mmtrace record ./my-race.ts`,
 * `--path=./my-v2.ts`. A module is an ES module (TypeScript through tsx, or JavaScript) whose
 * default export is a workload, or a path (docs/writing-workloads.md, docs/writing-a-path.md).
 *
 * A module is named in a run header by its absolute path, and the header keeps the SHA-256 of its
 * source: re-execution (replay --verify, explore's workers, the keep run) loads the same file
 * again and refuses one that is missing or changed, in one line naming it.
 *
 * Loaded modules are kept per thread (an explore worker loads its own), by absolute path.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { basename, extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { didYouMean, errors, MmtraceError } from '../errors.js';
import { PROBE, REFUSED_IMPORT, type HookData } from './hooks.js';
import { userFrame } from './stack.js';
import { UnyieldedCall } from '../sim/task.js';

/** The file name endings a module may have. */
export const MODULE_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.js', '.mjs'];

/**
 * Does a WORKLOAD or --path argument name a module file rather than a built-in? Built-in names
 * have no '/' and no file ending, so `./x.ts`, `/tmp/x.ts` and `x.ts` are all files.
 */
export function isModuleRef(arg: string): boolean {
  return arg.includes('/') || MODULE_EXTENSIONS.includes(extname(arg));
}

/** A module's name: its file name without the ending (`my-v2.ts` -> `my-v2`). */
export function moduleName(file: string): string {
  return basename(file, extname(file));
}

/** The public API modules a module imports, by specifier. */
const API: Readonly<Record<string, URL>> = {
  'mmtrace/workload': new URL('../api/workload.js', import.meta.url),
  'mmtrace/linux': new URL('../api/linux.js', import.meta.url),
};

/** A module file as a run header records it: where it is and what it held. */
export interface ModuleSource {
  /** Absolute path. */
  file: string;
  /** SHA-256 of the source, hex. */
  sha256: string;
}

/** What a run recorded of a module, to load it again: which run, for the messages. */
export interface Expected {
  sha256: string;
  run: string;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The module's source, checked against what a run recorded (missing or changed: EMODULE). */
export function readModuleSource(ref: string, expected?: Expected): { source: ModuleSource; text: string } {
  const file = resolve(ref);
  const recorded = expected ? `; run ${expected.run} was recorded with it (sha256 ${expected.sha256.slice(0, 12)})` : '';
  if (!existsSync(file)) throw errors.module(file, `no such module file${recorded}`);
  if (!statSync(file).isFile()) throw errors.module(file, 'is not a file; a module is a .ts, .mts, .js or .mjs file');
  const bytes = readFileSync(file);
  const source = { file, sha256: sha256(bytes) };
  if (expected && expected.sha256 !== source.sha256) {
    throw errors.module(file, `changed since run ${expected.run} was recorded (sha256 ${expected.sha256.slice(0, 12)} then, `
      + `${source.sha256.slice(0, 12)} now); restore that version, or record the run again`);
  }
  return { source, text: bytes.toString('utf8') };
}

/** The registration of this thread's hooks, once started (every later load waits for it). */
let registration: Promise<void> | undefined;

/** Are the hooks registered in this thread (inherited by a worker on Node versions that do so)? */
function hooksPresent(): boolean {
  try {
    import.meta.resolve(PROBE);
    return true;
  } catch {
    return false;
  }
}

/** tsx for TypeScript, and the hooks that resolve mmtrace's API (hooks.ts), once per thread. */
function registerHooks(): Promise<void> {
  registration ??= registerOnce();
  return registration;
}

async function registerOnce(): Promise<void> {
  if (hooksPresent()) return;
  const { register: registerTsx } = await import('tsx/esm/api');
  // Not the caller's tsconfig.json: a module compiles the same whatever folder mmtrace runs in.
  registerTsx({ tsconfig: false });
  const own = [new URL('..', import.meta.url).href];
  const data: HookData = { aliases: Object.fromEntries(Object.entries(API).map(([k, url]) => [k, url.href])), own };
  register(new URL('./hooks.js', import.meta.url), { data });
}

/** Import a module file (source already read), turning a load failure into one FILE:LINE line. */
export async function importModule(file: string, text: string): Promise<Record<string, unknown>> {
  await registerHooks();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw await loadError(file, text, e);
  }
}

/** The 1-based line of the first line of `text` matching `test`, or 1. */
export function lineOf(text: string, test: (line: string) => boolean): number {
  const at = text.split('\n').findIndex(test);
  return at < 0 ? 1 : at + 1;
}

/** The source of a file the module imports (to find a line in it), or ''. */
function sourceOf(file: string, mainFile: string, mainText: string): string {
  if (file === mainFile) return mainText;
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Why a module did not load, as one FILE:LINE line. */
async function loadError(file: string, text: string, e: unknown): Promise<MmtraceError> {
  if (e instanceof MmtraceError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  // tsx (esbuild): "Transform failed with 1 error:\n/tmp/x.ts:2:18: ERROR: Unexpected ..."
  const transform = /^(\/.*?):(\d+):\d+: ERROR: (.*)$/m.exec(err.message);
  if (err.name === 'TransformError' && transform) return errors.module(`${transform[1]}:${transform[2]}`, `syntax error: ${transform[3]}`, e);
  const missing = /The requested module '(.*)' does not provide an export named '(.*)'/.exec(err.message);
  if (missing) return missingExport(missing[1]!, missing[2]!, err, e);
  if (err.message.startsWith(REFUSED_IMPORT)) return refusedImport(err, file, text, e);
  const notFound = /^Cannot find (?:module|package) '(.*?)' imported from (.*)$/m.exec(err.message);
  if (notFound) {
    const importer = notFound[2]!.startsWith('file:') ? fileURLToPath(notFound[2]!) : notFound[2]!;
    const wanted = basename(notFound[1]!).replace(/\.[^.]*$/, '');
    const line = lineOf(sourceOf(importer, file, text), (l) => /\b(import|from)\b/.test(l) && l.includes(wanted));
    return errors.module(`${importer}:${line}`, `cannot import '${notFound[1]}': no such file or package (a module imports mmtrace/workload, mmtrace/linux and files of its own)`, e);
  }
  if (err.name === 'SyntaxError') return errors.module(await syntaxErrorAt(file, text), `syntax error: ${err.message}`, e);
  const at = userFrame(err) ?? `${file}:1`;
  return errors.module(at, `the module threw while loading: ${err.name}: ${firstLine(err.message)}`, e);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}

/** An import of a name the API does not export: an unknown syscall or kernel function. */
async function missingExport(specifier: string, name: string, err: Error, cause: unknown): Promise<MmtraceError> {
  // Node puts "FILE:LINE" of the import statement on the first line of the stack.
  const head = /^(?:file:\/\/)?(\/.*):(\d+)$/m.exec(err.stack ?? '');
  const where = head ? `${head[1]}:${head[2]}` : specifier;
  const api = API[specifier];
  const known = api ? Object.keys((await import(api.href)) as object) : [];
  return errors.module(where, `${specifier} has no export '${name}'${didYouMean(name, known)}`, cause);
}

/** A module importing one of Node's built-ins (hooks.ts refuses it). */
function refusedImport(err: Error, file: string, text: string, cause: unknown): MmtraceError {
  const m = /'(.*)' in (file:\S+)/.exec(err.message);
  const specifier = m?.[1] ?? '?';
  const importer = m ? fileURLToPath(m[2]!) : file;
  const line = lineOf(sourceOf(importer, file, text), (l) => l.includes(`'${specifier}'`) || l.includes(`"${specifier}"`));
  return errors.module(`${importer}:${line}`, `imports '${specifier}': a module may import mmtrace/workload, mmtrace/linux and files `
    + "of its own, not Node's built-ins (a run must not depend on the machine it runs on)", cause);
}

/**
 * FILE:LINE of a JavaScript syntax error, which Node reports without a position when a module is
 * imported: esbuild parses the source again to find it.
 */
async function syntaxErrorAt(file: string, text: string): Promise<string> {
  const { transform } = await import('esbuild');
  try {
    await transform(text, { loader: extname(file).endsWith('ts') ? 'ts' : 'js', format: 'esm', sourcefile: file });
  } catch (e) {
    const line = (e as { errors?: { location?: { line: number } | null }[] }).errors?.[0]?.location?.line;
    if (line !== undefined) return `${file}:${line}`;
  }
  return `${file}:1`;
}

/**
 * A rejection nobody awaited, as FILE:LINE of the module when it is the module's: an `import()` in
 * a step (a step cannot await it, and the hooks refuse a built-in only once the step is over), or
 * a promise of the module's own that failed. Null when it is not the module's.
 */
export function moduleRejection(e: unknown): MmtraceError | null {
  if (e instanceof Error && e.message.startsWith(REFUSED_IMPORT)) return refusedImport(e, '', '', e);
  return moduleFault(e);
}

/**
 * A failure inside a run that loaded a module, as FILE:LINE of the module when the error came
 * from the user's code (a throw in boot, a gate predicate that throws, a kernel function called
 * with nonsense); null when no frame of the user's is on its stack (an error of mmtrace's own).
 */
export function moduleFault(e: unknown): MmtraceError | null {
  if (e instanceof MmtraceError) return e.code === 'EMODULE' ? e : null;
  const at = userFrame(e);
  // Found by the scheduler once the step ended: the module's code is off the stack by then, and
  // the message names the task whose code made the call.
  if (at === null && e instanceof UnyieldedCall) return errors.module(`task ${e.task ?? '?'}`, e.detail, e);
  if (at === null) return null;
  const err = e as Error;
  return errors.module(at, `the module threw: ${err.name}: ${firstLine(err.message)}`, e);
}
