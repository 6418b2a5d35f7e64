/**
 * The determinism sandbox of workload and path modules. A run is a function of its header: the
 * same workload, options and seed must give the same log on any machine. Built-in workloads keep
 * that rule by review (nothing in src/sim, src/linux or src/workloads reads a clock); a module
 * loaded from a file is held to it here. While such a run goes, the clocks, random numbers and
 * timers of the global object are replaced by versions that refuse a call made from inside a
 * module's file -- a step, a directed gate's predicate -- with one line naming the module's
 * FILE:LINE. The same calls from mmtrace's own code around the simulation (a progress bar, the
 * time a snapshot takes) go through: a refusal is decided by who is on the stack, not by when.
 * I/O needs no guard here: a module cannot import node built-ins (modules/hooks.ts refuses them).
 */
import { errors } from '../errors.js';
import { moduleFault } from './load.js';
import { userFrame } from './stack.js';

/** A global function the sandbox refuses: its holder, its property, and what a user calls it. */
interface Refused {
  readonly holder: object;
  readonly key: string;
  readonly shown: string;
}

function refusedGlobals(): Refused[] {
  const list: Refused[] = [
    { holder: Date, key: 'now', shown: 'Date.now()' },
    { holder: performance, key: 'now', shown: 'performance.now()' },
    { holder: Math, key: 'random', shown: 'Math.random()' },
    { holder: process, key: 'hrtime', shown: 'process.hrtime()' },
    { holder: process, key: 'uptime', shown: 'process.uptime()' },
    { holder: process, key: 'cpuUsage', shown: 'process.cpuUsage()' },
    { holder: process, key: 'memoryUsage', shown: 'process.memoryUsage()' },
    { holder: globalThis.crypto, key: 'getRandomValues', shown: 'crypto.getRandomValues()' },
    { holder: globalThis.crypto, key: 'randomUUID', shown: 'crypto.randomUUID()' },
  ];
  for (const timer of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'fetch']) {
    list.push({ holder: globalThis, key: timer, shown: `${timer}()` });
  }
  return list;
}

/** Throw when a frame of the user's is on the stack: `what` was called from a module. */
function refuseFromModule(what: string): void {
  const at = userFrame(new Error());
  if (at === null) return;
  throw errors.module(at, `${what} is refused in a module: a run must be the same on every machine and every time `
    + '(use the virtual clock, sim sleeps and the seeded strategy; see docs/writing-workloads.md#determinism)');
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
  const saved: { holder: object; key: string; value: unknown }[] = [];
  const swap = (holder: object, key: string, value: unknown): void => {
    saved.push({ holder, key, value: Reflect.get(holder, key) });
    Reflect.set(holder, key, value);
  };
  const stackLimit = Error.stackTraceLimit;
  // Deep enough to reach the module's frame under the kernel functions it called.
  Error.stackTraceLimit = 200;
  try {
    for (const r of refusedGlobals()) {
      const original = Reflect.get(r.holder, r.key) as ((...args: unknown[]) => unknown) | undefined;
      if (typeof original !== 'function') continue;
      swap(r.holder, r.key, function (this: unknown, ...args: unknown[]) {
        refuseFromModule(r.shown);
        return original.apply(this, args);
      });
    }
    swap(globalThis, 'Date', guardedDate());
    return body();
  } finally {
    for (const s of saved.reverse()) Reflect.set(s.holder, s.key, s.value);
    Error.stackTraceLimit = stackLimit;
  }
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
