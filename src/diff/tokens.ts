/**
 * The diff's token streams: each run's events, task by task, as symbolic tokens.
 *
 * Events are compared as symbolic tokens: the kind name and the arguments that mean the same thing
 * in both runs (a lock class, a VMA by its range, a page-table level, a request number, a lock mode).
 * Seqs, ticks, folio ids, pfns and object ids are left out: the paths allocate in another order, so
 * those differ between runs even when the tasks did the same thing.
 *
 * Cost: one streaming pass per run; per task two growable Int32Arrays (token ids and seqs) and the
 * stretches its requests cover; token texts are interned once.
 */
import { readRun } from '../reduce/read-run.js';
import type { ColumnReducer } from '../reduce/reducer.js';
import { VmaMap } from '../reduce/vma-map.js';
import { slotAt, type EventBlock, type RunInfo, type Trace } from '../trace/reader.js';
import { kindByName, KINDS } from '../trace/vocab/index.js';

/** Fields whose value is symbolic across runs (besides name fields and VMAs). */
const SYMBOLIC_FIELDS = new Set(['level', 'req', 'mode', 'write']);
/** Fields that hold a VMA id: shown as the VMA's range instead. */
const VMA_FIELD = 'vma';

/** Token texts to small integers, shared by both runs so that equal texts get equal ids. */
export class Interner {
  private readonly ids = new Map<string, number>();
  readonly texts: string[] = [];

  id(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.ids.set(text, id);
      this.texts.push(text);
    }
    return id;
  }
}

/** The stretch of a task's stream one request covers: events [lo, hi), request_begin to request_end. */
export interface RequestSpan {
  req: number;
  lo: number;
  hi: number;
}

/**
 * One task's events as token ids, with their seqs, and where its requests are. The requests are
 * kept as stretches rather than one value per event: a task does one request at a time, so a few
 * thousand stretches say what a column of a million values would (one more fresh array per pass).
 */
export interface TokenStream {
  tokens: Int32Array;
  seqs: Int32Array;
  /** In stream order, not overlapping; an event outside them had no request in flight. */
  requests: RequestSpan[];
}

/**
 * One field that takes part in a token: where it is stored, and what its stored number means (the
 * vocabulary's layout: a name's run-local id, a VMA id, an enum's code, a bool, an integer).
 * `known`: an enum's names by code.
 */
interface FieldFormat {
  field: string;
  slot: number;
  as: 'name' | 'vma' | 'enum' | 'bool' | 'int';
  known?: readonly (string | undefined)[];
}

/** How to print one kind symbolically: its name, code, and the fields that take part, with how each renders. */
interface KindFormat {
  name: string;
  code: number;
  /** `slot`: the column that holds the field (field i of a kind is in slot i: a, b, c, d). */
  fields: FieldFormat[];
}

/** The symbolic fields of every kind, from the vocabulary, by kind code (the per-event lookup is an array index). */
const FORMATS_BY_CODE: (KindFormat | undefined)[] = [];
for (const k of KINDS) {
  const fields: KindFormat['fields'] = [];
  k.fields.forEach((field, slot) => {
    const type = k.types[slot]!;
    if (type === 'name') fields.push({ field, slot, as: 'name' });
    else if (field === VMA_FIELD) fields.push({ field, slot, as: 'vma' });
    else if (!SYMBOLIC_FIELDS.has(field)) return;
    else if (typeof type === 'object' && type.kind === 'enum') fields.push({ field, slot, as: 'enum', known: type.names });
    else fields.push({ field, slot, as: type === 'bool' ? 'bool' : 'int' });
  });
  FORMATS_BY_CODE[k.kind] = { name: k.name, code: k.kind, fields };
}

/**
 * By kind code: whether an event of the kind opens (request_begin) or closes (request_end) its
 * task's request in flight (a span of the stream's `requests`).
 */
const OPENS_REQUEST: boolean[] = [];
const CLOSES_REQUEST: boolean[] = [];
for (const k of KINDS) {
  OPENS_REQUEST[k.kind] = k.name === 'request_begin';
  CLOSES_REQUEST[k.kind] = k.name === 'request_end';
}
/** The slot of request_begin's request number. */
const REQUEST_SLOT = kindByName('request_begin')!.fields.indexOf('req');

/**
 * Task names made unique per run: tasks are matched across runs by name, and a name used by two
 * tasks of one run gets `#2`, `#3` in tid order (the workload spawns them in the same order).
 */
