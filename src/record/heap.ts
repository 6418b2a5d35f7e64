/**
 * A full garbage collection every GC_EVERY events of a recording, so that a long recording's
 * resident set stays where a short one's is.
 *
 * What a recording's peak resident set measures is the top of the main thread's old generation:
 * V8 collects it only once it has grown to a multiple of what is live, and raises that multiple as
 * a run goes on. A recording of `scale` peaked at 180-215 MB over 10.5M events and at 243-246 MB
 * over 31M to 105M, all of the difference garbage the simulation had promoted and dropped
 * (docs/performance.md, "What the twentieth session's fidelity fixes cost"). A collection every
 * 2M events keeps 10.5M and 31M at 186 and 189 MB, for about 9 ms each: 1-2% of the recording's
 * time.
 *
 * Node offers no call for it without --expose-gc; the flag can be set at run time, after which a
 * new context has the function. Outside the simulation: a collection changes no event.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Events between two collections: a whole number of the simulation's progress calls (65536). */
export const GC_EVERY = 32 * 65536;

let collector: (() => void) | null | undefined;
let collections = 0;

/** V8's full collection, or null where it cannot be had. Looked up once. */
function gcFunction(): (() => void) | null {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      collector = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collector = null;
    }
  }
  return collector;
}

/** Collect the whole heap now. Returns whether it could. */
export function collectGarbage(): boolean {
  const gc = gcFunction();
  if (gc === null) return false;
  gc();
  collections++;
  return true;
}

/** How many collections this process has made (for the tests). */
export function garbageCollections(): number {
  return collections;
}

/** A progress hook for a run: collect whenever GC_EVERY more events have passed. */
export function collectEvery(): (seq: number) => void {
  let last = 0;
  return (seq) => {
    if (seq - last < GC_EVERY) return;
    last = seq;
    collectGarbage();
  };
}
