/**
 * The diff's token streams: each run's events, task by task, as symbolic tokens.
 *
 * Events are compared as symbolic tokens: the kind name and the arguments that mean the same thing
 * in both runs (a lock class, a VMA by its range, a page-table level, a request number, a lock mode).
 * Seqs, ticks, folio ids, pfns and object ids are left out: the paths allocate in another order, so
 * those differ between runs even when the tasks did the same thing.
 *
 * Cost: one streaming pass per run; per task two growable Int32Arrays (token ids and seqs) plus one
 * for the request in flight; token texts are interned once.
 */
import type { RunInfo, Trace } from '../trace/reader.js';

/** Fields whose value is symbolic across runs (besides name fields and VMAs). */
const SYMBOLIC_FIELDS = new Set(['level', 'req', 'mode', 'write']);
/** Fields that hold a VMA id: shown as the VMA's range instead. */
const VMA_FIELD = 'vma';

/** An append-only Int32 list (typed storage: a million events stay a few megabytes). */
class IntList {
  data = new Int32Array(1024);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }

  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

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

/** One task's events as token ids, with their seqs and the request in flight (-1: none). */
export interface TokenStream {
  tokens: Int32Array;
  seqs: Int32Array;
  requests: Int32Array;
}

/** How to print one kind symbolically: its name and, per field slot, how to render the value. */
interface KindFormat {
  name: string;
  slots: { field: string; render: 'name' | 'vma' | 'value' }[];
}

function kindFormats(trace: Trace): Map<number, KindFormat> {
  const out = new Map<number, KindFormat>();
  for (const k of trace.kinds()) {
    const slots: KindFormat['slots'] = [];
    k.fields.forEach((field, i) => {
      if (!field) return;
      const render = k.names.includes(field) ? 'name' : field === VMA_FIELD ? 'vma' : SYMBOLIC_FIELDS.has(field) ? 'value' : null;
      if (render) slots[i] = { field, render };
    });
    out.set(k.kind, { name: k.name, slots });
  }
  return out;
}

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

/** Up to two symbolic values below this bound pack into one numeric cache key with the kind. */
const KEY_VALUE_LIMIT = 2 ** 21;

/**
 * Token ids of one run's events. Most events repeat (the same call, lock class, level), so the
 * symbolic values are packed into a numeric key and the token text is built only the first time.
 * VMAs enter the key by the id of their range text, since one VMA id can cover several ranges.
 */
class Tokenizer {
  private readonly cache = new Map<number, number>();
  private readonly ranges = new Interner();
  /** VMA id -> range id, kept current from vma_create / vma_mark_attached / vma_adjust. */
  private readonly vmaRange = new Map<number, number>();
  private readonly values = [0, 0, 0, 0];

  constructor(
    private readonly formats: Map<number, KindFormat>,
    private readonly names: readonly string[],
    private readonly interner: Interner,
  ) {}

  /** Track VMA ranges (the VMA's identity across runs). */
  observe(kindName: string, a: number, b: number, c: number, d: number): void {
    const hex = (n: number) => n.toString(16);
    if (kindName === 'vma_create') this.vmaRange.set(a, this.ranges.id(`${hex(c)}-${hex(d)}`));
    else if (kindName === 'vma_mark_attached' || kindName === 'vma_adjust') this.vmaRange.set(a, this.ranges.id(`${hex(b)}-${hex(c)}`));
  }

  token(kind: number, a: number, b: number, c: number, d: number): number {
    const f = this.formats.get(kind);
    if (!f) return this.interner.id(`kind${kind}`);
    const v = this.values;
    v[0] = a; v[1] = b; v[2] = c; v[3] = d;
    let key = kind;
    let scale = 256;
    let packed = 0;
    for (let i = 0; i < 4; i++) {
      const s = f.slots[i];
      if (!s) continue;
      const x = s.render === 'vma' ? this.vmaRange.get(v[i]!) ?? -1 : v[i]!;
      v[i] = x;
      if (x < -1 || x >= KEY_VALUE_LIMIT || ++packed > 2) return this.interner.id(this.text(f, v));
      key += (x + 1) * scale;
      scale *= KEY_VALUE_LIMIT + 1;
    }
    let id = this.cache.get(key);
    if (id === undefined) this.cache.set(key, (id = this.interner.id(this.text(f, v))));
    return id;
  }

