/**
 * Where a request's returned bytes came from: which copy from the target (target address, VMA,
 * file, folio) put each byte of the buffer there.
 *
 * The log has the copies from the target into a kernel buffer (`copy`: address, length, folio, hash
 * of the bytes) and the bytes the request returned, but not how the caller laid the kernel buffer
 * out in the user's: get_mm_cmdline first copies argv's last byte to look for setproctitle() and
 * throws it away, get_mm_proctitle keeps only the first string of a page. So the layout is
 * inferred: the returned buffer is read as the request's copies laid end to end from offset 0, in
 * order, some of them skipped, each placed only where the returned bytes hash to the copy's hash.
 * A copy longer than what is left of the buffer may end it unverified: the caller kept only its
 * head (a proctitle, a read cut at `count`). Of the layouts, the one covering the most bytes wins,
 * a verified byte counting twice an unverified one (a skipped probe byte may match by chance;
 * covering more rules it out).
 */
import { PAGE_SIZE } from '../trace/vocab/index.js';
import { bytesHash } from '../trace/hash.js';
import type { CopyFacts, VmaAtCopy } from './facts.js';

/** A stretch of the returned buffer and the copy that put it there. */
export interface ByteSource {
  /** Seq of the copy (for `replay --until`). */
  seq: number;
  /** Offsets into the returned buffer, [from, to). */
  range: [number, number];
  /** The target address of the stretch's first byte. */
  addr: number;
  vma: VmaAtCopy | null;
  /** 0 the zero page, -1 an I/O handler (vm_ops->access), else the folio id. */
  folio: number;
  pageCache: boolean;
  /** False for a copy the caller kept only the head of: its bytes could not be checked by hash. */
  verified: boolean;
}

interface Placement {
  at: number;
  copy: CopyFacts;
  verified: boolean;
}

/** A way to lay out the copies so far: the offset reached, and how (newest placement first). */
interface Layout {
  at: number;
  placed: PlacementList | null;
}

interface PlacementList {
  head: Placement;
  rest: PlacementList | null;
}

/**
 * Layouts kept per step, the furthest-reaching ones. Every copy that is skipped rather than placed
 * makes more layouts possible; a few are enough for probes, and the bound keeps the search linear
 * in the number of copies (a read of a thousand identical pages would otherwise branch at each).
 */
const MAX_LAYOUTS = 8;

/** The layout of `copies` in `data` covering the most bytes (see the file comment). */
export function placeCopies(copies: readonly CopyFacts[], data: Uint8Array): Placement[] {
  const bufferLength = data.length;
  const fits = (copy: CopyFacts, at: number) => at + copy.len <= bufferLength && bytesHash(data, at, at + copy.len) === copy.hash;
  let layouts: Layout[] = [{ at: 0, placed: null }];
  // The best layout ending in an unverified copy, and its score (2 per verified byte, 1 per other).
  let bestEnd: { layout: Layout; score: number } | null = null;
  for (const copy of copies) {
    const next = new Map<number, Layout>(layouts.map((l) => [l.at, l])); // skipping the copy
    for (const l of layouts) {
      if (l.at === bufferLength) continue;
      if (fits(copy, l.at)) {
        const at = l.at + copy.len;
        if (!next.has(at)) next.set(at, { at, placed: { head: { at: l.at, copy, verified: true }, rest: l.placed } });
      } else if (l.at + copy.len > bufferLength) {
        const score = 2 * l.at + (bufferLength - l.at);
        if (!bestEnd || score > bestEnd.score) {
          bestEnd = { layout: { at: bufferLength, placed: { head: { at: l.at, copy, verified: false }, rest: l.placed } }, score };
        }
      }
    }
    layouts = [...next.values()].sort((x, y) => y.at - x.at).slice(0, MAX_LAYOUTS);
  }
  const furthest = layouts[0]!;
  const best = bestEnd && bestEnd.score > 2 * furthest.at ? bestEnd.layout : furthest;
  const out: Placement[] = [];
  for (let p = best.placed; p; p = p.rest) out.push(p.head);
  return out.reverse();
}

/**
 * The sources of the bytes in `ranges` (offsets into `data`), one entry per copy and range they
 * share. Bytes no copy accounts for are left out: the caller sees them as unattributed.
 */
export function byteSources(copies: readonly CopyFacts[], data: Uint8Array, ranges: readonly [number, number][]): ByteSource[] {
  const out: ByteSource[] = [];
  const placed = placeCopies(copies, data);
  for (const [from, to] of ranges) {
    for (const { at, copy, verified } of placed) {
      const s = Math.max(from, at);
      const e = Math.min(to, at + copy.len, data.length);
      if (s >= e) continue;
      out.push({ seq: copy.seq, range: [s, e], addr: copy.addr + (s - at), vma: copy.vma, folio: copy.folio, pageCache: copy.fromPageCache, verified });
    }
  }
  return out;
}

export const hex = (n: number) => `0x${n.toString(16)}`;

/** "anon VMA [0x1000, 0x3000)" or "file 'libc.so' +0x2000 (VMA [0x1000, 0x3000))". */
export function describeVma(vma: VmaAtCopy | null, addr: number): string {
  if (!vma) return 'no VMA';
  const span = `[${hex(vma.start)}, ${hex(vma.end)}) created at #${vma.createdAt}`;
  if (vma.file === null) return `anon VMA ${span}`;
  return `file '${vma.file}' +${hex(vma.pgoff * PAGE_SIZE + (addr - vma.start))} (VMA ${span})`;
}

/** One line per source: "[8, 16) from 0x6000 in anon VMA [0x6000, 0x7000) created at #80, folio 12 (copy #311)". */
export function describeSource(s: ByteSource): string {
  const folio = s.folio === 0 ? 'the zero page' : s.folio === -1 ? 'an I/O handler' : `folio ${s.folio}${s.pageCache ? ' (page cache)' : ''}`;
  const unverified = s.verified ? '' : '; unverified: the caller kept part of this copy, so its address is a guess';
  return `[${s.range[0]}, ${s.range[1]}) from ${hex(s.addr)} in ${describeVma(s.vma, s.addr)}, ${folio} (copy #${s.seq}${unverified})`;
}
