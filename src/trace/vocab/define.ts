/**
 * The language the vocabulary is written in, in the spirit of the kernel's TRACE_EVENT: each kind
 * declares its fields once, with a type, and from that declaration come
 *  - the typed emitter the kernel model calls (`emit.rwsem_acquire({ sem, class, mode: 'write', how: 'woken' })`),
 *  - the one decoder every reader uses (`decoder.decode(row)`, a discriminated union on `kind`),
 *  - the on-disk layout (which of the four numeric slots a..d holds which field, and the blob),
 *  - the names of coded values (enums and flag sets) that the SQL code tables and printers show.
 *
 * Emitters and decoders are generated per kind with `new Function` (as msgpackr does for its
 * records): a generated function reads and writes fixed properties, so each call site stays
 * monomorphic and the emitter allocates nothing (a generic loop over field names would allocate
 * and go megamorphic on the recording hot path). The declarations are our own constants, never
 * user input, so nothing foreign reaches the generated source.
 */

import type { EventBlock } from '../../store/chunk.js';

// --- coded values -------------------------------------------------------------------------------

/** A closed set of named codes (an `enum` of the kernel, or of the model). */
export interface EnumDef<N extends string = string> {
  readonly kind: 'enum';
  /** The SQL code table that lists it (`rwsem_modes`). */
  readonly table: string;
  /** code by name */
  readonly codes: { readonly [K in N]: number };
  /** name by code (sparse) */
  readonly names: readonly (N | undefined)[];
  /** The name of a code; an unknown code (a file from another version) reads as its number. */
  name(code: number): N;
}

export function defineEnum<const T extends Record<string, number>>(table: string, codes: T): EnumDef<Extract<keyof T, string>> {
  type N = Extract<keyof T, string>;
  const names: (N | undefined)[] = [];
  for (const [n, c] of Object.entries(codes)) {
    if (!Number.isInteger(c) || c < 0 || c > 0xffff) throw new Error(`${table}.${n}: code ${c} is not a small integer`);
    if (names[c] !== undefined) throw new Error(`${table}: ${n} and ${names[c]} share code ${c}`);
    names[c] = n as N;
  }
  for (let i = 0; i < names.length; i++) names[i] ??= undefined;
  return {
    kind: 'enum', table, codes: codes as unknown as { readonly [K in N]: number }, names,
    name: (code: number) => (names[code] ?? String(code)) as N,
  };
}

/** A set of named bits (page flags, vm_flags, VM_FAULT_* ...): the field stays a number. */
export interface FlagsDef<N extends string = string> {
  readonly kind: 'flags';
  readonly table: string;
  readonly bits: { readonly [K in N]: number };
  /**
   * Counters packed into the same word (folio->flags' LRU_GEN and LRU_REFS): each a mask of
   * adjacent bits, shown as `NAME=value` when not zero.
   */
  readonly fields: { readonly [name: string]: number };
  /** The names of the bits set in `value`, lowest bit first, then its fields; unknown bits as hex. */
  names(value: number): string[];
  /** `a|b|c`, or `0`. */
  format(value: number): string;
}

/** The value of the packed field `mask` in `value` (the bits under the mask, shifted down). */
export function fieldValue(value: number, mask: number): number {
  return (value & mask) >>> Math.log2(mask & -mask);
}

export function defineFlags<const T extends Record<string, number>>(
  table: string, bits: T, fields: Readonly<Record<string, number>> = {},
): FlagsDef<Extract<keyof T, string>> {
  const list = Object.entries(bits).sort((x, y) => x[1] - y[1]);
  const fieldList = Object.entries(fields).sort((x, y) => x[1] - y[1]);
  const names = (value: number): string[] => {
    const out: string[] = [];
    let rest = value;
    for (const [n, bit] of list) {
      if (bit !== 0 && (value & bit) === bit) {
        out.push(n);
        rest &= ~bit;
      }
    }
    for (const [n, mask] of fieldList) {
      if ((value & mask) !== 0) out.push(`${n}=${fieldValue(value, mask)}`);
      rest &= ~mask;
    }
    if (rest !== 0) out.push(`0x${(rest >>> 0).toString(16)}`);
    return out;
  };
  return {
    kind: 'flags', table, bits: bits as unknown as { readonly [K in Extract<keyof T, string>]: number }, fields,
    names, format: (value) => (value === 0 ? '0' : names(value).join('|')),
  };
}

// --- field types --------------------------------------------------------------------------------

