/**
 * The VMA tree (lib/maple_tree.c), modelled as an array ordered by vm_start. Lookups are single
 * steps of the simulation, so an RCU reader sees either the tree before or after a writer's store,
 * never a torn one -- the guarantee MT_FLAGS_USE_RCU gives. What a reader gets may be detached or
 * freed by the time it uses it; that is what the VMA lock checks are for.
 */
export interface Range {
  vm_start: number;
  vm_end: number;
}

export class MapleTree<T extends Range> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Index of the first entry with vm_end > addr. */
  private lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.vm_end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** mas_walk / mtree_load: the entry containing addr, or undefined. */
  load(addr: number): T | undefined {
    const v = this.items[this.lowerBound(addr)];
    return v !== undefined && v.vm_start <= addr ? v : undefined;
  }

  /** find_vma: the first entry ending above addr (it may start above addr). */
  find(addr: number): T | undefined {
    return this.items[this.lowerBound(addr)];
  }

  /** The last entry ending at or below addr (find_vma_prev's prev). */
  prev(addr: number): T | undefined {
    return this.items[this.lowerBound(addr) - 1];
  }

  /** The entry after `v` (vma_next). */
  next(v: T): T | undefined {
    return this.items[this.items.indexOf(v) + 1];
  }

  /** Entries overlapping [start, end). */
  overlapping(start: number, end: number): T[] {
    const out: T[] = [];
    for (let i = this.lowerBound(start); i < this.items.length; i++) {
      const v = this.items[i]!;
      if (v.vm_start >= end) break;
      out.push(v);
    }
    return out;
  }

  /** Store an entry; its range must be free. */
  insert(v: T): void {
    const i = this.lowerBound(v.vm_start);
    const at = this.items[i];
    if (at !== undefined && at.vm_start < v.vm_end) {
      throw new Error(`maple tree: [${hex(v.vm_start)}, ${hex(v.vm_end)}) overlaps [${hex(at.vm_start)}, ${hex(at.vm_end)})`);
    }
    this.items.splice(i, 0, v);
  }

  /** Remove an entry (by identity). */
  erase(v: T): void {
    const i = this.items.indexOf(v);
    if (i >= 0) this.items.splice(i, 1);
  }

  /** Restore order after an entry's bounds changed in place (split/merge adjust). */
  reorder(): void {
    this.items.sort((a, b) => a.vm_start - b.vm_start);
  }

  all(): readonly T[] {
    return this.items;
  }
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}
