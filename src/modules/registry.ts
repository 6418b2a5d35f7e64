/**
 * Workloads and access paths by what the command line or a run header names: a built-in by name
 * (`cross-vma-race`, `fast`), or a module by file (`./my-race.ts`, `./my-v2.ts`), loaded, checked
 * for the shape its kind needs, and kept for this thread.
 */
import { errors } from '../errors.js';
import type { AccessRemoteVmHook } from '../linux/mm/access_remote_fast.js';
import { findWorkload, WORKLOADS } from '../workloads/index.js';
import type { Gen } from '../sim/task.js';
import type { ParamSpec, Workload } from '../workloads/workload.js';
import { inSandboxWhile } from './sandbox.js';
import { importModule, isModuleRef, lineOf, moduleName, readModuleSource, type Expected, type ModuleSource } from './load.js';

export { isModuleRef, moduleName, type Expected, type ModuleSource };

/** A workload, and the module it came from (null: built in). */
export interface WorkloadChoice {
  workload: Workload;
  source: ModuleSource | null;
}

/**
 * An access path: `gup`, `fast`, or a path module, whose hook the kernel is built with in place of
 * the series' fast path.
 */
export interface PathChoice {
  /** What the run header stores: `gup`, `fast`, or the module's absolute path. */
  header: string;
  /** The run's default name: `gup`, `fast`, or the module's name (`my-v2`). */
  name: string;
  hook: AccessRemoteVmHook | null;
  source: ModuleSource | null;
}

/** What a path module default-exports (mmtrace/linux's AccessPathModule). */
interface PathExport {
  description: string;
  access_remote_vm_fast_hook: AccessRemoteVmHook;
}

const workloadModules = new Map<string, WorkloadChoice>();
const pathModules = new Map<string, PathChoice>();

/** Load a module (once per thread and file), its source checked against `expected`. */
async function loadDefault(ref: string, expected: Expected | undefined): Promise<{ source: ModuleSource; exported: unknown; text: string }> {
  const { source, text } = readModuleSource(ref, expected);
  // the module's top level runs in the import: it is held to the sandbox's rules as its steps are
  const module = await inSandboxWhile(() => importModule(source.file, text));
  return { source, exported: module.default, text };
}

/** FILE:LINE of the module's `export default`, or line 1 when it has none. */
function defaultExportAt(file: string, text: string): string {
  return `${file}:${lineOf(text, (l) => /\bexport\s+default\b/.test(l))}`;
}

/** Why a default export is not a workload, or null when it is one. */
function notAWorkload(w: Record<string, unknown>): string | null {
  if (typeof w.boot !== 'function') return 'its boot is not a function (boot(ctx) is a generator: function* boot(ctx) { ... })';
  if (w.description !== undefined && typeof w.description !== 'string') return 'its description is not a string';
  if (w.schedule !== undefined && typeof w.schedule !== 'function') return 'its schedule is not a function';
  if (w.params !== undefined && (typeof w.params !== 'object' || w.params === null)) return 'its params is not an object';
  for (const [key, spec] of Object.entries((w.params ?? {}) as Record<string, Partial<ParamSpec>>)) {
    if (typeof spec?.default !== 'number' && typeof spec?.default !== 'string') {
      return `its parameter '${key}' has no default (use intParam(default, min, max, description))`;
    }
  }
  return null;
}

/**
 * The workload a module exported, as mmtrace runs it: the name defaults to the file's, and every
 * method is called on the module's own object (a class instance keeps its `this`).
 */
function asWorkload(given: Workload, file: string, exportAt: string): Workload {
  return {
    name: typeof given.name === 'string' && given.name !== '' ? given.name : moduleName(file),
    description: given.description ?? '',
    params: given.params ?? {},
    unordered: given.unordered,
    schedule: given.schedule && ((ctx) => given.schedule!(ctx)),
    checkParams: given.checkParams && ((params) => given.checkParams!(params)),
    estimateEvents: given.estimateEvents && ((params) => given.estimateEvents!(params)),
    // A boot that is not a generator function would fail inside the simulator, far from the module.
    *boot(ctx) {
      const steps: Partial<Gen> | undefined = given.boot(ctx);
      if (typeof steps?.next !== 'function') {
        throw errors.module(exportAt, 'boot() returned no generator: write it as *boot(ctx) { ... } (its steps yield* kernel functions)');
      }
      return yield* steps as Gen;
    },
  };
}

const WORKLOAD_SHAPE = 'a workload module must `export default` a workload: { name, description, params, boot, schedule? } (see docs/writing-workloads.md)';
const PATH_SHAPE = 'a path module must `export default` { description, access_remote_vm_fast_hook } (see docs/writing-a-path.md)';