/**
 * How a field is stored and read:
 *  int   a count, a tick, a refcount, a result (may be negative: -errno)
 *  id    an object of the model (rwsem, spinlock, mm, VMA, folio, page table, task)
 *  addr  a user virtual address or a range bound (printed in hex)
 *  hash  a 32-bit FNV-1a of bytes (printed as 8 hex digits)
 *  entry a page-table entry value (x86 layout: pfn and _PAGE_* bits, see pagetable.ts)
 *  name  an interned name: stored as the run's name id, read as its text
 *  bool  0 or 1, read as false or true
 *  enum  a code of an EnumDef, read as its name
 *  flags a bit set of a FlagsDef, read as the number
 */
export type FieldType =
  | 'int' | 'id' | 'addr' | 'hash' | 'entry' | 'name' | 'bool'
  | EnumDef<string> | FlagsDef<string>;

/** What a field reads as. */
export type FieldValue<T> =
  T extends 'name' ? string
    : T extends 'bool' ? boolean
      : T extends EnumDef<infer N> ? N
        : number;

/** What an emitter takes for a field (a name is passed as its interned id). */
export type FieldArg<T> =
  T extends 'bool' ? boolean
    : T extends EnumDef<infer N> ? N
      : number;

/**
 * What a kind's blob holds: `bytes` (a Uint8Array), `u32s` (a list of u32, e.g. woken tids), or
 * `triples` (a list of [tid, on, wait] for the deadlock report).
 */
export type BlobType = 'bytes' | 'u32s' | 'triples';

export type BlobValue<B> =
  B extends 'bytes' ? Uint8Array
    : B extends 'u32s' ? number[]
      : B extends 'triples' ? { tid: number; on: number; wait: number }[]
        : never;

/** A blob as an emitter takes it. */
export type BlobArg<B> = B extends 'bytes' ? Uint8Array : B extends 'u32s' | 'triples' ? readonly number[] : never;

export type Fields = Readonly<Record<string, FieldType>>;

export interface KindSpec<F extends Fields = Fields> {
  /** The stable number: part of the on-disk format, never reused. */
  readonly code: number;
  /** Up to four numeric fields, in slot order a..d. */
  readonly fields: F;
  /** The blob, under the property name it decodes to. */
  readonly blob?: { readonly name: string; readonly type: BlobType };
  /** Virtual ticks the event costs (default DEFAULT_COST). */
  readonly cost?: number;
  /** A field whose value adds value/8 ticks (the bytes of a copy). */
  readonly costPerByte?: Extract<keyof F, string>;
  /** One line on what the event says (shown by `--help` texts and the docs). */
  readonly doc: string;
}

export const DEFAULT_COST = 10;

/** Declare a kind (an identity function that keeps the literal types). */
export function kind<const F extends Fields, const B extends KindSpec<F>['blob'] = undefined>(
  spec: KindSpec<F> & { blob?: B },
): KindSpec<F> & { blob: B } {
  if (Object.keys(spec.fields).length > 4) throw new Error(`kind ${spec.code}: more than four fields`);
  return spec as KindSpec<F> & { blob: B };
}

// --- derived types ------------------------------------------------------------------------------

type BlobFieldsOf<S> = S extends { blob: { name: infer BN extends string; type: infer BT } }
  ? { readonly [P in BN]: BlobValue<BT> | null }
  : unknown;

type BlobArgsOf<S> = S extends { blob: { name: infer BN extends string; type: infer BT } }
  ? { readonly [P in BN]?: BlobArg<BT> }
  : unknown;

/** The decoded event of kind `N` whose spec is `S`. */
export type EventOfSpec<N extends string, S> = S extends KindSpec<infer F>
  ? { readonly kind: N; readonly seq: number; readonly tick: number; readonly tid: number }
    & { readonly [P in keyof F]: FieldValue<F[P]> }
    & BlobFieldsOf<S>
  : never;

/** What the emitter of a kind whose spec is `S` takes. */
export type ArgsOfSpec<S> = S extends KindSpec<infer F>
  ? { readonly [P in keyof F]: FieldArg<F[P]> } & BlobArgsOf<S>
  : never;

// --- the staged event ---------------------------------------------------------------------------

/**
 * The event of the running step, staged by an emitter and stamped by the simulator when the task
 * yields. One per thread: a step runs to its yield without interleaving with another simulation.
 */
export const staged = { kind: 0, a: 0, b: 0, c: 0, d: 0, data: undefined as Uint8Array | undefined };

