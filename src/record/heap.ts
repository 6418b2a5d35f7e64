/**
 * A recording bounds the growth of V8's heap, so that a long recording's resident set stays where a
 * short one's is.
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
 * sets the next one's limit at 1.2 times what survived it. And the young generation keeps the size
 * it has (--semi-space-growth-factor=1): Node 24's V8 grows it to two 67 MB halves over a long run,
 * which took a recording from 207.5 MB at 10.5M events to 375.1 at 105M, where Node 20's stops at
 * 34 MB. With both, the peak resident set (bench-rss.js): Node 20 171.8 MB at 10.5M events and
 * 171.8 at 105M; Node 24 189-190 and 211-226, its V8 heap flat at 54-57 MB from 20M to 61M events
 * (its peak comes early, with the old generation's first growth, before V8's first major
 * collection). 10.5M-event recordings in fresh processes: 371-397 ns an event on Node 20 (the young
 * generation's bound costs nothing measurable: 1.014 as fast in alternating pairs), 390-402 on
 * Node 24 (383-391 with the old generation's bound alone, 405-439 with the collection).
 *
 * Both flags are read at every collection, so they can be set at run time, and they are set back to
 * V8's defaults (0 and 2) when the run ends: a simulation the same process runs afterwards (the
 * bench's) is not affected. Either flag given to node itself is left alone, and the other is not
 * touched either. Outside the simulation: a collection changes no event.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation's growth while recording, in percent of what survived the last major collection. */
export const RECORDING_HEAP_GROWING_PERCENT = 20;

/** The flags a recording sets, with the value while it records and V8's default it puts back. */
const FLAGS: readonly { name: string; recording: number; after: number }[] = [
  { name: '--heap-growing-percent', recording: RECORDING_HEAP_GROWING_PERCENT, after: 0 },
  { name: '--semi-space-growth-factor', recording: 1, after: 2 },
];

let bounded = 0;

/** Did node's own command line set either flag (then the heap's sizing is the user's, and stays)? */
function givenToNode(): boolean {
  const options = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  return /--(heap[-_]growing[-_]percent|semi[-_]space[-_]growth[-_]factor)/.test(options);
}

function setAll(value: 'recording' | 'after'): void {
  for (const flag of FLAGS) setFlagsFromString(`${flag.name}=${flag[value]}`);
}

/** Run `record` with the heap's growth bounded (above); nested calls bound it once. */
export function withBoundedHeapGrowth<T>(record: () => T): T {
  if (givenToNode()) return record();
  if (bounded++ === 0) setAll('recording');
  try {
    return record();
  } finally {
    if (--bounded === 0) setAll('after');
  }
}

/** Is the growth bounded now (for the tests)? */
export function heapGrowthBounded(): boolean {
  return bounded > 0;
}
