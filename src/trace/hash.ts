/**
 * The running hash over a run's events: a 32-bit chain, cheap enough for the recording hot path and
 * stable across machines (integer arithmetic only). `eventHash` folds one event's columns; `chain`
 * folds that into the running value. The chain value after the last event is the run's finalHash.
 */

/** FNV-1a's offset basis and prime (32-bit). */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;
const TWO_POW_32 = 4294967296;

/** Fold one number (integer, |x| < 2^53) into h. */
function mix(h: number, x: number): number {
  const lo = x >>> 0;
  const hi = Math.floor(x / TWO_POW_32) | 0;
  h = Math.imul(h ^ lo, FNV_PRIME);
  h = Math.imul(h ^ hi, FNV_PRIME);
  return h;
}

export const HASH_SEED = FNV_OFFSET;

/** FNV-1a over bytes, used for copied data and returned buffers. */
export function bytesHash(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h >>> 0;
}

export function eventHash(
  seq: number, tick: number, tid: number, kind: number,
  a: number, b: number, c: number, d: number, data: Uint8Array | undefined,
): number {
  let h = mix(FNV_OFFSET, seq);
  h = mix(h, tick);
  h = Math.imul(h ^ tid, FNV_PRIME);
  h = Math.imul(h ^ kind, FNV_PRIME);
  h = mix(h, a);
  h = mix(h, b);
  h = mix(h, c);
  h = mix(h, d);
  if (data !== undefined) h = Math.imul(h ^ bytesHash(data), FNV_PRIME);
  return h >>> 0;
}

/** Next chain value: a murmur3-style finaliser over (previous chain, event hash). */
export function chain(prev: number, ev: number): number {
  let h = Math.imul(prev ^ ev, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash as it is shown and stored: 8 hex digits. */
export function hashHex(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0');
}
