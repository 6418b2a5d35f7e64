/**
 * Hands decoded events to reducers: each event decoded once (into an event object reused per kind)
 * and given to the reducers that fold its kind, in order. readRun() feeds it the file's blocks
 * (at()); the checkers' online sink feeds it the simulator's events as rows (row()) as they happen.
 */
import type { EventBlock } from '../trace/reader.js';
import { Decoder, KINDS, type RawRow } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';

/** A reducer's event(), bound to it. */
type Fold = Reducer['event'];

export class Dispatch {
  private readonly decoder: Decoder;
  /** Every reducer's fold, in order: what a kind this build does not know goes to. */
  private readonly all: Fold[];
  /** By kind code, the folds of the reducers that fold the kind. */
  private readonly byKind: Fold[][];

  /** `names`: the run's interned names; the array may grow while rows come (an online run). */
  constructor(reducers: readonly Reducer[], names: readonly string[]) {
    this.decoder = new Decoder(names);
    this.all = reducers.map(foldOf);
    this.byKind = foldsByKind(reducers, this.all);
  }

  /** Does any reducer fold this kind? (A caller building rows can skip the others.) */
  wants(code: number): boolean {
    return (this.byKind[code] ?? this.all).length > 0;
  }

  row(row: RawRow): void {
    const code = row[3];
    const targets = this.byKind[code] ?? this.all;
    // A kind no reducer folds is not even decoded.
    if (targets.length === 0) return;
    const e = this.decoder.view(row);
    for (let j = 0; j < targets.length; j++) targets[j]!(e, code);
  }

  /** row() of event i of a block, decoded from its columns (readRun's loop). */
  at(block: EventBlock, i: number): void {
    const code = block.kind[i]!;
    const targets = this.byKind[code] ?? this.all;
    if (targets.length === 0) return;
    const e = this.decoder.viewAt(block, i);
    for (let j = 0; j < targets.length; j++) targets[j]!(e, code);
  }
}

/**
 * A reducer's event() bound to it. The dispatch loop calls these rather than `r.event(...)`: its
 * reducers are of many classes, so loading `.event` there is a megamorphic property load per
 * reducer per event (a stub-cache probe), where a bound function is called directly.
 */
function foldOf(r: Reducer): Fold {
  return r.event.bind(r);
}

/**
 * The folds (`folds[i]` the fold of `reducers[i]`) each kind goes to, by kind code, in the order
 * given (a reducer may rely on one before it, as the diff's facts rely on the VMA map).
 */
function foldsByKind(reducers: readonly Reducer[], folds: readonly Fold[]): Fold[][] {
  const table: Fold[][] = [];
  for (const def of KINDS) table[def.kind] = folds.filter((_, i) => reducers[i]!.kinds === undefined || reducers[i]!.kinds!.includes(def.name));
  return table;
}
