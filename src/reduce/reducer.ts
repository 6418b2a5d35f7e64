/**
 * A reducer folds one concept out of a run's decoded events: where the VMAs are, how long tasks
 * wait, which request each task has in flight. Every consumer (replay's aggregates, the diff, and
 * later the browser and the checkers) plugs the same reducers into one readRun() loop, so they all
 * report the same figures from the same rules.
 *
 * Events come from Decoder.view(): an object reused for every event of its kind, valid until the
 * next event of that kind. A reducer copies what it keeps; it never holds on to the event.
 */
import type { EventBlock } from '../trace/reader.js';
import { kindByName, type EventOf, type KindName, type TraceEvent } from '../trace/vocab/index.js';

export interface Reducer {
  /** `code`: the event's kind code, for reducers that keep tables by kind (an array index). */
  event(e: TraceEvent, code: number): void;
  /**
   * The kinds the reducer folds; readRun() hands it only those (undefined: every event). A reducer
   * that sees a few kinds out of a run of millions is then not called for the rest.
   */
  readonly kinds?: readonly KindName[];
  /**
   * The reducer's fold of one kind, when it has one per kind (reducerOf): the dispatch then calls
   * that directly, where event() would look it up again for every event.
   */
  readonly foldOf?: (code: number) => ((e: TraceEvent, code: number) => void) | undefined;
}

/**
 * A reducer that reads each event from the store's columns rather than from its decoded object:
 * for one that sees every event but needs only a few of its numbers (the count of events by kind,
 * the diff's tokens). An event of a kind that only column reducers read is never decoded, and in a
 * run about half the events are of such kinds (pgtable_read, rcu_read_lock, folio_mapcount,
 * lru_move, user_access ...).
 *
 * For each event, the column reducers are fed after every decoding reducer, whatever their place
 * in the list: they see the state the others have folded the event into (the diff's tokens read
 * the VMA map with the event applied).
 */
export interface ColumnReducer {
  /** Event `i` of `block`, of kind `code`: its columns are block.tid[i], block.a[i] ... (EventBlock). */
  column(block: EventBlock, i: number, code: number): void;
}

/** Is this a column reducer (it reads the columns) rather than one of decoded events? */
export function readsColumns(r: Reducer | ColumnReducer): r is ColumnReducer {
  return typeof (r as Partial<ColumnReducer>).column === 'function';
}

/** One function per kind, each given its kind's event type. */
export type KindHandlers = { readonly [N in KindName]?: (e: EventOf<N>) => void };

/** A reducer from a table of per-kind functions: it folds exactly the kinds the table names. */
export function reducerOf(handlers: KindHandlers): Reducer {
  // By kind code (an array), so the per-event lookup is an index, not a string key.
  const byCode: ((e: TraceEvent) => void)[] = [];
  for (const [name, fn] of Object.entries(handlers) as [KindName, (e: TraceEvent) => void][]) byCode[kindByName(name)!.kind] = fn;
  return {
    kinds: Object.keys(handlers) as KindName[],
    event: (e, code) => byCode[code]?.(e),
    foldOf: (code) => byCode[code],
  };
}