function taskKeys(trace: Trace, run: RunInfo): Map<number, string> {
  const seen = new Map<string, number>();
  const out = new Map<number, string>();
  for (const t of trace.tasks(run.id)) {
    const n = (seen.get(t.name) ?? 0) + 1;
    seen.set(t.name, n);
    out.set(t.tid, n === 1 ? t.name : `${t.name}#${n}`);
  }
  return out;
}

/** Token ids of one kind's events by their symbolic values: one level per value, the id at the last. */
type TokenTrie = Map<number, TokenTrie | number>;

/**
 * Token ids of one run's events, read from the store's columns. Most events repeat (the same call,
 * lock class, level), so the token text is built only the first time its kind and symbolic values
 * are seen: after that the values find the id in the kind's trie, one Map lookup per value (small
 * integers, so the lookups hash no strings and allocate nothing). Names enter it by their run-local
 * id; VMAs by the id of their range text (from the shared VMA map), since one VMA id can cover
 * several ranges over a run.
 */
class Tokenizer {
  /** By kind code: the token id of a kind without symbolic fields. */
  private readonly fixed: number[] = [];
  /** By kind code: the trie of a kind with symbolic fields. */
  private readonly tries: TokenTrie[] = [];
  private readonly ranges = new Interner();
  /** Per VMA id, the range its last token showed and that range's id: reused while it holds. */
  private readonly lastRange = new Map<number, { start: number; end: number; id: number }>();
  /** The symbolic values of the event being tokenized (names and VMAs as ids), in its format's field order. */
  private readonly values = new Int32Array(4);

  /** `names`: the run's interned names, which its events' name fields index. */
  constructor(private readonly interner: Interner, private readonly vmas: VmaMap, private readonly names: readonly string[]) {}

  /** The token id of event i of `block`, of kind `code`. */
  token(block: EventBlock, i: number, code: number): number {
    const f = FORMATS_BY_CODE[code];
    if (!f) return this.interner.id(`kind${code}`);
    const n = f.fields.length;
    if (n === 0) return (this.fixed[code] ??= this.interner.id(f.name));
    const v = this.values;
    for (let j = 0; j < n; j++) {
      const s = f.fields[j]!;
      v[j] = this.key(s, slotAt(block, i, s.slot));
    }
    let node = (this.tries[code] ??= new Map());
    for (let j = 0; j < n - 1; j++) {
      let next = node.get(v[j]!) as TokenTrie | undefined;
      if (next === undefined) node.set(v[j]!, (next = new Map()));
      node = next;
    }
    let id = node.get(v[n - 1]!) as number | undefined;
    if (id === undefined) node.set(v[n - 1]!, (id = this.interner.id(this.text(f, v))));
    return id;
  }

  /**
   * The number a field's stored value keys the token by, as the decoded value would: within a run a
   * name id stands for one text and an enum code for one name, so the stored numbers serve without
   * decoding the event. A value the field cannot hold (a corrupt file, or another version's: an id
   * past the names, an enum code this build does not know, a fraction) is -1, so it can never pass
   * for a real name or code; a bool is 0 or 1 whatever was stored.
   */
  private key(s: FieldFormat, stored: number): number {
    switch (s.as) {
      case 'vma': return this.rangeId(stored);
      case 'name': return Number.isInteger(stored) && stored >= 0 && stored < this.names.length ? stored : -1;
      case 'enum': return s.known![stored] !== undefined ? stored : -1;
      case 'bool': return stored !== 0 ? 1 : 0;
      default: return stored;
    }
  }

  /** The id of the range text of a VMA as the map has it now; -1 for a VMA it never saw. */
  private rangeId(vma: number): number {
    const now = this.vmas.get(vma);
    if (!now) return -1;
    const last = this.lastRange.get(vma);
    if (last && last.start === now.start && last.end === now.end) return last.id;
    const id = this.ranges.id(`${now.start.toString(16)}-${now.end.toString(16)}`);
    this.lastRange.set(vma, { start: now.start, end: now.end, id });
    return id;
  }

  /** The token text: kind name and symbolic fields (names and VMA slots hold their text's ids). */
  private text(f: KindFormat, v: Int32Array): string {
    let text = f.name;
    for (let j = 0; j < f.fields.length; j++) {
      const s = f.fields[j]!;
      const x = v[j]!;
      const shown = s.as === 'name' ? this.names[x] ?? '' : s.as === 'vma' ? this.ranges.texts[x] ?? '?' : String(x);
      text += ` ${s.field}=${shown}`;
    }
    return text;
  }
}

/** How far a builder is through its run's events: what its tasks' lists size their growth by. */
interface RunProgress {
  seen: number;
  readonly total: number;
}

