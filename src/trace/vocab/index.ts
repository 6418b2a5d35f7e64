/**
 * The event vocabulary: a closed, versioned list of event kinds with stable numbers, declared once
 * per family (sched.ts, lock.ts, pagetable.ts, folio.ts, copy.ts, vma.ts, call.ts, request.ts,
 * check.ts) with typed fields and the enums of their coded values. Everything else is derived here:
 *
 *  - `emit.KIND({...})`: the typed emitter the kernel model yields (`yield emit.folio_get({ folio, ref })`);
 *  - `Decoder`: the one way to read a stored event, as the discriminated union `TraceEvent`;
 *  - `KINDS`: the on-disk layout (fields in slot order a..d, which hold names, the blob) that the
 *    recorder writes into each file's `kinds` table and the SQL views are built from;
 *  - costs in virtual ticks, and the names of coded values for printers and SQL code tables.
 *
 * Every event is one row: seq (global order), tick (virtual time), tid (emulated task; 0 = the
 * simulator itself), kind, up to four numeric fields, and an optional blob.
 *
 * Numbers are part of the on-disk format: never renumber a kind or a code, only append. Bump
 * SCHEMA_VERSION when a kind is added or a field changes meaning; a file carries its own copy of
 * the layout (the `kinds` table), and a file newer than the build is refused.
 */
import {
  DEFAULT_COST, makeArgsRefill, makeBlockRefill, makeDecoder, makeEmitter,
  type ArgsOfSpec, type BlobType, type EnumDef, type EventOfSpec, type FieldType, type FlagsDef, type KindSpec,
  type ArgsRefill, type BlockRefill, type RawRow, type RowDecoder,
} from './define.js';
import { rowOfBlock, type EventBlock } from '../../store/chunk.js';
import { call } from './call.js';
import { check } from './check.js';
import { copy } from './copy.js';
import { folio } from './folio.js';
import { lock } from './lock.js';
import { pagetable } from './pagetable.js';
import { request } from './request.js';
import { sched } from './sched.js';
import { vma } from './vma.js';

export * from './call.js';
export * from './check.js';
export * from './copy.js';
export * from './folio.js';
export * from './lock.js';
export * from './pagetable.js';
export * from './request.js';
export * from './sched.js';
export * from './vma.js';
export {
  DEFAULT_COST, decodeU32s, defineEnum, defineFlags, encodeU32s, fieldValue, staged,
  type EnumDef, type FieldType, type FlagsDef, type RawRow,
} from './define.js';

export const SCHEMA_VERSION = 1;

export const FAMILIES = { sched, lock, pagetable, folio, copy, vma, call, request, check } as const;

export type Family = keyof typeof FAMILIES;

/** The family names, in the order readers list them. */
export const FAMILY_NAMES: readonly Family[] = ['lock', 'pagetable', 'folio', 'copy', 'vma', 'call', 'request', 'sched', 'check'];

type AllKinds = typeof sched & typeof lock & typeof pagetable & typeof folio & typeof copy
  & typeof vma & typeof call & typeof request & typeof check;

export type KindName = Extract<keyof AllKinds, string>;

/** The decoded event of one kind, `EventOf<'rwsem_acquire'>`; of a union of kinds, the union of their events. */
export type EventOf<N extends KindName> = N extends KindName ? EventOfSpec<N, AllKinds[N]> : never;

/** Every decoded event: switch on `.kind` to narrow it. */
export type TraceEvent = { [N in KindName]: EventOf<N> }[KindName];

/** What the emitter of a kind takes. */
export type ArgsOf<N extends KindName> = ArgsOfSpec<AllKinds[N]>;

/** A kind's layout as files store it (and as older code called it). */
export interface KindDef {
  readonly kind: number;
  readonly name: KindName;
  readonly family: Family;
  /** Field names in slot order a..d. */
  readonly fields: readonly string[];
  /** The fields that hold an interned name id. */
  readonly names: readonly string[];
  /** The type of each field, in slot order. */
  readonly types: readonly FieldType[];
  readonly blob: 'none' | 'bytes' | 'msgpack';
  /** The blob's decoded property and what it holds. */
  readonly blobField?: { readonly name: string; readonly type: BlobType };
  readonly cost: number;
  /** Slot index of the field that adds value/8 ticks, or -1. */
  readonly costPerByteSlot: number;
  readonly doc: string;
}

