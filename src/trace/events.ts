/**
 * The event vocabulary: a closed, versioned list of event kinds with stable numbers.
 *
 * Every event is one row: seq (global order), tick (virtual time), tid (emulated task; 0 = the
 * simulator itself, e.g. a timer), kind, four numeric fields a..d whose meaning the kind names, and
 * an optional blob whose shape the kind names too. Names (functions, files, tasks, ops) are interned
 * per run, so string-valued fields hold a name id.
 *
 * Numbers are part of the on-disk format: never renumber a kind, only append. Bump SCHEMA_VERSION
 * when a kind is added or a field changes meaning; the log carries its own copy of this table (the
 * `kinds` table), so old runs stay readable.
 */

export const SCHEMA_VERSION = 1;

export type Family =
  | 'lock'
  | 'pagetable'
  | 'folio'
  | 'copy'
  | 'vma'
  | 'call'
  | 'request'
  | 'sched'
  | 'check';

/** What the optional blob of a kind holds. */
export type BlobShape = 'none' | 'bytes' | 'msgpack';

export interface KindDef {
  readonly kind: number;
  readonly name: string;
  readonly family: Family;
  /** Names of fields a..d (fewer when the kind uses fewer). */
  readonly fields: readonly string[];
  /** Fields that hold an interned name id (shown as text by readers). */
  readonly names?: readonly string[];
  readonly blob?: BlobShape;
  /** Virtual ticks the event costs (default 10; copies add bytes/8, see sim). */
  readonly cost?: number;
}

