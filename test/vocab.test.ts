/**
 * The vocabulary is the one source of truth: what an emitter stages, the decoder reads back by
 * name; every coded value has a name; and docs/events.md is generated from it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventsMarkdown } from '../src/trace/vocab/doc.js';
import {
  decode, decodeU32s, Decoder, emit, encodeU32s, KINDS, staged, type FieldType, type KindName, type RawRow,
} from '../src/trace/vocab/index.js';

const NAMES = ['', 'mmap_lock', 'rwsem_down_read', 'VMA_LOCK_SUCCESS'];

/** A value for a field of this type, different for each slot, and what it must decode to. */
function sample(type: FieldType, slot: number): { arg: unknown; read: unknown } {
  if (type === 'name') return { arg: 1 + (slot % 3), read: NAMES[1 + (slot % 3)] };
  if (type === 'bool') return { arg: slot % 2 === 0, read: slot % 2 === 0 };
  if (typeof type === 'object' && type.kind === 'enum') {
    const names = Object.keys(type.codes);
    const name = names[(slot + 1) % names.length]!;
    return { arg: name, read: name };
  }
  const value = type === 'addr' ? 0x7ffd_0000_1000 + slot : type === 'int' ? -4 - slot : 1000 + slot;
  return { arg: value, read: value };
}

describe('the vocabulary', () => {
  it.each(KINDS.map((d) => [d.name, d] as const))('%s: the emitter stages what the decoder reads back by name', (name, d) => {
    const args: Record<string, unknown> = {};
    const expected: Record<string, unknown> = { kind: name, seq: 7, tick: 70, tid: 3 };
    d.fields.forEach((field, slot) => {
      const { arg, read } = sample(d.types[slot]!, slot);
      args[field] = arg;
      expected[field] = read;
    });
    if (d.blobField?.type === 'bytes') {
      args[d.blobField.name] = new Uint8Array([1, 2, 3]);
      expected[d.blobField.name] = new Uint8Array([1, 2, 3]);
    } else if (d.blobField?.type === 'u32s') {
      args[d.blobField.name] = [4, 5];
      expected[d.blobField.name] = [4, 5];
    } else if (d.blobField?.type === 'triples') {
      args[d.blobField.name] = [1, 2, 3, 4, 5, 6];
      expected[d.blobField.name] = [{ tid: 1, on: 2, wait: 3 }, { tid: 4, on: 5, wait: 6 }];
    }
    (emit[name as KindName] as (o: Record<string, unknown>) => 0)(args);
    expect(staged.kind).toBe(d.kind);
    const row: RawRow = [7, 70, 3, staged.kind, staged.a, staged.b, staged.c, staged.d, staged.data];
    expect(decode(row, NAMES)).toEqual(expected);
    // view() reads the same event into one object reused per kind: a second row refills it.
    const decoder = new Decoder(NAMES);
    const first = decoder.view([1, 1, 1, staged.kind, 0, 0, 0, 0, null]);
    const again = decoder.view(row);
    expect(again).toBe(first);
    expect(again).toEqual(expected);
    // viewOf() reads it from the values the simulator hands a sink, into the same object.
    const online = new Decoder(NAMES);
    const firstOnline = online.viewOf(1, 1, 1, staged.kind, 0, 0, 0, 0, undefined);
    const againOnline = online.viewOf(7, 70, 3, staged.kind, staged.a, staged.b, staged.c, staged.d, staged.data);
    expect(againOnline).toBe(firstOnline);
    expect(againOnline).toEqual(expected);
  });

  it('stages 0 in the slots a kind does not use, so a row never carries a stale field', () => {
    emit.rwsem_acquire({ sem: 9, class: 1, mode: 'write', how: 'woken' });
    emit.folio_free({ folio: 5 });
    expect([staged.a, staged.b, staged.c, staged.d, staged.data]).toEqual([5, 0, 0, 0, undefined]);
  });

  it('reads a code the build does not know as its number, and a kind it does not know as unknown', () => {
    const row: RawRow = [1, 10, 2, KINDS.find((d) => d.name === 'rwsem_acquire')!.kind, 9, 1, 7, 0, null];
    const e = decode(row, NAMES);
    expect(e.kind === 'rwsem_acquire' && e.mode).toBe('7');
    expect(decode([1, 10, 2, 250, 0, 0, 0, 0, null], NAMES)).toMatchObject({ kind: 'unknown', code: 250 });
  });

  it('gives every kind a unique number, at most four fields and a line of documentation', () => {
    expect(new Set(KINDS.map((d) => d.kind)).size).toBe(KINDS.length);
    for (const d of KINDS) {
      expect(d.fields.length).toBeLessThanOrEqual(4);
      expect(d.doc.length).toBeGreaterThan(5);
    }
  });

  it('u32 lists round-trip, the top bit and an array at an offset in its buffer included', () => {
    const values = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x01020304];
    const encoded = encodeU32s(values);
    expect(decodeU32s(encoded)).toEqual(values);
    const inside = new Uint8Array(encoded.length + 6);
    inside.set(encoded, 3);
    expect(decodeU32s(inside.subarray(3, 3 + encoded.length))).toEqual(values);
    expect(decodeU32s(Buffer.from([4, 3, 2, 1, 9]))).toEqual([0x01020304]); // a trailing partial word is not a value
    expect(decodeU32s(null)).toEqual([]);
  });

  it('is documented in docs/events.md as generated (regenerate with `npm run docs:events`)', () => {
    expect(readFileSync(new URL('../docs/events.md', import.meta.url), 'utf8')).toBe(eventsMarkdown());
  });
});