/** The workload a module file default-exports (EMODULE when it is not one). */
export async function loadWorkloadModule(ref: string, expected?: Expected): Promise<WorkloadChoice> {
  const { source, exported, text } = await loadDefault(ref, expected);
  const known = workloadModules.get(source.file);
  if (known) return known;
  if (exported === undefined) throw errors.module(`${source.file}:1`, `no default export; ${WORKLOAD_SHAPE}`);
  const w = exported as Record<string, unknown>;
  if (typeof w?.access_remote_vm_fast_hook === 'function') {
    throw errors.module(defaultExportAt(source.file, text), 'this is a path module: give it as --path=FILE, with a workload');
  }
  const why = typeof exported !== 'object' || exported === null ? 'the default export is not an object' : notAWorkload(w);
  if (why) throw errors.module(defaultExportAt(source.file, text), `${why}; ${WORKLOAD_SHAPE}`);
  const choice = { workload: asWorkload(w as unknown as Workload, source.file, defaultExportAt(source.file, text)), source };
  workloadModules.set(source.file, choice);
  return choice;
}

/** The access path a module file default-exports (EMODULE when it is not one). */
export async function loadPathModule(ref: string, expected?: Expected): Promise<PathChoice> {
  const { source, exported, text } = await loadDefault(ref, expected);
  const known = pathModules.get(source.file);
  if (known) return known;
  if (exported === undefined) throw errors.module(`${source.file}:1`, `no default export; ${PATH_SHAPE}`);
  const p = exported as Partial<PathExport> | null;
  if (typeof (p as { boot?: unknown } | null)?.boot === 'function') {
    throw errors.module(defaultExportAt(source.file, text), 'this is a workload module: give it as the WORKLOAD, with --path=gup, fast or a path module');
  }
  if (typeof p?.access_remote_vm_fast_hook !== 'function') {
    throw errors.module(defaultExportAt(source.file, text), `the default export has no access_remote_vm_fast_hook function; ${PATH_SHAPE}`);
  }
  const hook = p.access_remote_vm_fast_hook.bind(p);
  const choice = { header: source.file, name: moduleName(source.file), hook, source };
  pathModules.set(source.file, choice);
  return choice;
}

/** A built-in workload by name, or a module by file. */
export async function chooseWorkload(ref: string, expected?: Expected): Promise<WorkloadChoice> {
  if (isModuleRef(ref)) return loadWorkloadModule(ref, expected);
  const workload = findWorkload(ref);
  if (!workload) throw errors.unknownWorkload(ref, WORKLOADS.map((w) => w.name));
  return { workload, source: null };
}

/** A built-in path by name (one record/variants.ts's checkPaths accepted), or a path module by file. */
export async function choosePath(ref: string, expected?: Expected): Promise<PathChoice> {
  if (isModuleRef(ref)) return loadPathModule(ref, expected);
  return { header: ref, name: ref, hook: null, source: null };
}

/** The modules of a run, as its header's `modules` column stores them: absolute path -> SHA-256. */
export function moduleHashes(...sources: (ModuleSource | null)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sources) if (s) out[s.file] = s.sha256;
  return out;
}


/** What a run header says of its workload, path and modules. */
export interface RunModulesHeader {
  name: string;
  workload: string;
  path: string;
  modules: Readonly<Record<string, string>>;
}

/**
 * Load the modules a recorded run names, each checked against the source the run recorded (a file
 * missing or changed since: EMODULE naming it), so that runOf() can find them.
 */
export async function loadRunModules(run: RunModulesHeader): Promise<void> {
  if (isModuleRef(run.workload)) await loadWorkloadModule(run.workload, { sha256: run.modules[run.workload] ?? '', run: run.name });
  if (isModuleRef(run.path)) await loadPathModule(run.path, { sha256: run.modules[run.path] ?? '', run: run.name });
}

/**
 * The workload and path of a recorded run: built-ins by name, modules as loadRunModules() loaded
 * them; undefined workload when the run names a built-in this build does not have.
 */
export function runOf(run: RunModulesHeader): { workload: WorkloadChoice | undefined; path: PathChoice } {
  const workload = isModuleRef(run.workload) ? workloadModules.get(run.workload) : builtIn(run.workload);
  const path = isModuleRef(run.path) ? pathModules.get(run.path) : { header: run.path, name: run.path, hook: null, source: null };
  if (isModuleRef(run.workload) && !workload) throw new Error(`module ${run.workload} of run ${run.name} was not loaded (loadRunModules first)`);
  if (!path) throw new Error(`module ${run.path} of run ${run.name} was not loaded (loadRunModules first)`);
  return { workload, path };
}

function builtIn(name: string): WorkloadChoice | undefined {
  const workload = findWorkload(name);
  return workload && { workload, source: null };
}
