/**
 * A recording bounds the growth of V8's old generation, so that a long recording's resident set
 * stays where a short one's is.
 *
 * What a recording's peak resident set measures is the top of the main thread's old generation:
 * V8 collects it only once it has grown to a multiple of what survived the last collection, and
 * raises that multiple as a run goes on. A recording promotes about 11 bytes an event that die
 * later (folios, a folio's page, the registries' tables), and a recording of `scale` peaked at
 * 180-215 MB over 10.5M events and at 243-246 MB over 31M to 105M (docs/performance.md, "What the
 * twentieth session's fidelity fixes cost").
 *
 * A full collection every 2M events kept it flat (186.9 MB at 10.5M, 196.0 at 105M), but each one
 * stops the simulation, takes both cores and leaves the writer worker behind: recording 10.5M events
 * in fresh processes took 404-417 ns an event with it and 371-381 without it.
 *
 * So instead, while a run records, V8's heap-growing factor is fixed at 1.2
 * (--heap-growing-percent=20): each major collection -- V8's own, marking concurrently as usual --
 * sets the next one's limit at 1.2 times what survived it. 190.6 MB at 10.5M events, 198.4 at 105M
 * (+4%). The flag is read at every collection, so it can be set at run time, and it is set back to
 * V8's own heuristic (0) when the run ends: a simulation the same process runs afterwards (the
 * bench's) is not affected. A --heap-growing-percent given to node itself is left alone.
 * Outside the simulation: a collection changes no event.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation's growth while recording, in percent of what survived the last major collection. */
export const RECORDING_HEAP_GROWING_PERCENT = 20;

const FLAG = '--heap-growing-percent';

let bounded = 0;

/** Did node's own command line set the factor (then it is the user's, and stays)? */
function givenToNode(): boolean {
  const options = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  return /--heap[-_]growing[-_]percent/.test(options);
}

/** Run `record` with the old generation's growth bounded (above); nested calls bound it once. */
export function withBoundedHeapGrowth<T>(record: () => T): T {
  if (givenToNode()) return record();
  if (bounded++ === 0) setFlagsFromString(`${FLAG}=${RECORDING_HEAP_GROWING_PERCENT}`);
  try {
    return record();
  } finally {
    if (--bounded === 0) setFlagsFromString(`${FLAG}=0`);
  }
}

/** Is the growth bounded now (for the tests)? */
export function heapGrowthBounded(): boolean {
  return bounded > 0;
}
