/**
 * The emulated state at one event, as both replay engines produce it: re-execution reads it off the
 * live kernel objects, projection folds it from the log. The two documents must be identical at
 * every event, so every field here is something the events say (each kind's effect on state is
 * defined in src/replay/projection.ts).
 *
 * Lists are sorted by identity; idle locks are left out; freed objects are gone.
 */

export type TaskRunState = 'running' | 'runnable' | 'blocked' | 'sleeping' | 'done';

export interface TaskState {
  tid: number;
  name: string;
  state: TaskRunState;
  /** What a blocked task waits for: an object id and the wait class, since which tick. */
  blockedOn: { on: number; wait: string; since: number; killable: boolean } | null;
  /** A sleeping task is runnable again at this tick. */
  wakeAt: number | null;
  /** The emulated call stack, outermost first (__access_remote_vm > get_user_pages_remote > ...). */
  stack: string[];
  /** The request in flight (e.g. `monitor:3`), if any. */
  request: string | null;
  /** Ticks spent blocked or sleeping so far. */
  waitTicks: number;
  /** RCU read-side nesting (an IRQ-disabled region counts). */
  rcuNesting: number;
  /** IRQs disabled on the task's CPU (local_irq_disable depth). */
  irqsOff: number;
}

export interface MmState {
  mm: number;
  pid: number;
  /** The id of its mmap_lock (see locks.rwsems). */
  mmapLock: number;
  mm_lock_seq: number;
  arg_start: number;
  arg_end: number;
  env_start: number;
  env_end: number;
}

export interface VmaState {
  vma: number;
  mm: number;
  start: number;
  end: number;
  flags: number;
  file: string | null;
  pgoff: number;
  attached: boolean;
  vm_refcnt: number;
  vm_lock_seq: number;
}

export interface TableState {
  table: number;
  level: number;
  base: number;
  /** Non-empty entries: [index, value]. */
  entries: [number, number][];
  /** Queued for freeing after an RCU grace period (tlb_remove_table / pte_free_defer). */
  pendingFree: boolean;
}

export interface FolioState {
  folio: number;
  pfn: number;
  order: number;
  refcount: number;
  mapcount: number;
  flags: number;
  lru: number;
  file: string | null;
  index: number;
  /** FNV-1a of the folio's bytes, 8 hex digits. */
  dataHash: string;
}

/** A slot of the swap device in use: swap PTEs referring to it, the swap cache's folio for it. */
export interface SwapSlotState {
  offset: number;
  /** swap_map: the swap PTEs that refer to the slot. */
  count: number;
  /** SWAP_HAS_CACHE: a folio of the swap cache stands for the slot (`folio`, once added). */
  cache: boolean;
  folio: number | null;
  /** FNV-1a of what the device holds for the slot (zeros until written), 8 hex digits. */
  dataHash: string;
}

export interface RwsemState {
  sem: number;
  class: string;
  readers: number[];
  writer: number | null;
  waiters: { tid: number; mode: 'read' | 'write' }[];
  handoff: boolean;
}

export interface SpinState {
  lock: number;
  class: string;
  owner: number | null;
  waiters: number[];
}

export interface RcuStateDoc {
  gpSeq: number;
  /** Readers the grace period in progress still waits for. */
  gpWaitingFor: number[];
  /** Callbacks queued for the next grace period. */
  pending: number[];
  /** Callbacks of the grace period in progress (or being invoked). */
  inGracePeriod: number[];
}

export interface RequestState {
  /** `task:n`: the n-th request of that task (how two runs match requests). */
  id: string;
  task: string;
  op: string;
  addr: number;
  len: number;
  /** Bytes returned, or -errno; null while in flight. */
  result: number | null;
  dataHash: string | null;
}

export interface StateDoc {
  seq: number;
  tick: number;
  tasks: TaskState[];
  mms: MmState[];
  vmas: VmaState[];
  tables: TableState[];
  folios: FolioState[];
  swap: SwapSlotState[];
  locks: { rwsems: RwsemState[]; spinlocks: SpinState[] };
  rcu: RcuStateDoc;
  requests: RequestState[];
  checks: { warnings: number; useAfterFree: number; kernelFaults: number; deadlock: boolean };
}
