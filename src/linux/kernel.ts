/**
 * Kernel-wide state of one emulated machine: configuration, object identities, the page-frame
 * allocator, RCU, the LRU and the page cache. One instance per simulation, reachable from any
 * kernel function through `kernel()` (the kernel's own globals, per-CPU data and `current`).
 */
import { sim } from '../sim/sim.js';
import type { Sim } from '../sim/sim.js';
import type { Variant } from './variants.js';

export interface KernelConfig {
  /** Per-VMA locks (mm/mmap_lock.c); off: every fault and reader takes mmap_lock. */
  CONFIG_PER_VMA_LOCK: boolean;
  /** Page tables freed after an RCU grace period (x86 selects it); off: freed at once. */
  CONFIG_MMU_GATHER_RCU_TABLE_FREE: boolean;
  /** PTE-table locks live in the table page (x86-64 SMP default); off: mm->page_table_lock. */
  CONFIG_SPLIT_PTE_PTLOCKS: boolean;
  CONFIG_SPLIT_PMD_PTLOCKS: boolean;
  /**
   * Free page tables at once even with RCU table freeing (kernel-spec §12.4c): models arches and
   * paths without RCU-deferred freeing while keeping the fast path built, so a lockless walker can
   * read a freed table (reported as use_after_free).
   */
  pteFreeImmediate: boolean;
  /** `vm_ops->access` is used by __access_remote_vm (generic_access_phys). */
  CONFIG_HAVE_IOREMAP_PROT: boolean;
  /**
   * ptep/pmdp_set_access_flags() write a changed entry for a read access too (mm/pgtable-generic.c:
   * arm64 and most arches). Off (x86, the default): only for a write (`dirty`), since the MMU sets
   * the accessed bit itself -- so touch_pmd() after a GUP read leaves an old PMD old.
   */
  accessFlagsGeneric: boolean;
  /** RWSEM_WAIT_TIMEOUT in ticks (~4 ms at 1 tick = 1 ns): a waiter older than this sets HANDOFF. */
  rwsemWaitTimeoutTicks: number;
  /**
   * Fault injection: the page that batches freed page tables (tlb_remove_table's GFP_NOWAIT
   * allocation) cannot be allocated, so each table is freed on its own by tlb_remove_table_one(),
   * the way a kernel of the given kind does it (mm/mmu_gather.c): `rcu`, call_rcu per table
   * (CONFIG_PT_RECLAIM); `sync`, synchronize_rcu then free (without PT_RECLAIM); `ipi`, the
   * tlb_remove_table_sync_one() IPI then free (older kernels). `none`: the allocation succeeds.
   */
  tableBatchFail: TableBatchFail;
  /**
   * The multi-gen LRU (CONFIG_LRU_GEN with /sys/kernel/mm/lru_gen/enabled on, as most distributions
   * ship it): folio_mark_accessed counts refs, the aging walks page tables into generations and
   * reclaim evicts the oldest one (mm/lru_gen.ts). Off: the classic active/inactive lists.
   */
  lru_gen_enabled: boolean;
}

/** The tlb_remove_table_one() fallbacks the `tableBatchFail` knob chooses among. */
export const TABLE_BATCH_FAIL = ['none', 'rcu', 'sync', 'ipi'] as const;
export type TableBatchFail = (typeof TABLE_BATCH_FAIL)[number];

/** The config switches that take one of a few words, and the words. */
export const CONFIG_CHOICES: Readonly<Partial<Record<keyof KernelConfig, readonly string[]>>> = {
  tableBatchFail: TABLE_BATCH_FAIL,
};

export const DEFAULT_CONFIG: KernelConfig = {
  CONFIG_PER_VMA_LOCK: true,
  CONFIG_MMU_GATHER_RCU_TABLE_FREE: true,
  pteFreeImmediate: false,
  CONFIG_SPLIT_PTE_PTLOCKS: true,
  CONFIG_SPLIT_PMD_PTLOCKS: true,
  CONFIG_HAVE_IOREMAP_PROT: true,
  rwsemWaitTimeoutTicks: 4_000_000,
  accessFlagsGeneric: false,
  tableBatchFail: 'none',
  lru_gen_enabled: false,
};

/**
 * What the kernel was built with beyond Kconfig: the access path of the series (mainline GUP only,
 * or with the per-VMA-lock fast path of patch 3/3) and the review's variant switches.
 */
export interface KernelBuild {
  fastPath: boolean;
  variants: ReadonlySet<Variant>;
}

export const MAINLINE: KernelBuild = { fastPath: false, variants: new Set() };

export class Kernel {
  private nextObjectId = 1;
  private nextPfn = 0x1000;
  /** Per-kernel singletons created by their own modules (rcu, lru, zero page...), by key. */
  readonly subsystems = new Map<string, unknown>();
  /** The same singletons by their perKernel() slot: what the hot paths read. */
  readonly slots: unknown[] = [];

  constructor(readonly config: KernelConfig, readonly sim: Sim, readonly build: KernelBuild = MAINLINE) {
    sim.ctx = this;
  }

  /** A fresh identity for a kernel object (mm, vma, table, folio, lock): dense and deterministic. */
  newId(): number {
    return this.nextObjectId++;
  }

  /** Allocate `nr` contiguous page frames; returns the first pfn (never reused, so a pfn names one allocation). */
  allocPfns(nr: number): number {
    // Align large allocations naturally, like the buddy allocator does.
    const pfn = Math.ceil(this.nextPfn / nr) * nr;
    this.nextPfn = pfn + nr;
    return pfn;
  }

  /** A per-kernel singleton: created on first use. */
  subsystem<T>(key: string, create: () => T): T {
    let s = this.subsystems.get(key) as T | undefined;
    if (s === undefined) {
      s = create();
      this.subsystems.set(key, s);
    }
    return s;
  }
}

let slotsTaken = 0;

/**
 * A per-kernel singleton of a module, by key, created on first use: `const rcu = perKernel('rcu',
 * () => new RcuState())`, then `rcu()` (or `rcu(k)` for a kernel not running). Each gets a slot
 * in every kernel when its module loads, so finding it is an array read: the page and table maps,
 * RCU and the locks are looked up several times an event, and a lookup by key in `subsystems` (which
 * still has them, for readers outside the hot paths) was about 2% of the simulation.
 */
export function perKernel<T extends object>(key: string, create: () => T): (k?: Kernel) => T {
  const slot = slotsTaken++;
  return (k: Kernel = kernel()): T => (k.slots[slot] as T | undefined) ?? (k.slots[slot] = k.subsystem(key, create));
}

/** The kernel of the running simulation. */
export function kernel(): Kernel {
  return sim().ctx as Kernel;
}

/** Is the running kernel built with this variant switch of the fast path? */
export function variant(v: Variant): boolean {
  return kernel().build.variants.has(v);
}