/**
 * The capacity a task's lists grow to when full at `length` events, `seen` events into a run of
 * `total`: the task's share of the run so far, scaled to the whole run with a quarter to spare,
 * and at least twice `length` (a task that has more to come than its share said). Doubling alone
 * copies each list into fresh memory about once more than its final size, and fresh memory is
 * what costs on a VM (3.5 ms per MB faulted in, more than filling it); a task's share of a run is
 * steady enough that one growth mostly suffices. Capacity never written costs no page: a large
 * typed array is zero pages until touched.
 */
export function grownCapacity(length: number, seen: number, total: number): number {
  const projected = Math.ceil((length / Math.max(seen, 1)) * total * 1.25);
  return Math.max(2 * length, Math.min(projected, total));
}

/**
 * One task's growing streams: token ids and seqs, in two Int32Arrays that grow together (one
 * capacity check per event; a million events stay a few megabytes), and the spans of its requests.
 */
class TaskLists {
  tokens = new Int32Array(1024);
  seqs = new Int32Array(1024);
  length = 0;
  readonly requests: RequestSpan[] = [];
  /** The span of the task's request in flight now, null when none is. */
  private open: RequestSpan | null = null;

  constructor(private readonly run: RunProgress) {}

  push(token: number, seq: number): void {
    if (this.length === this.tokens.length) this.grow();
    this.tokens[this.length] = token;
    this.seqs[this.length] = seq;
    this.length++;
  }

  /** Request `req` is in flight from the next event pushed on (its request_begin) until endRequest(). */
  beginRequest(req: number): void {
    this.endRequest();
    this.open = { req, lo: this.length, hi: this.length };
    this.requests.push(this.open);
  }

  /** The request in flight, if any, ended with the last event pushed (its request_end). */
  endRequest(): void {
    if (this.open) this.open.hi = this.length;
    this.open = null;
  }

  private grow(): void {
    const capacity = grownCapacity(this.length, this.run.seen, this.run.total);
    const larger = (a: Int32Array) => {
      const out = new Int32Array(capacity);
      out.set(a);
      return out;
    };
    this.tokens = larger(this.tokens);
    this.seqs = larger(this.seqs);
  }

  /** The streams so far; a request still in flight covers the rest of the task's events. */
  stream(): TokenStream {
    if (this.open) this.open.hi = this.length;
    return { tokens: this.tokens.subarray(0, this.length), seqs: this.seqs.subarray(0, this.length), requests: this.requests };
  }
}

/**
 * Builds one run's per-task token streams from its events' columns: a column reducer, fed after the
 * VMA map, so that the pass which gathers the diff's facts feeds it from the same read of the log
 * (and kinds only the tokens look at are never decoded).
 */
export class StreamBuilder implements ColumnReducer {
  private readonly tokenizer: Tokenizer;
  private readonly taskOf: Map<number, string>;
  private readonly lists = new Map<number, TaskLists>();
  /** The last event's task and its lists: a task runs for many events in a row, so this saves a lookup. */
  private lastTid = -1;
  private last: TaskLists | undefined;
  private readonly progress: RunProgress;

  constructor(trace: Trace, run: RunInfo, interner: Interner, vmas: VmaMap) {
    this.tokenizer = new Tokenizer(interner, vmas, trace.names(run.id));
    this.taskOf = taskKeys(trace, run);
    this.progress = { seen: 0, total: run.events };
  }

  private listsOf(tid: number): TaskLists {
    if (tid === this.lastTid) return this.last!;
    let l = this.lists.get(tid);
    if (!l) this.lists.set(tid, (l = new TaskLists(this.progress)));
    this.lastTid = tid;
    this.last = l;
    return l;
  }

  column(block: EventBlock, i: number, code: number): void {
    this.progress.seen++;
    const token = this.tokenizer.token(block, i, code);
    const l = this.listsOf(block.tid[i]!);
    if (OPENS_REQUEST[code]) l.beginRequest(slotAt(block, i, REQUEST_SLOT));
    l.push(token, block.firstSeq + i);
    if (CLOSES_REQUEST[code]) l.endRequest();
  }

  streams(): Map<string, TokenStream> {
    const out = new Map<string, TokenStream>();
    for (const [tid, l] of this.lists) {
      out.set(this.taskOf.get(tid) ?? `tid${tid}`, l.stream());
    }
    return out;
  }
}

/** Stream one run's events into per-task token streams (a read of its own). */
export function tokenStreams(trace: Trace, run: RunInfo, interner: Interner): Map<string, TokenStream> {
  const vmas = new VmaMap();
  const builder = new StreamBuilder(trace, run, interner, vmas);
  readRun(trace, run, [vmas, builder]);
  return builder.streams();
}