// Keep this list append-only. Field names follow the kernel where it has one.
const DEFS = [
  // --- sched -------------------------------------------------------------------------------------
  { kind: 1, name: 'task_start', family: 'sched', fields: ['name', 'pid'], names: ['name'], cost: 0 },
  { kind: 2, name: 'task_exit', family: 'sched', fields: ['code'], cost: 0 },
  // The task stops being runnable until woken; `on` is the object it waits for, `wait` the wait class;
  // killable: a fatal signal wakes it.
  { kind: 3, name: 'sched_block', family: 'sched', fields: ['on', 'wait', 'killable'], names: ['wait'], cost: 0 },
  { kind: 4, name: 'sched_wakeup', family: 'sched', fields: ['target', 'on'], cost: 0 },
  // Sleep in virtual time (I/O, msleep): runnable again at tick `until`.
  { kind: 5, name: 'sched_sleep', family: 'sched', fields: ['until', 'why'], names: ['why'], cost: 0 },
  { kind: 6, name: 'signal_send', family: 'sched', fields: ['target', 'sig'], cost: 0 },
  // The idle task ran (tid IDLE_TID): every runnable task was held by a directed schedule, so the
  // clock moved on to `until`, when a sleeping task wakes. A scheduling decision like any other.
  { kind: 7, name: 'sched_idle', family: 'sched', fields: ['until'], cost: 0 },

  // --- lock: mmap_lock tracepoints (include/trace/events/mmap_lock.h) ---------------------------------
  { kind: 10, name: 'mmap_lock_start_locking', family: 'lock', fields: ['mm', 'memcg_id', 'write'] },
  { kind: 11, name: 'mmap_lock_acquire_returned', family: 'lock', fields: ['mm', 'memcg_id', 'write', 'success'] },
  { kind: 12, name: 'mmap_lock_released', family: 'lock', fields: ['mm', 'memcg_id', 'write'] },
  { kind: 13, name: 'mm_lock_seq', family: 'lock', fields: ['mm', 'old', 'new'] },
  // --- lock: rw_semaphore internals (kernel/locking/rwsem.c) ------------------------------------------
  // mode: 0 read, 1 write. how: 0 fast path, 1 optimistic steal, 2 woken/handed off, 3 downgrade
  { kind: 14, name: 'rwsem_acquire', family: 'lock', fields: ['sem', 'class', 'mode', 'how'], names: ['class'] },
  { kind: 15, name: 'rwsem_contended', family: 'lock', fields: ['sem', 'class', 'mode', 'waiters'], names: ['class'] },
  { kind: 16, name: 'rwsem_release', family: 'lock', fields: ['sem', 'class', 'mode'], names: ['class'] },
  { kind: 17, name: 'rwsem_handoff', family: 'lock', fields: ['sem', 'class'], names: ['class'] },
  // result: 0 ok, 4 -EINTR (fatal signal while waiting)
  { kind: 18, name: 'rwsem_fail', family: 'lock', fields: ['sem', 'class', 'mode', 'err'], names: ['class'] },
  // --- lock: spinlocks (PTL, pmd lock, page_table_lock, arg_lock, lru_lock) -------------------------
  { kind: 20, name: 'spin_lock', family: 'lock', fields: ['lock', 'class', 'waited'], names: ['class'] },
  // queued: 1 when the task now waits in the lock's queue, 0 for a failed spin_trylock
  { kind: 21, name: 'spin_contended', family: 'lock', fields: ['lock', 'class', 'owner', 'queued'], names: ['class'] },
  { kind: 22, name: 'spin_unlock', family: 'lock', fields: ['lock', 'class'], names: ['class'] },
  // --- lock: RCU --------------------------------------------------------------------------------------
  { kind: 25, name: 'rcu_read_lock', family: 'lock', fields: ['nesting'] },
  { kind: 26, name: 'rcu_read_unlock', family: 'lock', fields: ['nesting'] },
  { kind: 27, name: 'call_rcu', family: 'lock', fields: ['cb', 'what', 'obj'], names: ['what'] },
  { kind: 28, name: 'rcu_gp_start', family: 'lock', fields: ['gp', 'readers'] },
  { kind: 29, name: 'rcu_gp_end', family: 'lock', fields: ['gp', 'callbacks'] },
  { kind: 30, name: 'rcu_callback', family: 'lock', fields: ['cb', 'what', 'obj'], names: ['what'] },
  // --- lock: per-VMA locks (mm/mmap_lock.c) -----------------------------------------------------------
  // result: 0 ok, 1 NULL (write-locked / readers excluded), 2 -EAGAIN (detached), 3 foreign mm
  { kind: 35, name: 'vma_start_read', family: 'lock', fields: ['vma', 'result', 'refcnt'] },
  { kind: 36, name: 'vma_end_read', family: 'lock', fields: ['vma', 'refcnt'] },
  { kind: 37, name: 'vma_start_write', family: 'lock', fields: ['vma', 'waited', 'vm_lock_seq'] },
  { kind: 38, name: 'vma_start_read_locked', family: 'lock', fields: ['vma', 'refcnt'] },
  { kind: 39, name: 'vma_refcnt', family: 'lock', fields: ['vma', 'old', 'new'] },
  // counter: interned VMA_LOCK_SUCCESS / ABORT / RETRY / MISS
  { kind: 40, name: 'vmstat', family: 'lock', fields: ['counter'], names: ['counter'] },
  { kind: 41, name: 'mas_walk', family: 'vma', fields: ['addr', 'vma'] },

  // --- pagetable ----------------------------------------------------------------------------------------
  // level: 4 PGD, 3 PUD, 2 PMD, 1 PTE (P4D folded). lockless: 1 when read without the table's lock.
  { kind: 50, name: 'pgtable_read', family: 'pagetable', fields: ['level', 'addr', 'value', 'lockless'] },
  { kind: 51, name: 'pmd_recheck', family: 'pagetable', fields: ['addr', 'same', 'value'] },
  { kind: 52, name: 'pgtable_set', family: 'pagetable', fields: ['table', 'addr', 'value', 'old'] },
  { kind: 53, name: 'pgtable_alloc', family: 'pagetable', fields: ['level', 'table', 'addr'] },
  // mode: 0 immediate, 1 RCU-deferred (queued), 2 after IPI sync, 3 RCU callback ran (freed now)
  { kind: 54, name: 'pgtable_free', family: 'pagetable', fields: ['level', 'table', 'mode'] },
  // kind: interned anon_read_zero, anon_write, file_read, cow, wp_reuse, spurious ...; result: VM_FAULT_* bits
  { kind: 55, name: 'fault', family: 'pagetable', fields: ['vma', 'addr', 'how', 'result'], names: ['how'] },
  // The MMU set the accessed (and dirty) bits of an entry.
  { kind: 56, name: 'pte_young', family: 'pagetable', fields: ['table', 'addr', 'value'] },
  // a user-mode load/store by a target thread hit a present, permitted entry (the MMU, no kernel code)
  // blob: the stored bytes, for writes; folio: the folio accessed
  { kind: 57, name: 'user_access', family: 'pagetable', fields: ['addr', 'len', 'write', 'folio'], blob: 'bytes' },
  { kind: 58, name: 'tlb_flush', family: 'pagetable', fields: ['mm', 'start', 'end'] },

  // --- folio --------------------------------------------------------------------------------------------
  // flags: the folio's initial page flags (PG_swapbacked: anonymous; PG_reserved: the zero page)
  { kind: 60, name: 'folio_alloc', family: 'folio', fields: ['folio', 'pfn', 'order', 'flags'] },
  { kind: 61, name: 'folio_get', family: 'folio', fields: ['folio', 'ref'] },
  { kind: 62, name: 'folio_try_get', family: 'folio', fields: ['folio', 'ref', 'ok'] },
  { kind: 63, name: 'folio_put', family: 'folio', fields: ['folio', 'ref'] },
  { kind: 64, name: 'folio_free', family: 'folio', fields: ['folio'] },
  // flags before and after: PG_* bits as in src/linux/mm/folio.ts
  { kind: 65, name: 'folio_mark_accessed', family: 'folio', fields: ['folio', 'from', 'to'] },
  // lists: 0 none, 1 inactive anon, 2 active anon, 3 inactive file, 4 active file, 5 unevictable
  { kind: 66, name: 'lru_move', family: 'folio', fields: ['folio', 'from', 'to'] },
  { kind: 67, name: 'folio_mapcount', family: 'folio', fields: ['folio', 'mapcount'] },
  { kind: 68, name: 'folio_mark_dirty', family: 'folio', fields: ['folio'] },
  // The folio enters the page cache of `file` at `index`, uptodate, holding the file's bytes from
  // that index on (the whole folio: all its pages for a large folio, e.g. khugepaged's new THP).
  { kind: 69, name: 'page_cache_add', family: 'folio', fields: ['folio', 'file', 'index'], names: ['file'] },

  // --- copy ---------------------------------------------------------------------------------------------
  // folio: the source folio id, 0 for the zero page, -1 for an I/O (->access) handler. hash: FNV-1a of the bytes.
  { kind: 70, name: 'copy', family: 'copy', fields: ['addr', 'len', 'folio', 'hash'] },
  // blob: the bytes written into the folio
  { kind: 71, name: 'copy_to_folio', family: 'copy', fields: ['addr', 'len', 'folio', 'hash'], blob: 'bytes' },

  // --- vma ----------------------------------------------------------------------------------------------
  // vm_area_alloc(): a detached VMA of `mm` over [start, end); its flags and backing follow in vma_init.
  // `vma` names the slab object (vm_area_cachep is SLAB_TYPESAFE_BY_RCU): after its vma_free the same
  // id may be created again, for any mm -- the object reused, with fresh lock state (kernel-spec §2.1).
  { kind: 80, name: 'vma_create', family: 'vma', fields: ['vma', 'mm', 'start', 'end'] },
  { kind: 81, name: 'vma_mark_attached', family: 'vma', fields: ['vma', 'start', 'end'] },
  { kind: 82, name: 'vma_mark_detached', family: 'vma', fields: ['vma', 'waited'] },
  { kind: 83, name: 'vma_adjust', family: 'vma', fields: ['vma', 'start', 'end', 'pgoff'] },
  { kind: 84, name: 'vma_flags', family: 'vma', fields: ['vma', 'old', 'new'] },
  { kind: 85, name: 'vma_free', family: 'vma', fields: ['vma'] },
  // file: interned file name (0 = anonymous)
  // Follows every vma_create: vm_flags, the mapped file (0 = anonymous) and its page offset.
  { kind: 86, name: 'vma_init', family: 'vma', fields: ['vma', 'flags', 'file', 'pgoff'], names: ['file'] },
  { kind: 87, name: 'expand_stack', family: 'vma', fields: ['addr', 'vma'] },
  // mmap_lock: the id of the mm's mmap_lock rwsem
  { kind: 88, name: 'mm_create', family: 'vma', fields: ['mm', 'pid', 'mmap_lock'] },
  { kind: 89, name: 'mm_args', family: 'vma', fields: ['mm', 'arg_start', 'arg_end'] },

  // --- call ---------------------------------------------------------------------------------------------
  { kind: 90, name: 'call_enter', family: 'call', fields: ['fn', 'arg'], names: ['fn'], cost: 1 },
  { kind: 91, name: 'call_exit', family: 'call', fields: ['fn', 'ret'], names: ['fn'], cost: 1 },
  { kind: 92, name: 'gup_error', family: 'call', fields: ['addr', 'errno'] },

  // --- request ------------------------------------------------------------------------------------------
  // One user-visible operation. req: per-task request number (tid + req identify it across runs).
  { kind: 100, name: 'request_begin', family: 'request', fields: ['req', 'op', 'addr', 'len'], names: ['op'], cost: 0 },
  // result: bytes returned (or -errno); blob: the returned bytes
  { kind: 101, name: 'request_end', family: 'request', fields: ['req', 'result', 'hash', 'flags'], blob: 'bytes', cost: 0 },
  { kind: 102, name: 'syscall_begin', family: 'request', fields: ['nr', 'a0', 'a1', 'a2'], names: ['nr'], cost: 0 },
  { kind: 103, name: 'syscall_end', family: 'request', fields: ['nr', 'ret'], names: ['nr'], cost: 0 },

  // --- check --------------------------------------------------------------------------------------------
  // what: interned warning text (WARN_ON_ONCE / VM_WARN_ON_ONCE / mmap_assert_locked ...)
  { kind: 110, name: 'warn', family: 'check', fields: ['what', 'obj'], names: ['what'], cost: 0 },
  { kind: 111, name: 'deadlock', family: 'check', fields: ['blocked'], blob: 'bytes', cost: 0 },
  { kind: 112, name: 'use_after_free', family: 'check', fields: ['what', 'obj'], names: ['what'], cost: 0 },
  { kind: 113, name: 'kernel_fault', family: 'check', fields: ['what', 'addr'], names: ['what'], cost: 0 },
  { kind: 114, name: 'event_limit', family: 'check', fields: ['limit'], cost: 0 },

  // --- appended in schema 1, before the first release --------------------------------------------
  // rwsem_mark_wake(): the lock is granted to the woken waiters in this step; blob: their tids (u32
  // little-endian). mode 0 read, 1 write.
  { kind: 19, name: 'rwsem_wake', family: 'lock', fields: ['sem', 'class', 'mode', 'count'], names: ['class'], blob: 'bytes', cost: 0 },
  // copy_user_highpage(): dst gets the bytes of page `index` of src (src 0: the zero page)
  { kind: 72, name: 'folio_copy', family: 'copy', fields: ['dst', 'src', 'index'] },
  // A file exists with these contents (blob); io_ticks: time one page read-in takes.
  { kind: 73, name: 'file_create', family: 'vma', fields: ['file', 'size', 'io_ticks'], names: ['file'], blob: 'bytes', cost: 0 },
  { kind: 74, name: 'mm_env', family: 'vma', fields: ['mm', 'env_start', 'env_end'] },
  // local_irq_disable/enable: depth of IRQ-off on this CPU; an IRQ-off region is also an RCU
  // read-side section, so `rcu` is the task's RCU nesting after the step.
  { kind: 31, name: 'local_irq_disable', family: 'lock', fields: ['depth', 'rcu'] },
  { kind: 32, name: 'local_irq_enable', family: 'lock', fields: ['depth', 'rcu'] },
  // lock_vma_under_rcu_wait() (seeds/004): a retry after waiting out a writer on mmap_lock.
  { kind: 42, name: 'vma_lock_wait_retry', family: 'lock', fields: ['addr', 'retries'] },
  // access_remote_vm_fast stopped at addr after `copied` bytes, for `reason`; the slow path
  // (mmap_lock, GUP) does the rest.
  { kind: 93, name: 'fast_path_fallback', family: 'call', fields: ['addr', 'copied', 'reason'], names: ['reason'] },
  // A page flag changed outside folio_mark_accessed / lru_move (reclaim's test-and-clear of
  // PG_referenced, folio_set_referenced, folio_set_active): flags before and after, and who did it.
  { kind: 120, name: 'folio_flags', family: 'folio', fields: ['folio', 'old', 'new', 'why'], names: ['why'] },
  // folio_check_references() decided (mm/vmscan.c, kernel-spec §5.3). verdict: 0 RECLAIM,
  // 1 RECLAIM_CLEAN, 2 KEEP, 3 ACTIVATE (enum folio_references); ptes: young PTEs the rmap walk
  // cleared (-1: rmap lock contention); referenced: PG_referenced was set (test-and-cleared).
  { kind: 121, name: 'reclaim_verdict', family: 'folio', fields: ['folio', 'verdict', 'ptes', 'referenced'] },
  // x86 LAM enabled for mm (mm_enable_lam): context.untag_mask = ~GENMASK(shift + bits - 1, shift),
  // i.e. pointer bits shift..shift+bits-1 (57..62 for LAM_U57) are ignored from now on.
  { kind: 122, name: 'lam_enable', family: 'vma', fields: ['mm', 'bits', 'shift'] },
  // pgtable_trans_huge_deposit / _withdraw (op 1 / 0): the PTE table `pgtable` parked with the huge
  // PMD at `addr` of PMD table `table`, for a later split or zap. Not linked into the tree: no
  // state change beyond what pgtable_alloc / pgtable_set / pgtable_free say.
  { kind: 123, name: 'pgtable_deposit', family: 'pagetable', fields: ['table', 'addr', 'pgtable', 'op'] },
  // copy_user_highpage() of one small page into a page of a large folio (khugepaged's
  // __collapse_huge_page_copy): dst's page `index` gets src's bytes (src 0: the zero page).
  { kind: 124, name: 'folio_copy_page', family: 'copy', fields: ['dst', 'index', 'src'] },
  // tlb_remove_table_sync_one(): an empty IPI broadcast, complete once no CPU runs with IRQs off
  // (kernel-spec §4.2). waited: IRQ-off tasks it had to wait for (0: completed at once). Not an
  // RCU grace period.
  { kind: 125, name: 'ipi_sync', family: 'lock', fields: ['waited'] },
  // The folio left the page cache of `file` (folio->mapping = NULL; index kept): khugepaged's
  // collapse_file replaced it by a large folio. Its bytes and references are unchanged.
  { kind: 126, name: 'page_cache_delete', family: 'folio', fields: ['folio', 'file', 'index'], names: ['file'] },
  // A user-mode fault the kernel could not resolve (no VMA, access error): force_sig_fault() sends
  // the faulting task `sig` (SIGSEGV) for `addr`. The task's own business, not a kernel fault.
  { kind: 8, name: 'force_sig_fault', family: 'sched', fields: ['sig', 'addr'], cost: 0 },
] as const satisfies readonly KindDef[];

