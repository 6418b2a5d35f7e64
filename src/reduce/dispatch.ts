/**
 * Hands decoded events to reducers: each event decoded once (into an event object reused per kind)
 * and given to the reducers that fold its kind, in order. readRun() feeds it the file's blocks
 * (at()); the checkers' online sink feeds it the simulator's events as rows (row()) as they happen.
 */
import type { EventBlock } from '../trace/reader.js';
import { Decoder, KINDS, type RawRow } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

export class Dispatch {
  private readonly decoder: Decoder;
  private readonly byKind: Reducer[][];

  /** `names`: the run's interned names; the array may grow while rows come (an online run). */
  constructor(private readonly reducers: readonly Reducer[], names: readonly string[]) {
    this.decoder = new Decoder(names);
    this.byKind = reducersByKind(reducers);
  }

  /** Does any reducer fold this kind? (A caller building rows can skip the others.) */
  wants(code: number): boolean {
    return (this.byKind[code] ?? this.reducers).length > 0;
  }

  row(row: RawRow): void {
    const code = row[3];
    const targets = this.byKind[code] ?? this.reducers;
    // A kind no reducer folds is not even decoded.
    if (targets.length === 0) return;
    const e = this.decoder.view(row);
    for (let j = 0; j < targets.length; j++) targets[j]!.event(e, code);
  }

  /** row() of event i of a block, decoded from its columns (readRun's loop). */
  at(block: EventBlock, i: number): void {
    const code = block.kind[i]!;
    const targets = this.byKind[code] ?? this.reducers;
    if (targets.length === 0) return;
    const e = this.decoder.viewAt(block, i);
    for (let j = 0; j < targets.length; j++) targets[j]!.event(e, code);
  }
}

/**
 * The reducers each kind goes to, by kind code, in the order given (a reducer may rely on one
 * before it, as the diff's facts rely on the VMA map). A kind this build does not know goes to all.
 */
function reducersByKind(reducers: readonly Reducer[]): Reducer[][] {
  const table: Reducer[][] = [];
  for (const def of KINDS) table[def.kind] = reducers.filter((r) => r.kinds === undefined || r.kinds.includes(def.name));
  return table;
}
