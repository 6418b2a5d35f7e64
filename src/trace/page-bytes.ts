/**
 * The bytes of a folio, allocated on demand: a folio is handed out zeroed, and most folios of a long
 * run are written a word at a time or only read, so a folio holds only what was written. Nothing
 * while it is all zeros; after one write, that write's extent; once writes reach a second place, the
 * pages they touched, one PAGE_SIZE buffer each. So a 1 GiB folio of which one page is written
 * holds one page. Every reader sees the bytes a full zeroed buffer would hold.
 *
 * Both models of memory keep folio bytes this way: the kernel model's struct folio and the replay
 * model's, whose state document shows a hash of them. That is why it sits here, below both: the
 * two hash the same bytes the same way (hash() equals bytesHash() over a full buffer).
 */
import { FNV_OFFSET, FNV_PRIME } from './hash.js';
import { PAGE_SIZE } from './vocab/index.js';

/**
 * Zeros that unwritten bytes are read through: one buffer for everything, grown to the longest
 * read, never written (read() hands out views of it for copying from).
 */
let zeros = new Uint8Array(PAGE_SIZE);

function zeroBytes(len: number): Uint8Array {
  if (zeros.length < len) zeros = new Uint8Array(len);
  return zeros.subarray(0, len);
}

/** FNV_PRIME ** n modulo 2^32: what n zero bytes multiply an FNV-1a hash by. */
function primePower(n: number): number {
  let result = 1;
  let base = FNV_PRIME;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
  }
  return result;
}

/** How PageBytes travels in a snapshot: plain data msgpackr encodes as it is. */
export interface PageBytesWire {
  size: number;
  base: number;
  extent: Uint8Array | null;
  pages: [number, Uint8Array][] | null;
}

/** What PageBytes holds. One Store may back several PageBytes (clone()) until one of them writes. */
interface Store {
  /** The one extent written so far, at [base, base + extent.length); null: none (or pages instead). */
  extent: Uint8Array | null;
  base: number;
  /** Once writes went to more than one extent: page index -> that page's bytes. */
  pages: Map<number, Uint8Array> | null;
  /** hash() of these bytes, once computed (a store is not written while it is shared). */
  hash: number | null;
}

function copyStore(s: Store): Store {
  return {
    extent: s.extent && s.extent.slice(), base: s.base, hash: s.hash,
    pages: s.pages && new Map([...s.pages].map(([index, page]) => [index, page.slice()])),
  };
}

export class PageBytes {
  private store: Store = { extent: null, base: 0, pages: null, hash: null };
  /** The store is shared with a clone: copy it before writing (copy-on-write). */
  private shared = false;

  constructor(readonly size: number) {}

  private get extent(): Uint8Array | null {
    return this.store.extent;
  }

  private get base(): number {
    return this.store.base;
  }

  private get pages(): Map<number, Uint8Array> | null {
    return this.store.pages;
  }

  /** The store, made this object's own and its cached hash dropped: about to be written. */
  private writable(): Store {
    if (this.shared) {
      this.store = copyStore(this.store);
      this.shared = false;
    }
    this.store.hash = null;
    return this.store;
  }

  /**
   * The bytes [offset, offset + len) for copying from: a view where they lie in one stored piece or
   * are all zero (never to be written through), else a fresh copy.
   */
  read(offset: number, len: number): Uint8Array {
    if (this.pages === null) return this.readExtent(offset, len);
    const first = Math.floor(offset / PAGE_SIZE);
    const inOnePage = Math.floor((offset + len - 1) / PAGE_SIZE) === first;
    if (inOnePage) {
      const page = this.pages.get(first);
      const from = offset - first * PAGE_SIZE;
      return page ? page.subarray(from, from + len) : zeroBytes(len);
    }
    const out = new Uint8Array(len);
    this.forEachPiece(offset, len, (at, chunk) => out.set(this.read(at, chunk), at - offset));
    return out;
  }

  private readExtent(offset: number, len: number): Uint8Array {
    const held = this.extent;
    const end = offset + len;
    if (held === null || end <= this.base || offset >= this.base + held.length) return zeroBytes(len);
    // The word that was written, read back whole (a store then a load of it, the common case): the
    // extent itself. A view of an extent as small as a word costs far more than the read, since
    // V8 keeps a typed array of up to 64 bytes inside its object and must move it out first.
    if (offset === this.base && len === held.length) return held;
    if (offset >= this.base && end <= this.base + held.length) return held.subarray(offset - this.base, end - this.base);
    const out = new Uint8Array(len);
    const from = Math.max(offset, this.base);
    const to = Math.min(end, this.base + held.length);
    out.set(held.subarray(from - this.base, to - this.base), from - offset);
    return out;
  }