export type KindName = (typeof DEFS)[number]['name'];

/** Kind numbers by name: `K.mmap_lock_start_locking`. */
export const K = Object.fromEntries(DEFS.map((d) => [d.name, d.kind])) as { readonly [N in KindName]: number };

export const KINDS: readonly KindDef[] = DEFS;

const byNumber: (KindDef | undefined)[] = [];
for (const d of DEFS) byNumber[d.kind] = d;

export function kindDef(kind: number): KindDef {
  const d = byNumber[kind];
  if (!d) throw new Error(`unknown event kind ${kind}`);
  return d;
}

export const DEFAULT_COST = 10;

/** Ticks per kind, indexed by kind number (dense, for the hot path). */
export const KIND_COST: Int32Array = (() => {
  const costs = new Int32Array(byNumber.length);
  for (const d of DEFS) costs[d.kind] = (d as KindDef).cost ?? DEFAULT_COST;
  return costs;
})();

export const FAMILIES: readonly Family[] = ['lock', 'pagetable', 'folio', 'copy', 'vma', 'call', 'request', 'sched', 'check'];

/** The u32 list a blob holds (rwsem_wake's woken tids). */
export function u32s(data: Uint8Array | null): number[] {
  if (!data) return [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= data.byteLength; i += 4) out.push(v.getUint32(i, true));
  return out;
}