  /** The token text: kind name and symbolic fields (VMA slots already hold range ids). */
  private text(f: KindFormat, v: number[]): string {
    let text = f.name;
    for (let i = 0; i < 4; i++) {
      const s = f.slots[i];
      if (!s) continue;
      const x = v[i]!;
      const shown = s.render === 'name' ? this.names[x] ?? `#${x}` : s.render === 'vma' ? this.ranges.texts[x] ?? '?' : String(x);
      text += ` ${s.field}=${shown}`;
    }
    return text;
  }
}

/** One task's growing streams: token ids, seqs, and the request in flight at each event. */
interface TaskLists {
  tokens: IntList;
  seqs: IntList;
  requests: IntList;
  /** The task's request in flight now (-1: none). */
  request: number;
}

/**
 * Builds one run's per-task token streams from its events, fed one row at a time, so that the pass
 * which gathers the diff's facts can feed it from the same read of the log.
 */
export class StreamBuilder {
  private readonly tokenizer: Tokenizer;
  private readonly taskOf: Map<number, string>;
  /** Per kind number, the name of the kinds add() must act on besides tokenising (vma_*, request_*). */
  private readonly special: (string | undefined)[] = [];
  private readonly lists = new Map<number, TaskLists>();
  /** The last row's task and its lists: a task runs for many events in a row, so this saves a lookup. */
  private lastTid = -1;
  private last: TaskLists | undefined;

  constructor(trace: Trace, run: RunInfo, interner: Interner) {
    const formats = kindFormats(trace);
    this.tokenizer = new Tokenizer(formats, trace.names(run.id), interner);
    this.taskOf = taskKeys(trace, run);
    for (const [k, f] of formats) {
      if (f.name.startsWith('vma_') || f.name === 'request_begin' || f.name === 'request_end') this.special[k] = f.name;
    }
  }

  private listsOf(tid: number): TaskLists {
    if (tid === this.lastTid) return this.last!;
    let l = this.lists.get(tid);
    if (!l) this.lists.set(tid, (l = { tokens: new IntList(), seqs: new IntList(), requests: new IntList(), request: -1 }));
    this.lastTid = tid;
    this.last = l;
    return l;
  }

  add(row: readonly [number, number, number, number, number, number, number, number, ...unknown[]]): void {
    // Indexed reads, not destructuring: this runs once per event of the run.
    const seq = row[0], tid = row[2], kind = row[3], a = row[4], b = row[5], c = row[6], d = row[7];
    const l = this.listsOf(tid);
    // Most rows are of no special kind: one array load decides, no name lookup per row.
    const kindName = this.special[kind];
    if (kindName !== undefined) {
      if (kindName === 'request_begin') l.request = a ?? -1;
      else if (kindName !== 'request_end') this.tokenizer.observe(kindName, a, b, c, d);
    }
    l.tokens.push(this.tokenizer.token(kind, a, b, c, d));
    l.seqs.push(seq);
    l.requests.push(l.request);
    if (kindName === 'request_end') l.request = -1;
  }

  streams(): Map<string, TokenStream> {
    const out = new Map<string, TokenStream>();
    for (const [tid, l] of this.lists) {
      out.set(this.taskOf.get(tid) ?? `tid${tid}`, { tokens: l.tokens.view(), seqs: l.seqs.view(), requests: l.requests.view() });
    }
    return out;
  }
}

/** Stream one run's events into per-task token streams (a read of its own). */
export function tokenStreams(trace: Trace, run: RunInfo, interner: Interner): Map<string, TokenStream> {
  const builder = new StreamBuilder(trace, run, interner);
  for (const chunk of trace.eventChunks(run.id)) for (const row of chunk) builder.add(row);
  return builder.streams();
}