  /** Store `src` at `offset`. */
  write(src: Uint8Array, offset: number): void {
    const store = this.writable();
    if (store.pages === null) {
      const held = store.extent;
      if (held === null) {
        store.extent = new Uint8Array(src);
        store.base = offset;
        return;
      }
      if (offset >= store.base && offset + src.length <= store.base + held.length) {
        held.set(src, offset - store.base);
        return;
      }
      this.extentToPages(store);
    }
    this.forEachPiece(offset, src.length, (at, chunk) => {
      this.page(Math.floor(at / PAGE_SIZE)).set(src.subarray(at - offset, at - offset + chunk), at % PAGE_SIZE);
    });
  }

  /**
   * copy_highpage()-style: `len` bytes of `src` from `srcOffset` into these bytes at `dstOffset`,
   * page by page; a piece that is zero on both sides stays unallocated.
   */
  copyFrom(src: PageBytes, srcOffset: number, len: number, dstOffset: number): void {
    this.forEachPiece(srcOffset, len, (at, chunk) => {
      const to = dstOffset + (at - srcOffset);
      if (!src.holds(at, chunk) && !this.holds(to, chunk)) return; // zeros onto zeros
      this.write(src.read(at, chunk), to);
    });
  }

  /** FNV-1a over every byte, as bytesHash() of a full buffer: runs of unwritten zeros in one step. */
  hash(): number {
    this.store.hash ??= this.computeHash();
    return this.store.hash;
  }

  private computeHash(): number {
    let h = FNV_OFFSET;
    let done = 0;
    const zeroRun = (to: number) => {
      h = Math.imul(h, primePower(to - done));
      done = to;
    };
    const stored = (at: number, bytes: Uint8Array) => {
      zeroRun(at);
      for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
      done = at + bytes.length;
    };
    if (this.pages !== null) {
      for (const index of [...this.pages.keys()].sort((x, y) => x - y)) stored(index * PAGE_SIZE, this.pages.get(index)!);
    } else if (this.extent !== null) {
      stored(this.base, this.extent);
    }
    zeroRun(this.size);
    return h >>> 0;
  }

  /**
   * A copy that reads as these bytes do now (the replay model's, read off the live kernel after
   * every event): it shares the storage until either side writes, which copies it first.
   */
  clone(): PageBytes {
    const copy = new PageBytes(this.size);
    copy.store = this.store;
    copy.shared = true;
    this.shared = true;
    return copy;
  }

  toWire(): PageBytesWire {
    return {
      size: this.size, base: this.base, extent: this.extent && this.extent.slice(),
      pages: this.pages && [...this.pages].map(([index, page]) => [index, page.slice()]),
    };
  }

  /** From a snapshot: byte arrays may be views of the snapshot buffer, so each gets its own copy. */
  static fromWire(w: PageBytesWire): PageBytes {
    const b = new PageBytes(w.size);
    b.store = {
      extent: w.extent && new Uint8Array(w.extent), base: w.base, hash: null,
      pages: w.pages && new Map(w.pages.map(([index, page]) => [index, new Uint8Array(page)])),
    };
    return b;
  }

  /** Do any stored bytes overlap [offset, offset + len)? (If not, they read as zeros.) */
  private holds(offset: number, len: number): boolean {
    if (this.pages === null) {
      return this.extent !== null && offset < this.base + this.extent.length && offset + len > this.base;
    }
    for (let index = Math.floor(offset / PAGE_SIZE); index * PAGE_SIZE < offset + len; index++) {
      if (this.pages.has(index)) return true;
    }
    return false;
  }

  /** The page's buffer, allocated (zeroed) on first use. */
  private page(index: number): Uint8Array {
    let page = this.pages!.get(index);
    if (page === undefined) {
      page = new Uint8Array(PAGE_SIZE);
      this.pages!.set(index, page);
    }
    return page;
  }

  /** The single extent becomes the pages it covers. */
  private extentToPages(store: Store): void {
    const held = store.extent!;
    store.pages = new Map();
    store.extent = null;
    this.write(held, store.base);
  }

  /** Call `piece(at, len)` for each part of [offset, offset + len) that lies in one page. */
  private forEachPiece(offset: number, len: number, piece: (at: number, len: number) => void): void {
    for (let at = offset; at < offset + len; ) {
      const chunk = Math.min(offset + len - at, PAGE_SIZE - (at % PAGE_SIZE));
      piece(at, chunk);
      at += chunk;
    }
  }
}
