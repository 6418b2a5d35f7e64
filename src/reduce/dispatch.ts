/**
 * Hands events to reducers: each event decoded once (into an event object reused per kind) and
 * given to the reducers that fold its kind, in order, then handed undecoded to the column reducers.
 * readRun() feeds it the file's blocks (at()); the checkers' online sink feeds it the simulator's
 * events as they happen (event()).
 */
import { makeBlock, type EventBlock } from '../trace/reader.js';
import { Decoder, KINDS, kindByName } from '../trace/vocab/index.js';
import { readsColumns, type ColumnReducer, type Reducer } from './reducer.js';

/** A reducer's event(), bound to it. */
type Fold = Reducer['event'];
/** A column reducer's column(), bound to it. */
type ColumnFold = ColumnReducer['column'];

export class Dispatch {
  private readonly decoder: Decoder;
  /** Every decoding reducer's fold, in order: what a kind this build does not know goes to. */
  private readonly all: Fold[];
  /** By kind code, the folds of the decoding reducers that fold the kind. */
  private readonly byKind: Fold[][];
  /** The column reducers' folds, in order: every event goes to each. */
  private readonly columns: ColumnFold[];
  /** event()'s event as a block of one, for the column reducers (allocated once, when there are any). */
  private readonly oneEvent: EventBlock | undefined;

  /** `names`: the run's interned names; the array may grow while rows come (an online run). */
  constructor(reducers: readonly (Reducer | ColumnReducer)[], names: readonly string[]) {
    this.decoder = new Decoder(names);
    const decoding = reducers.filter((r): r is Reducer => !readsColumns(r));
    this.all = decoding.map(foldOf);
    this.byKind = foldsByKind(decoding, this.all);
    this.columns = reducers.filter(readsColumns).map((r) => r.column.bind(r));
    this.oneEvent = this.columns.length > 0 ? makeBlock(1) : undefined;
  }

  /** Does any reducer fold this kind? (A caller building rows can skip the others.) */
  wants(code: number): boolean {
    return this.columns.length > 0 || (this.byKind[code] ?? this.all).length > 0;
  }

  /** An event as the simulator hands it to a sink (the checkers' online sink). */
  event(
    seq: number, tick: number, tid: number, code: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    const targets = this.byKind[code] ?? this.all;
    // A kind no decoding reducer folds is not even decoded.
    if (targets.length > 0) {
      const e = this.decoder.viewOf(seq, tick, tid, code, a, b, c, d, data);
      for (let j = 0; j < targets.length; j++) targets[j]!(e, code);
    }
    if (this.columns.length > 0) this.eventToColumns(seq, tick, tid, code, a, b, c, d, data);
  }

  /** event() of event i of a block, from its columns (readRun's loop). */
  at(block: EventBlock, i: number): void {
    const code = block.kind[i]!;
    const targets = this.byKind[code] ?? this.all;
    if (targets.length > 0) {
      const e = this.decoder.viewAt(block, i);
      for (let j = 0; j < targets.length; j++) targets[j]!(e, code);
    }
    const columns = this.columns;
    for (let j = 0; j < columns.length; j++) columns[j]!(block, i, code);
  }

  /** An event to the column reducers, as event 0 of a block of one. */
  private eventToColumns(
    seq: number, tick: number, tid: number, code: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): void {
    const block = this.oneEvent!;
    block.firstSeq = seq;
    block.count = 1;
    block.tick[0] = tick;
    block.tid[0] = tid;
    block.kind[0] = code;
    block.a[0] = a;
    block.b[0] = b;
    block.c[0] = c;
    block.d[0] = d;
    // clear() makes a new table even when the map is empty: only when there is something to clear
    if (data) block.data.set(0, data);
    else if (block.data.size > 0) block.data.clear();
    for (let j = 0; j < this.columns.length; j++) this.columns[j]!(block, 0, code);
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
 * The folds (`folds[i]` the fold of `reducers[i]`, or the reducer's own fold of the kind) each kind
 * goes to, by kind code, in the order given (a reducer may rely on one before it, as the diff's
 * facts rely on the VMA map).
 */
function foldsByKind(reducers: readonly Reducer[], folds: readonly Fold[]): Fold[][] {
  // reducer by reducer, each onto its kinds' lists: explore makes a sink per schedule, and searching
  // every reducer's kind list for every kind was 4% of `explore cross-vma-race`
  const table: Fold[][] = [];
  for (const def of KINDS) table[def.kind] = [];
  reducers.forEach((r, i) => {
    for (const code of kindCodes(r)) table[code]!.push(r.foldOf?.(code) ?? folds[i]!);
  });
  return table;
}

/** The codes of the kinds a reducer folds, each once: a name given twice, or unknown here, adds nothing. */
function kindCodes(r: Reducer): Set<number> {
  if (r.kinds === undefined) return new Set(KINDS.map((def) => def.kind));
  const codes = new Set<number>();
  for (const name of r.kinds) {
    const def = kindByName(name);
    if (def !== undefined) codes.add(def.kind);
  }
  return codes;
}