const defs: KindDef[] = [];
for (const [family, kinds] of Object.entries(FAMILIES) as [Family, Record<string, KindSpec>][]) {
  for (const [name, spec] of Object.entries(kinds)) {
    const fields = Object.keys(spec.fields);
    defs.push({
      kind: spec.code,
      name: name as KindName,
      family,
      fields,
      names: fields.filter((f) => spec.fields[f] === 'name'),
      types: Object.values(spec.fields),
      blob: spec.blob ? 'bytes' : 'none',
      blobField: spec.blob,
      cost: spec.cost ?? DEFAULT_COST,
      costPerByteSlot: spec.costPerByte === undefined ? -1 : fields.indexOf(spec.costPerByte),
      doc: spec.doc,
    });
  }
}
defs.sort((x, y) => x.kind - y.kind);

/** A field type as the file's kinds table spells it: `addr`, `enum:rwsem_modes`, `flags:page_flags` ... */
export function typeText(type: FieldType): string {
  return typeof type === 'string' ? type : `${type.kind}:${type.table}`;
}

/**
 * Every enum and flag set the vocabulary uses, with its names by code (a flag set's by bit): the
 * `codes` table of a file, so SQL can show names instead of numbers.
 */
export const CODE_TABLES: readonly { table: string; codes: readonly (readonly [number, string])[] }[] = (() => {
  const tables = new Map<string, (readonly [number, string])[]>();
  for (const d of defs) {
    for (const t of d.types) {
      if (typeof t === 'string' || tables.has(t.table)) continue;
      const entries = t.kind === 'enum' ? Object.entries(t.codes) : Object.entries(t.bits);
      tables.set(t.table, entries.map(([name, code]) => [code as number, name] as const).sort((x, y) => x[0] - y[0]));
    }
  }
  return [...tables].map(([table, codes]) => ({ table, codes }));
})();

/** Every kind, by number. */
export const KINDS: readonly KindDef[] = defs;

const byNumber: (KindDef | undefined)[] = [];
const byName = new Map<string, KindDef>();
for (const d of defs) {
  if (byNumber[d.kind]) throw new Error(`kinds ${d.name} and ${byNumber[d.kind]!.name} share number ${d.kind}`);
  byNumber[d.kind] = d;
  byName.set(d.name, d);
}

/** The layout of a kind number (throws on a number the vocabulary never had). */
export function kindDef(kind: number): KindDef {
  const d = byNumber[kind];
  if (!d) throw new Error(`unknown event kind ${kind}`);
  return d;
}

/** The layout of a kind name. */
export function kindByName(name: string): KindDef | undefined {
  return byName.get(name);
}

/**
 * Kind numbers by name, for the storage layer and the simulator's stamping (readers switch on the
 * decoded `kind` name instead).
 */
export const K = Object.fromEntries(defs.map((d) => [d.name, d.kind])) as { readonly [N in KindName]: number };

/** Ticks per kind number (dense, for the hot path). */
export const KIND_COST: Int32Array = (() => {
  const costs = new Int32Array(byNumber.length);
  for (const d of defs) costs[d.kind] = d.cost;
  return costs;
})();

/** Per kind number, the slot (0..3) whose value/8 adds to the cost, or -1. */
export const KIND_BYTE_COST_SLOT: Int8Array = (() => {
  const slots = new Int8Array(byNumber.length).fill(-1);
  for (const d of defs) slots[d.kind] = d.costPerByteSlot;
  return slots;
})();

// --- emitters -----------------------------------------------------------------------------------

type Emitters = { readonly [N in KindName]: (args: ArgsOf<N>) => 0 };

/**
 * The typed emitters: `yield emit.rwsem_acquire({ sem: sem.id, class: sem.cls.id, mode: 'write', how: 'woken' })`
 * stages the event, which the simulator stamps when the task yields. A `name` field takes the
 * interned id; an enum field its name; a blob its bytes or list.
 *
 * Made in one piece (Object.fromEntries), not a property at a time: V8 turns an object that gets
 * more than a dozen properties by computed keys into a hash table, and then every `emit.x` in
 * optimized code, about one an event, was a call to the generic property lookup (Builtins_LoadIC)
 * rather than a constant. test/vocab-emit-fast.test.ts checks that it stays fast.
 */
export const emit: Emitters = Object.fromEntries(
  Object.values(FAMILIES).flatMap((kinds) =>
    Object.entries(kinds as Record<string, KindSpec>).map(([name, spec]) => [name, makeEmitter(name, spec)])),
) as unknown as Emitters;

