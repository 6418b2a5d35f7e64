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
 * Among such layouts the one covering the most bytes wins (a skipped probe byte may match by
 * chance; covering more rules it out). A copy longer than what is left of the buffer may end it
 * unverified: the caller kept only its head (a proctitle, a read cut at `count`).
 */
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
}

interface Placement {
  at: number;
  copy: CopyFacts;
}

/**
 * The layout of `copies` in `data` covering the most bytes (see the file comment). A layout ending
 * in an unverified copy loses a tie to one whose bytes all hash right: scores count 2 per byte, 1
 * less for an unverified end.
 */
export function placeCopies(copies: readonly CopyFacts[], data: Uint8Array): Placement[] {
  const L = data.length;
  const memo = new Map<number, number>();
  const fits = (copy: CopyFacts, at: number) => at + copy.len <= L && bytesHash(data, at, at + copy.len) === copy.hash;
  const endsUnverified = (copy: CopyFacts, at: number) => at < L && at + copy.len > L;
  const placedScore = (i: number, at: number): number => {
    const copy = copies[i]!;
    if (fits(copy, at)) return 2 * copy.len + best(i + 1, at + copy.len);
    if (endsUnverified(copy, at)) return 2 * (L - at) - 1;
    return -1;
  };
  // best(i, at): the best score copies i.. can reach from offset `at`; memoised per (i, at).
  const best = (i: number, at: number): number => {
    if (i === copies.length || at === L) return 0;
    const key = i * (L + 1) + at;
    let score = memo.get(key);
    if (score === undefined) {
      score = Math.max(best(i + 1, at), placedScore(i, at));
      memo.set(key, score);
    }
    return score;
  };
  // Walk the best layout: place copy i when placing it is what reaches the best score.
  const out: Placement[] = [];
  for (let i = 0, at = 0; i < copies.length && at < L; i++) {
    const copy = copies[i]!;
    if (placedScore(i, at) <= best(i + 1, at)) continue;
    out.push({ at, copy });
    if (!fits(copy, at)) break; // the unverified end
    at += copy.len;
  }
  return out;
}

/**
 * The sources of the bytes in `ranges` (offsets into `data`), one entry per copy and range they
 * share. Bytes no copy accounts for are left out: the caller sees them as unattributed.
 */
export function byteSources(copies: readonly CopyFacts[], data: Uint8Array, ranges: readonly [number, number][]): ByteSource[] {
  const out: ByteSource[] = [];
  const placed = placeCopies(copies, data);
  for (const [from, to] of ranges) {
    for (const { at, copy } of placed) {
      const s = Math.max(from, at);
      const e = Math.min(to, at + copy.len, data.length);
      if (s >= e) continue;
      out.push({ seq: copy.seq, range: [s, e], addr: copy.addr + (s - at), vma: copy.vma, folio: copy.folio, pageCache: copy.fromPageCache });
    }
  }
  return out;
}

const hex = (n: number) => `0x${n.toString(16)}`;
/** Here, not from linux/: diff/ sits below the kernel model (DESIGN.md, "The layers"). */
const PAGE_SIZE = 4096;

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
  return `[${s.range[0]}, ${s.range[1]}) from ${hex(s.addr)} in ${describeVma(s.vma, s.addr)}, ${folio} (copy #${s.seq})`;
}
