/**
 * A folio's bytes are allocated on demand (mm_types.ts, class Folio): nothing while it is all zero,
 * one write's extent after the first write, the whole folio after a write elsewhere or a read across
 * the extent's edge. Whatever it holds, every reader sees the bytes a full zeroed buffer would hold.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { folio_alloc } from '../src/linux/mm/folio.js';
import { type Folio, PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { runBoot } from './helpers/harness.js';

/** Run `check` on fresh folios inside a kernel (folios take their ids and pfns from it). */
function withFolios(check: (alloc: () => Gen<Folio>) => Gen): void {
  runBoot(function* (): Gen {
    yield* check(() => folio_alloc(0, true));
  });
}

/** What a full buffer written the same way would hold. */
function expected(writes: readonly (readonly [number, readonly number[]])[], size = PAGE_SIZE): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, bytes] of writes) out.set(bytes, offset);
  return out;
}

/** Every byte of the folio, read through read() in pieces that straddle nothing and everything. */
function readBack(f: Folio): Uint8Array {
  const out = new Uint8Array(f.size());
  for (let offset = 0; offset < f.size(); offset += 64) out.set(f.read(offset, 64), offset);
  return out;
}

describe('a folio allocated on demand reads as a full buffer would', () => {
  it('reads zeros before any write, in pieces and whole', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      expect(f.read(100, 8)).toEqual(new Uint8Array(8));
      expect(f.read()).toEqual(new Uint8Array(PAGE_SIZE));
    });
  });

  it('one small write: inside, outside and across its extent', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      f.write(Uint8Array.of(1, 2, 3, 4), 100);
      const want = expected([[100, [1, 2, 3, 4]]]);
      expect(f.read(101, 2)).toEqual(want.subarray(101, 103));
      expect(f.read(0, 50)).toEqual(want.subarray(0, 50));
      expect(f.read(98, 8)).toEqual(want.subarray(98, 106));
      expect(readBack(f)).toEqual(want);
    });
  });

  it('writes inside the extent, then elsewhere, keep every byte', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      f.write(Uint8Array.of(9, 9, 9, 9), 8);
      f.write(Uint8Array.of(7), 10);
      f.write(Uint8Array.of(5, 6), 4000);
      expect(readBack(f)).toEqual(expected([[8, [9, 9, 9, 9]], [10, [7]], [4000, [5, 6]]]));
      expect(f.data).toEqual(readBack(f));
    });
  });

  it('a write keeps its own copy of the source bytes', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      const src = Uint8Array.of(1, 2);
      f.write(src, 0);
      src[0] = 42;
      expect(f.read(0, 2)).toEqual(Uint8Array.of(1, 2));
    });
  });

  it('a read view of a never-written folio does not change when the folio is written', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      const before = f.read(0, 4);
      f.write(Uint8Array.of(1, 1, 1, 1), 0);
      expect(before).toEqual(new Uint8Array(4));
      expect(f.read(0, 4)).toEqual(Uint8Array.of(1, 1, 1, 1));
    });
  });

  it('copyFrom: zeros onto zeros, a written page onto a fresh one, zeros over written bytes', () => {
    withFolios(function* (alloc) {
      const zero = yield* alloc();
      const fresh = yield* alloc();
      fresh.copyFrom(zero, 0, PAGE_SIZE);
      expect(readBack(fresh)).toEqual(new Uint8Array(PAGE_SIZE));

      const src = yield* alloc();
      src.write(Uint8Array.of(3, 4), 2000);
      fresh.copyFrom(src, 0, PAGE_SIZE);
      expect(readBack(fresh)).toEqual(expected([[2000, [3, 4]]]));

      const dirty = yield* alloc();
      dirty.write(Uint8Array.of(8, 8), 10);
      dirty.copyFrom(zero, 0, PAGE_SIZE);
      expect(readBack(dirty)).toEqual(new Uint8Array(PAGE_SIZE));
    });
  });

  it('copyFrom a window that misses the source extent copies zeros', () => {
    withFolios(function* (alloc) {
      const src = yield* alloc();
      src.write(Uint8Array.of(1), 0);
      const dst = yield* alloc();
      dst.copyFrom(src, 1024, 512, 0);
      expect(readBack(dst)).toEqual(new Uint8Array(PAGE_SIZE));
      dst.write(Uint8Array.of(5), 3);
      dst.copyFrom(src, 1024, 512, 0);
      expect(readBack(dst)).toEqual(new Uint8Array(PAGE_SIZE));
    });
  });
});