// --- decoding -----------------------------------------------------------------------------------

/** An event of a kind the vocabulary does not know (never produced by this build). */
export interface UnknownEvent {
  readonly kind: 'unknown';
  readonly code: number;
  readonly seq: number;
  readonly tick: number;
  readonly tid: number;
}

const rowDecoders: (RowDecoder | undefined)[] = [];
const blockRefills: (BlockRefill | undefined)[] = [];
const argsRefills: (ArgsRefill | undefined)[] = [];
for (const [, kinds] of Object.entries(FAMILIES)) {
  for (const [name, spec] of Object.entries(kinds as Record<string, KindSpec>)) {
    rowDecoders[spec.code] = makeDecoder(name, spec);
    blockRefills[spec.code] = makeBlockRefill(name, spec);
    argsRefills[spec.code] = makeArgsRefill(name, spec);
  }
}

/**
 * Reads the events of one run: bound to the run's interned names, so name fields read as text.
 * Every reader of events goes through `decode`; none reads a slot or compares a code.
 */
export class Decoder {
  constructor(readonly names: readonly string[]) {}

  /** A stored row [seq, tick, tid, kind, a, b, c, d, data] as a fresh event object. */
  decode(row: RawRow): TraceEvent {
    const dec = rowDecoders[row[3]];
    if (dec === undefined) return { kind: 'unknown', code: row[3], seq: row[0], tick: row[1], tid: row[2] } as unknown as TraceEvent;
    return dec(row, this.names) as TraceEvent;
  }

  /** One reused event object per kind, for view(). */
  private readonly views: (TraceEvent | undefined)[] = [];

  /**
   * The same event as decode(), in an object reused for every row of its kind: no allocation per
   * row, for readers that go through a whole run. The object is valid until the next view() of a
   * row of the same kind, so a reader that keeps an event (or its blob) must copy what it keeps.
   */
  view(row: RawRow): TraceEvent {
    return this.viewOf(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] ?? undefined);
  }

  /**
   * view() of an event given as the simulator hands it to a sink (the online checkers): the same
   * object view() would give for it as a row, without the row.
   */
  viewOf(
    seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  ): TraceEvent {
    const refill = argsRefills[kind];
    const reused = this.views[kind];
    if (refill === undefined || reused === undefined) return this.first([seq, tick, tid, kind, a, b, c, d, data]);
    return refill(seq, tick, tid, a, b, c, d, data, this.names, reused) as TraceEvent;
  }

  /**
   * view() of event i of a block, read from its columns: the same object view() would give for the
   * event as a row, without the row (readRun's loop).
   */
  viewAt(block: EventBlock, i: number): TraceEvent {
    const kind = block.kind[i]!;
    const refill = blockRefills[kind];
    const reused = this.views[kind];
    if (refill === undefined || reused === undefined) return this.first(rowOfBlock(block, i));
    return refill(block, i, this.names, reused) as TraceEvent;
  }

  /**
   * The first event of its kind, decoded: kept as the object the kind's later events refill. (A kind
   * this build does not know is decoded afresh every time.)
   */
  private first(row: RawRow): TraceEvent {
    const e = this.decode(row);
    if (argsRefills[row[3]] !== undefined) this.views[row[3]] = e;
    return e;
  }

  /** The text of an interned name id. */
  name(id: number): string {
    return this.names[id] ?? '';
  }
}

/** Decode one row with a names table (a Decoder without keeping it). */
export function decode(row: RawRow, names: readonly string[]): TraceEvent {
  const dec = rowDecoders[row[3]];
  if (dec === undefined) return { kind: 'unknown', code: row[3], seq: row[0], tick: row[1], tid: row[2] } as unknown as TraceEvent;
  return dec(row, names) as TraceEvent;
}

/** Is this kind name one of the vocabulary's? */
export function isKindName(name: string): name is KindName {
  return byName.has(name);
}

/** A field's value as text: names and numbers as they are, enums by name, flags and entries spelt out. */
export function formatField(type: FieldType, value: unknown): string {
  if (typeof value !== 'number') return String(value);
  if (type === 'addr') return `0x${value.toString(16)}`;
  if (type === 'hash') return (value >>> 0).toString(16).padStart(8, '0');
  if (typeof type === 'object' && type.kind === 'flags') return type.format(value);
  return String(value);
}

export type { EnumDef as Enum, FlagsDef as Flags };
