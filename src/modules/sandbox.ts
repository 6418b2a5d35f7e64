/**
 * The determinism sandbox of workload and path modules. A run is a function of its header: the
 * same workload, options and seed must give the same log on any machine. Built-in workloads keep
 * that rule by review (nothing in src/sim, src/linux or src/workloads reads a clock); a module
 * loaded from a file is held to it here. While such a run goes, the clocks, random numbers and
 * timers of the global object are replaced by versions that refuse a call made from inside a
 * module's file -- a step, a directed gate's predicate -- with one line naming the module's
 * FILE:LINE. The same calls from mmtrace's own code around the simulation (a progress bar, the
 * time a snapshot takes) go through: a refusal is decided by who is on the stack, not by when.
 * The guard also covers the module's top level while it is imported (a `Math.random()` there would
 * make every run differ as surely as one in a step).
 * I/O: a module cannot import Node's built-ins (modules/hooks.ts refuses them); the globals that
 * hand them out without an import (process.getBuiltinModule, process.binding) are refused here.
 */
import { errors } from '../errors.js';
import { moduleFault } from './load.js';
import { userFrame } from './stack.js';

/** A global function the sandbox refuses: its holder, its property, what a user calls it, and why. */
interface Refused {
  readonly holder: object;
  readonly key: string;
  readonly shown: string;
  readonly why: string;
}

const NOT_REPEATABLE = 'a run must be the same on every machine and every time '
  + '(use the virtual clock, sim sleeps and the seeded strategy; see docs/writing-workloads.md#determinism)';
const NO_IO = "a module may not reach Node's built-ins, as it may not import them "
  + '(a run must not depend on the machine it runs on; see docs/writing-workloads.md#determinism)';

function refusedGlobals(): Refused[] {
  const clocks: [object, string, string][] = [
    [Date, 'now', 'Date.now()'],
    [performance, 'now', 'performance.now()'],
    [Math, 'random', 'Math.random()'],
    [process, 'hrtime', 'process.hrtime()'],
    [process, 'uptime', 'process.uptime()'],
    [process, 'cpuUsage', 'process.cpuUsage()'],
    [process, 'memoryUsage', 'process.memoryUsage()'],
    [globalThis.crypto, 'getRandomValues', 'crypto.getRandomValues()'],
    [globalThis.crypto, 'randomUUID', 'crypto.randomUUID()'],
  ];
  for (const timer of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'fetch']) clocks.push([globalThis, timer, `${timer}()`]);
  // Node's built-ins without an import: getBuiltinModule('node:fs') (Node 20.16+), and the legacy
  // process.binding / process.dlopen that reach native code directly.
  const io: [object, string, string][] = ['getBuiltinModule', 'binding', 'dlopen'].map((key) => [process, key, `process.${key}()`]);
  return [
    ...clocks.map(([holder, key, shown]) => ({ holder, key, shown, why: NOT_REPEATABLE })),
    ...io.map(([holder, key, shown]) => ({ holder, key, shown, why: NO_IO })),
  ];
}

/** Throw when a frame of the user's is on the stack: `what` was called from a module. */
function refuseFromModule(what: string, why = NOT_REPEATABLE): void {
  const at = userFrame(new Error());
  if (at === null) return;
  throw errors.module(at, `${what} is refused in a module: ${why}`);
}

/** `new Date()` and `Date()` without arguments read the clock; a Date of a given time does not. */
function guardedDate(): DateConstructor {
  return new Proxy(Date, {
    construct(target, args, newTarget) {
      if (args.length === 0) refuseFromModule('new Date()');
      return Reflect.construct(target, args, newTarget) as object;
    },
    apply(target, thisArg, args) {
      refuseFromModule('Date()');
      return Reflect.apply(target, thisArg, args) as string;
    },
  });
}

/**
 * Run `body` with the globals guarded against calls from the user's files when `guarded` (the run
 * loaded a module), and put the originals back afterwards, whatever happens.
 */
export function inSandbox<T>(guarded: boolean, body: () => T): T {
  if (!guarded) return body();
  const restore = guardGlobals();
  try {
    return body();
  } finally {
    restore();
  }
}

/**
 * `inSandbox` around an asynchronous body: the import of a module, whose top level runs inside
 * it. mmtrace's own code that runs meanwhile is not refused (nothing of the user's on its stack).
 */
export async function inSandboxWhile<T>(body: () => Promise<T>): Promise<T> {
  const restore = guardGlobals();
  try {
    return await body();
  } finally {
    restore();
  }
}

/** Guards in force (an import awaited while another is, a run inside a guarded import's caller). */
let guards = 0;
/** Puts the originals back; set while guards > 0. */
let unguard: (() => void) | null = null;

/**
 * Replace the refused globals by guarded versions, or count one more user of those in place; the
 * function returned ends this use, and the last one puts the originals back. Counted rather than
 * nested, so that two guards that end out of order (two imports awaited at once) cannot leave a
 * guarded version behind as the "original".
 */
function guardGlobals(): () => void {
  if (guards++ === 0) unguard = swapGlobals();
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--guards === 0) {
      unguard!();
      unguard = null;
    }
  };
}

function swapGlobals(): () => void {
  const saved: { holder: object; key: string; value: unknown }[] = [];
  const stackLimit = Error.stackTraceLimit;
  const restore = (): void => {
    for (const s of saved.reverse()) Reflect.set(s.holder, s.key, s.value);
    Error.stackTraceLimit = stackLimit;
  };
  const swap = (holder: object, key: string, value: unknown): void => {
    saved.push({ holder, key, value: Reflect.get(holder, key) });
    Reflect.set(holder, key, value);
  };
  try {
    // Deep enough to reach the module's frame under the kernel functions it called.
    Error.stackTraceLimit = 200;
    for (const r of refusedGlobals()) {
      const original = Reflect.get(r.holder, r.key) as ((...args: unknown[]) => unknown) | undefined;
      if (typeof original !== 'function') continue;
      swap(r.holder, r.key, function (this: unknown, ...args: unknown[]) {
        refuseFromModule(r.shown, r.why);
        return original.apply(this, args);
      });
    }
    swap(globalThis, 'Date', guardedDate());
  } catch (e) {
    restore();
    throw e;
  }
  return restore;
}

/**
 * Run a simulation that may involve a module (`fromModule`): guarded by the sandbox, and a failure
 * in the module's own code told by its FILE:LINE (EMODULE). Any other error passes unchanged.
 */
export function runGuarded<T>(fromModule: boolean, run: () => T): T {
  try {
    return inSandbox(fromModule, run);
  } catch (e) {
    throw (fromModule ? moduleFault(e) : null) ?? e;
  }
}
