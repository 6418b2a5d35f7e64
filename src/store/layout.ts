/**
 * The event layout a file declares in its `kinds` table: for each kind number, its name, family,
 * the field held in each numeric slot (a..d), which fields are interned names, and its blob. The
 * store writes the rows it is handed and reads back the file's own; it never decides what a kind is.
 */
import type { KindsTable } from './schema.js';

/** The numeric columns of an event row, in slot order. */
export const SLOTS = ['a', 'b', 'c', 'd'] as const;
export type Slot = (typeof SLOTS)[number];

export interface KindLayout {
  kind: number;
  name: string;
  family: string;
  /** Field names in slot order a..d (null: the slot is unused). */
  fields: readonly (string | null)[];
  /** The fields that hold an interned name id. */
  names: readonly string[];
  /** How the blob is stored: 'none', 'bytes', ... */
  blob: string;
  /** Each slot's field type (int, addr, hash, entry, name, bool, enum:TABLE, flags:TABLE; null: unused). */
  types?: readonly (string | null)[];
}

/** An enum's or flag set's names by code, as the `codes` table stores them. */
export interface CodeTable {
  table: string;
  codes: readonly (readonly [number, string])[];
}

export function layoutOfRow(stored: KindsTable): KindLayout {
  return {
    kind: stored.kind,
    name: stored.name,
    family: stored.family,
    fields: [stored.a, stored.b, stored.c, stored.d],
    names: JSON.parse(stored.names) as string[],
    blob: stored.blob,
    types: JSON.parse(stored.types ?? '[]') as (string | null)[],
  };
}

export function rowOfLayout(k: KindLayout): KindsTable {
  const slot = (i: number): string | null => k.fields[i] ?? null;
  return {
    kind: k.kind, name: k.name, family: k.family, a: slot(0), b: slot(1), c: slot(2), d: slot(3),
    names: JSON.stringify(k.names), blob: k.blob, types: JSON.stringify(SLOTS.map((_, i) => k.types?.[i] ?? null)),
  };
}

/** The column that holds `field` in events of kind `k`, or undefined when the kind has no such field. */
export function slotOf(k: KindLayout, field: string): Slot | undefined {
  const i = k.fields.indexOf(field);
  return i < 0 ? undefined : SLOTS[i];
}
