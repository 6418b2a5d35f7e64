/**
 * lockdep: the order in which tasks take lock classes. Each acquisition made while holding another
 * class adds an edge held -> taken to a graph of classes (with the first pair of stacks that showed
 * it). Reported, in the shape of a lockdep splat:
 *
 * - an acquisition against the documented hierarchy (mm/rmap.c's comment: mmap_lock, then the VMA
 *   lock, i_mmap_rwsem, anon_vma's rwsem, the page-table locks, then leaf spinlocks such as
 *   lru_lock), e.g. mmap_lock taken while a VMA read lock is held;
 * - an edge that closes a cycle between classes (possible circular locking dependency).
 *
 * A trylock (vmf_anon_prepare's mmap_read_trylock under the VMA lock, PT_RECLAIM's spin_trylock of
 * the PMD lock under the PTE lock) adds no dependency, as in lockdep. Taking a second lock of the class already held (two PTLs, two mms' mmap_locks in fork) is left
 * alone: the kernel annotates those with lock subclasses, which the model does not emit.
 */
import { stackOf } from '../reduce/call-stacks.js';
import type { Hold } from '../reduce/lock-holders.js';
import type { Reducer } from '../reduce/reducer.js';
import type { CheckContext } from './context.js';

/**
 * Rank in the documented order: a class may be taken while holding classes of lower rank only.
 * The split PMD lock is page_table_lock when split PMD locks are off, so the two share a rank; a
 * PTE lock nests inside the PMD lock (collapse, spin_lock_nested), so it ranks below it.
 */
const RANK: Readonly<Record<string, number>> = {
  mmap_lock: 0,
  vma_lock: 1,
  i_mmap_rwsem: 2,
  anon_vma: 3,
  page_table_lock: 4,
  pmd_lock: 4,
  ptl: 5,
  arg_lock: 6,
  lru_lock: 7,
};

interface Edge {
  held: Hold;
  taken: Hold;
}

export class Lockdep implements Reducer {
  /** No event of its own: it hears every acquisition from the lock-holder table (onAcquire). */
  readonly kinds = [] as const;
  private readonly edges = new Map<string, Map<string, Edge>>();
  private readonly reported = new Set<string>();

  constructor(private readonly ctx: CheckContext) {
    ctx.locks.onAcquire((taken, heldBefore) => {
      // A trylock cannot wait, so it cannot deadlock: lockdep records no dependency for it.
      if (taken.trylock) return;
      for (const held of heldBefore) if (held.class !== taken.class) this.order(held, taken);
    });
  }

  event(): void {}

  private order(held: Hold, taken: Hold): void {
    const rankHeld = RANK[held.class];
    const rankTaken = RANK[taken.class];
    if (rankHeld !== undefined && rankTaken !== undefined && rankTaken < rankHeld) {
      this.splat(`${held.class}->${taken.class}`, 'against the documented lock order', held, taken,
        `${taken.class} (${taken.mode}) taken while holding ${held.class} (${held.mode}): ${held.class} nests inside ${taken.class}`);
    }
    if (!this.addEdge(held, taken)) return;
    const back = this.path(taken.class, held.class);
    if (back) {
      this.splat(`cycle:${[held.class, taken.class].sort().join('/')}`, 'possible circular locking dependency', held, taken,
        `${held.class} -> ${taken.class} closes the cycle ${[taken.class, ...back].join(' -> ')}`);
    }
  }

  /** Record held -> taken; false if that edge was known. */
  private addEdge(held: Hold, taken: Hold): boolean {
    let from = this.edges.get(held.class);
    if (!from) this.edges.set(held.class, (from = new Map()));
    if (from.has(taken.class)) return false;
    from.set(taken.class, { held, taken });
    return true;
  }

  /** A path of classes from `from` to `to` in the graph (the classes after `from`), or null. */
  private path(from: string, to: string): string[] | null {
    const seen = new Set<string>([from]);
    const walk = (at: string): string[] | null => {
      for (const next of this.edges.get(at)?.keys() ?? []) {
        if (next === to) return [next];
        if (seen.has(next)) continue;
        seen.add(next);
        const rest = walk(next);
        if (rest) return [next, ...rest];
      }
      return null;
    };
    return walk(from);
  }

  private splat(key: string, title: string, held: Hold, taken: Hold, detail: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const { ctx } = this;
    ctx.report({
      checker: 'lockdep', severity: 'bug', message: `${title}: ${detail}`,
      seqs: [held.seq, taken.seq],
      witnesses: [
        { seq: held.seq, task: ctx.task(held.tid), stack: stackOf(held.frame), what: `${held.class} ${held.mode} taken (${held.object} ${held.id})` },
        { seq: taken.seq, task: ctx.task(taken.tid), stack: stackOf(taken.frame), what: `${taken.class} ${taken.mode} taken (${taken.object} ${taken.id})` },
      ],
      request: ctx.requestOf(taken.tid),
    });
  }
}