/** Encode a list of u32 (little-endian), the layout of the `u32s` and `triples` blobs. */
export function encodeU32s(values: readonly number[]): Uint8Array {
  // Byte by byte rather than through a DataView: a small Uint8Array lives in the JS heap until its
  // .buffer is asked for, and a DataView asks for it (an ArrayBuffer allocated and copied per blob,
  // on the recording hot path for every rwsem_wake).
  const out = new Uint8Array(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]! >>> 0;
    const o = i * 4;
    out[o] = x & 0xff;
    out[o + 1] = (x >>> 8) & 0xff;
    out[o + 2] = (x >>> 16) & 0xff;
    out[o + 3] = x >>> 24;
  }
  return out;
}

/**
 * Decode a little-endian u32 list. Byte by byte, as encodeU32s writes it: a DataView would ask for
 * the array's .buffer, which moves a small on-heap Uint8Array (an online run's blob, as the
 * emitter made it) out of the JS heap, an allocation and a copy per blob.
 */
export function decodeU32s(data: Uint8Array | null | undefined): number[] {
  if (!data) return [];
  const out: number[] = [];
  for (let i = 0; i + 4 <= data.length; i += 4) {
    out.push((data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16)) + data[i + 3]! * 0x1000000);
  }
  return out;
}

function decodeTriples(data: Uint8Array | null | undefined): { tid: number; on: number; wait: number }[] {
  const u = decodeU32s(data);
  const out: { tid: number; on: number; wait: number }[] = [];
  for (let i = 0; i + 3 <= u.length; i += 3) out.push({ tid: u[i]!, on: u[i + 1]!, wait: u[i + 2]! });
  return out;
}

const SLOTS = ['a', 'b', 'c', 'd'] as const;

/** A blob as stored: bytes as given, lists encoded. */
function encodeBlob(type: BlobType, value: unknown): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  return type === 'bytes' ? (value as Uint8Array) : encodeU32s(value as readonly number[]);
}

function decodeBlob(type: BlobType, data: Uint8Array | null | undefined): unknown {
  if (type === 'bytes') return data ?? null;
  if (type === 'u32s') return decodeU32s(data);
  return decodeTriples(data);
}

/** The emitter of one kind: stages the event and returns 0 (`yield emit.x({...})`). */
export type Emitter = (args: Record<string, unknown>) => 0;

/**
 * The code of the enum name in `value`, as generated source: a comparison per name (the names are
 * interned constants, so each is one pointer comparison) before the lookup in `codes` that a name
 * this build does not know ends in. A keyed lookup by a varying string is a hash probe on every
 * event; the enums are small (at most a handful of names).
 */
export function enumCode(value: string, type: EnumDef<string>, codes: string): string {
  const tests = Object.entries(type.codes).map(([n, code]) => `${value} === ${JSON.stringify(n)} ? ${code} : `);
  return `${tests.join('')}${codes}[${value}]`;
}

/** The generated emitter: fixed property reads, no allocation beyond a list blob's encoding. */
export function makeEmitter(name: string, spec: KindSpec): Emitter {
  const fields = Object.entries(spec.fields);
  const consts: unknown[] = [staged];
  const lines = [`S.kind = ${spec.code};`];
  fields.forEach(([field, type], i) => {
    const src = `o[${JSON.stringify(field)}]`;
    let expr: string;
    if (type === 'bool') expr = `${src} ? 1 : 0`;
    else if (typeof type === 'object' && type.kind === 'enum') {
      consts.push(type.codes);
      lines.push(`const v${i} = ${src};`);
      expr = enumCode(`v${i}`, type, `C${consts.length - 1}`);
    } else expr = src;
    lines.push(`S.${SLOTS[i]} = ${expr};`);
  });
  for (let i = fields.length; i < 4; i++) lines.push(`S.${SLOTS[i]} = 0;`);
  if (spec.blob) {
    consts.push(encodeBlob);
    lines.push(`S.data = C${consts.length - 1}(${JSON.stringify(spec.blob.type)}, o[${JSON.stringify(spec.blob.name)}]);`);
  } else {
    lines.push('S.data = undefined;');
  }
  const params = consts.map((_, i) => (i === 0 ? 'S' : `C${i}`));
  const body = `return function emit_${name}(o) {\n  ${lines.join('\n  ')}\n  return 0;\n};`;
  return new Function(...params, body)(...consts) as Emitter;
}

/** The generated decoder of one kind: (row, names) → a fresh event object of a fixed shape. */
export type RowDecoder = (row: RawRow, names: readonly string[]) => unknown;

/** An event as stored: [seq, tick, tid, kind, a, b, c, d, data]. */
export type RawRow = readonly [number, number, number, number, number, number, number, number, Uint8Array | null | undefined];

