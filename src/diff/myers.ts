/**
 * Myers' O((N+M)·D) shortest edit script over token arrays, with a cap on D so that very different
 * streams stop at the cap instead of going quadratic, and the cheap bounds that let the caller skip
 * it: the common prefix, and a lower bound on the edits.
 */

/** Edits per task beyond which the streams are reported as diverging instead of aligned. */
export const MAX_EDITS = 2000;

/** One edit: delete a[ai] (op '-') or insert b[bj] (op '+'); the other index is where it happens. */
export interface Edit {
  op: '-' | '+';
  ai: number;
  bj: number;
}

type Seq = ArrayLike<number>;

/**
 * Myers' greedy shortest edit script of a[aLo, aHi) against b[bLo, bHi), in order. Returns null
 * when it needs more than maxD edits. Keeps the frontier of every step d (O(D²) memory) to walk the
 * path back.
 */
export function myers(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number, maxD: number): Edit[] | null {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const max = Math.min(n + m, maxD);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
      let x = down ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d, offset + d + 1));
        return backtrack(trace, n, m, aLo, bLo);
      }
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

/** Walk the saved frontiers back from (n, m) to (0, 0), collecting the edits. */
function backtrack(trace: Int32Array[], n: number, m: number, aLo: number, bLo: number): Edit[] {
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1]!;
    // prev holds diagonals -(d-1)..(d-1) at indexes 0..2d-2
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    if (down) edits.push({ op: '+', ai: aLo + prevX, bj: bLo + prevY });
    else edits.push({ op: '-', ai: aLo + prevX, bj: bLo + prevY });
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/**
 * A lower bound on the edits turning a[aLo, aHi) into b[bLo, bHi): every surplus occurrence of a
 * token on one side must be deleted or inserted, so at least the sum over tokens of the difference
 * of their counts. Linear, where Myers needs O((N+M)·maxD) to find out it exceeds maxD.
 */
export function editsLowerBound(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number {
  const vocabulary = smallIdsBound(a, aLo, aHi, b, bLo, bHi);
  let bound = 0;
  if (vocabulary !== null) {
    // Token ids (small non-negative integers): count in a typed array, no hashing per token.
    const counts = new Int32Array(vocabulary);
    for (let i = aLo; i < aHi; i++) counts[a[i]!]!++;
    for (let j = bLo; j < bHi; j++) counts[b[j]!]!--;
    for (let t = 0; t < vocabulary; t++) bound += Math.abs(counts[t]!);
  } else {
    const counts = new Map<number, number>();
    for (let i = aLo; i < aHi; i++) counts.set(a[i]!, (counts.get(a[i]!) ?? 0) + 1);
    for (let j = bLo; j < bHi; j++) counts.set(b[j]!, (counts.get(b[j]!) ?? 0) - 1);
    for (const n of counts.values()) bound += Math.abs(n);
  }
  return bound;
}

/** Largest value + 1 when every value is an integer in [0, 2^20), else null. */
function smallIdsBound(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number | null {
  let max = -1;
  for (const [s, lo, hi] of [[a, aLo, aHi], [b, bLo, bHi]] as const) {
    for (let i = lo; i < hi; i++) {
      const x = s[i]!;
      if (!(x >= 0 && x < 2 ** 20 && Number.isInteger(x))) return null;
      if (x > max) max = x;
    }
  }
  return max + 1;
}

/** The edits turning a into b (prefix and suffix stripped, then Myers), or null beyond maxD edits. */
export function alignTokens(a: Seq, b: Seq, maxD = MAX_EDITS): Edit[] | null {
  return alignRange(a, 0, a.length, b, 0, b.length, maxD);
}

/** alignTokens on a[aLo, aHi) and b[bLo, bHi); edits carry indexes into the whole arrays. */
export function alignRange(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number, maxD: number): Edit[] | null {
  const prefix = commonPrefix(a, aLo, aHi, b, bLo, bHi);
  let suffix = 0;
  while (suffix < Math.min(aHi - aLo, bHi - bLo) - prefix && a[aHi - 1 - suffix] === b[bHi - 1 - suffix]) suffix++;
  const [aFrom, bFrom, aTo, bTo] = [aLo + prefix, bLo + prefix, aHi - suffix, bHi - suffix];
  // Runs of two paths mostly differ by far more than maxD: skip Myers when the counts already say so.
  if (editsLowerBound(a, aFrom, aTo, b, bFrom, bTo) > maxD) return null;
  return myers(a, aFrom, aTo, b, bFrom, bTo, maxD);
}

export function commonPrefix(a: Seq, aLo: number, aHi: number, b: Seq, bLo: number, bHi: number): number {
  const limit = Math.min(aHi - aLo, bHi - bLo);
  let n = 0;
  while (n < limit && a[aLo + n] === b[bLo + n]) n++;
  return n;
}
