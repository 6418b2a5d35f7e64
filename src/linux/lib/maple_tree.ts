/**
 * The VMA tree (lib/maple_tree.c), modelled as arrays ordered by address. Lookups are single steps
 * of the simulation, so an RCU reader sees either the tree before or after a writer's store, never a
 * torn one -- the guarantee MT_FLAGS_USE_RCU gives. What a reader gets may be detached or freed by
 * the time it uses it; that is what the VMA lock checks are for.
 *
 * As in the kernel, the tree keeps its own ranges: a VMA's vm_start and vm_end may change while the
 * tree still maps the old range to it, until the writer stores. __split_vma() shrinks the original
 * VMA and then stores the new one over the part split off; in between, a lockless lookup there
 * finds the original (write-locked) VMA, not a hole. So a reader that finds an entry must still
 * check that the address lies in the VMA's own range, as lock_vma_under_rcu() does.
 */
export interface Range {
  vm_start: number;
  vm_end: number;
}

export class MapleTree<T extends Range> {
  // One slot per entry, ordered by address: the entry and the range the tree maps to it.
  private entries: T[] = [];
  private starts: number[] = [];
  private ends: number[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** Index of the first slot whose range ends above addr. */
  private lowerBound(addr: number): number {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** mas_walk / mtree_load: the entry whose range contains addr, or undefined. */
  load(addr: number): T | undefined {
    const i = this.lowerBound(addr);
    return i < this.entries.length && this.starts[i]! <= addr ? this.entries[i] : undefined;
  }

  /** find_vma: the first entry whose range ends above addr (it may start above addr). */
  find(addr: number): T | undefined {
    return this.entries[this.lowerBound(addr)];
  }

  /** The last entry whose range ends at or below addr (find_vma_prev's prev). */
  prev(addr: number): T | undefined {
    return this.entries[this.lowerBound(addr) - 1];
  }

  /** The entry after `v` (vma_next). */
  next(v: T): T | undefined {
    return this.entries[this.entries.indexOf(v) + 1];
  }

  /** Entries whose ranges overlap [start, end). */
  overlapping(start: number, end: number): T[] {
    const out: T[] = [];
    for (let i = this.lowerBound(start); i < this.entries.length && this.starts[i]! < end; i++) out.push(this.entries[i]!);
    return out;
  }

  /**
   * vma_iter_store(): map [v.vm_start, v.vm_end) to `v`, overwriting what the tree mapped there.
   * v's own earlier range goes first (a VMA that grew or moved is stored again); an entry wholly
   * inside the range leaves the tree, and one that overlaps an edge keeps the part outside. A store
   * strictly inside one entry's range would split that entry in two, which no caller does.
   */
  store(v: T): void {
    this.erase(v);
    const start = v.vm_start;
    const end = v.vm_end;
    let i = this.lowerBound(start);
    if (i < this.entries.length && this.starts[i]! < start) {
      if (this.ends[i]! > end) {
        throw new Error(`maple tree: a store of [${hex(start)}, ${hex(end)}) inside [${hex(this.starts[i]!)}, ${hex(this.ends[i]!)})`);
      }
      this.ends[i] = start; // the entry below keeps its part under start
      i++;
    }
    let covered = 0;
    while (i + covered < this.entries.length && this.ends[i + covered]! <= end) covered++;
    if (i + covered < this.entries.length && this.starts[i + covered]! < end) this.starts[i + covered] = end;
    this.entries.splice(i, covered, v);
    this.starts.splice(i, covered, start);
    this.ends.splice(i, covered, end);
  }

  /** Take an entry's range out of the tree (by identity). */
  erase(v: T): void {
    const i = this.entries.indexOf(v);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
  }

  /** The entries in address order. */
  all(): readonly T[] {
    return this.entries;
  }
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}