/**
 * Refills an event object of its kind from the nine values of an event as the simulator hands them
 * to a sink: the online checkers' decoding, with no row in between (a row mixes numbers and a blob,
 * so V8 would store each address in it as a heap number).
 */
export type ArgsRefill = (
  seq: number, tick: number, tid: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
  names: readonly string[], into: object,
) => unknown;

/** Where a generated decoder reads the nine stored columns (seq, tick, tid, kind, a, b, c, d, data) from. */
type ColumnSource = readonly [string, string, string, string, string, string, string, string, string];

/** A row `r`, as RawRow. */
const ROW_COLUMNS: ColumnSource = ['r[0]', 'r[1]', 'r[2]', 'r[3]', 'r[4]', 'r[5]', 'r[6]', 'r[7]', 'r[8]'];

/** An event's values as the parameters of an ArgsRefill (the kind is the refill's own). */
const ARGS_COLUMNS: ColumnSource = ['seq', 'tick', 'tid', 'kind', 'a', 'b', 'c', 'd', '(data ?? null)'];

/** Event `i` of a block `B` (an EventBlock: the store's columns). */
const BLOCK_COLUMNS: ColumnSource = [
  '(B.firstSeq + i)', 'B.tick[i]', 'B.tid[i]', 'B.kind[i]', 'B.a[i]', 'B.b[i]', 'B.c[i]', 'B.d[i]', '(B.data.get(i) ?? null)',
];

/**
 * Each field of a kind as [property, expression over the stored columns (`columns`) and names `N`],
 * and the constants they use.
 */
function decodedProps(name: string, spec: KindSpec, columns: ColumnSource = ROW_COLUMNS): { props: [string, string][]; consts: unknown[] } {
  const consts: unknown[] = [];
  const props: [string, string][] = [['"kind"', JSON.stringify(name)], ['"seq"', columns[0]], ['"tick"', columns[1]], ['"tid"', columns[2]]];
  Object.entries(spec.fields).forEach(([field, type], i) => {
    const src = columns[4 + i]!;
    let expr: string;
    if (type === 'name') expr = `(N[${src}] ?? '')`;
    else if (type === 'bool') expr = `${src} !== 0`;
    else if (typeof type === 'object' && type.kind === 'enum') {
      // The names array first (an element load); name() only for a code this build does not know.
      consts.push(type.names, type);
      expr = `(C${consts.length - 2}[${src}] ?? C${consts.length - 1}.name(${src}))`;
    } else expr = src;
    props.push([JSON.stringify(field), expr]);
  });
  if (spec.blob) {
    consts.push(decodeBlob);
    props.push([JSON.stringify(spec.blob.name), `C${consts.length - 1}(${JSON.stringify(spec.blob.type)}, ${columns[8]})`]);
  }
  return { props, consts };
}

export function makeDecoder(name: string, spec: KindSpec): RowDecoder {
  const { props, consts } = decodedProps(name, spec);
  const params = consts.map((_, i) => `C${i}`);
  const body = `return function decode_${name}(r, N) {\n  return { ${props.map(([k, v]) => `${k}: ${v}`).join(', ')} };\n};`;
  return new Function(...params, body)(...consts) as RowDecoder;
}

export function makeArgsRefill(name: string, spec: KindSpec): ArgsRefill {
  const { props, consts } = decodedProps(name, spec, ARGS_COLUMNS);
  const params = consts.map((_, i) => `C${i}`);
  const body = `return function refill_args_${name}(seq, tick, tid, a, b, c, d, data, N, o) {\n  ${props.slice(1).map(([k, v]) => `o[${k}] = ${v};`).join(' ')}\n  return o;\n};`;
  return new Function(...params, body)(...consts) as ArgsRefill;
}

/**
 * Refills an event object of its kind from event i of a block, in place: an ArgsRefill that reads the
 * columns themselves. A row array in between would box every address it holds (a row mixes numbers
 * and a blob, so V8 stores each number as a heap object): a garbage collection every few chunks.
 */
export type BlockRefill = (block: EventBlock, i: number, names: readonly string[], into: object) => unknown;

export function makeBlockRefill(name: string, spec: KindSpec): BlockRefill {
  const { props, consts } = decodedProps(name, spec, BLOCK_COLUMNS);
  const params = consts.map((_, i) => `C${i}`);
  const body = `return function refill_at_${name}(B, i, N, o) {\n  ${props.slice(1).map(([k, v]) => `o[${k}] = ${v};`).join(' ')}\n  return o;\n};`;
  return new Function(...params, body)(...consts) as BlockRefill;
}
