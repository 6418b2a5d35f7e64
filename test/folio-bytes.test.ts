/**
 * A folio's bytes are allocated on demand (trace/page-bytes.ts, used by class Folio and by the replay
 * model): nothing while it is all zero, one write's extent after the first write, the pages touched
 * once writes reach a second place -- never the whole folio, so a 1 GiB folio costs what was written.
 * Whatever it holds, every reader sees the bytes a full zeroed buffer would hold, and its hash is
 * bytesHash() of that buffer.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { folio_alloc } from '../src/linux/mm/folio.js';
import { type Folio, PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { PageBytes } from '../src/trace/page-bytes.js';
import { bytesHash } from '../src/trace/hash.js';
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
      expect(f.read(0, f.size())).toEqual(new Uint8Array(PAGE_SIZE));
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

  it('the word written, read back whole, then rewritten: each read sees the bytes of its time', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      f.write(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 64);
      const first = Uint8Array.from(f.read(64, 8)); // copied at once, as a copy_to_user would
      f.write(Uint8Array.of(9, 9), 66);
      expect(first).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      expect(f.read(64, 8)).toEqual(Uint8Array.of(1, 2, 9, 9, 5, 6, 7, 8));
      expect(f.read(63, 10)).toEqual(Uint8Array.of(0, 1, 2, 9, 9, 5, 6, 7, 8, 0));
    });
  });

  it('writes inside the extent, then elsewhere, keep every byte', () => {
    withFolios(function* (alloc) {
      const f = yield* alloc();
      f.write(Uint8Array.of(9, 9, 9, 9), 8);
      f.write(Uint8Array.of(7), 10);
      f.write(Uint8Array.of(5, 6), 4000);
      expect(readBack(f)).toEqual(expected([[8, [9, 9, 9, 9]], [10, [7]], [4000, [5, 6]]]));
      expect(f.read(0, f.size())).toEqual(readBack(f));
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

  it('a large folio written in two distant places holds only the pages written, and reads as a full buffer', () => {
    runBoot(function* (): Gen {
      const huge = yield* folio_alloc(18, false); // 1 GiB, a PUD leaf's folio
      const far = huge.size() - PAGE_SIZE + 10;
      huge.write(Uint8Array.of(1, 2, 3), 5);
      huge.write(Uint8Array.of(4, 5), far);
      expect(huge.read(4, 5)).toEqual(Uint8Array.of(0, 1, 2, 3, 0));
      expect(huge.read(far - 1, 4)).toEqual(Uint8Array.of(0, 4, 5, 0));
      // Across a page boundary: one copy of two pages' bytes.
      expect(huge.read(PAGE_SIZE - 2, 4)).toEqual(new Uint8Array(4));
      const held = huge.bytes.toWire();
      expect(held.extent).toBeNull();
      expect(held.pages!.map(([index]) => index)).toEqual([0, huge.nr_pages - 1]);
    });
  });

  it('hash(): bytesHash of the full buffer, whatever is stored (none, an extent, pages)', () => {
    const size = 64 * PAGE_SIZE;
    const full = new Uint8Array(size);
    const bytes = new PageBytes(size);
    expect(bytes.hash()).toBe(bytesHash(full));
    bytes.write(Uint8Array.of(9, 8, 7), 100);
    full.set([9, 8, 7], 100);
    expect(bytes.hash()).toBe(bytesHash(full));
    bytes.write(Uint8Array.of(6, 5), 40 * PAGE_SIZE - 1);
    full.set([6, 5], 40 * PAGE_SIZE - 1);
    expect(bytes.toWire().pages).not.toBeNull();
    expect(bytes.hash()).toBe(bytesHash(full));
    expect(PageBytes.fromWire(bytes.toWire()).hash()).toBe(bytesHash(full));
  });

  it('clone(): reads as the bytes did when cloned, whichever side is written afterwards', () => {
    const bytes = new PageBytes(8 * PAGE_SIZE);
    bytes.write(Uint8Array.of(1), 0);
    bytes.write(Uint8Array.of(2), 5 * PAGE_SIZE);
    const copy = bytes.clone();
    const before = copy.hash();
    bytes.write(Uint8Array.of(3), 5 * PAGE_SIZE);
    expect(copy.read(5 * PAGE_SIZE, 1)).toEqual(Uint8Array.of(2));
    expect(copy.hash()).toBe(before);
    copy.write(Uint8Array.of(4), 0);
    expect(bytes.read(0, 1)).toEqual(Uint8Array.of(1));
    expect(bytes.read(5 * PAGE_SIZE, 1)).toEqual(Uint8Array.of(3));
    expect(bytes.hash()).not.toBe(before);
  });
});
