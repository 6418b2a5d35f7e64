/** task_struct essentials and `current`. */
import { current } from '../../sim/sim.js';
import type { Task } from '../../sim/task.js';
import type { MmStruct } from '../mm/mm_types.js';

export class TaskStruct {
  /** Requests this task has begun (request ids are per task, so two runs match them by identity). */
  requests = 0;
  /** RCU read-side nesting: rcu_read_lock() depth, IRQ-disabled regions included (rcu/tree.ts). */
  rcu_read_lock_nesting = 0;
  /**
   * When this task's outermost read-side section began, as a count of outermost sections begun
   * (RcuState.sectionsBegun); 0 before its first. Bookkeeping of the emulator, not of the kernel:
   * it emits nothing and drives no grace period; rcu_readers_left() reads it.
   */
  rcu_section_since = 0;
  /** IRQs disabled on this task's CPU (local_irq_disable depth). */
  irqs_disabled = 0;
  /** The traced functions this task is in, outermost first (see kernel/ftrace.ts). */
  readonly stack: string[] = [];
  /** The request in flight (`task:n`), if any. */
  request: string | null = null;
  /**
   * current->in_lru_fault: in a page fault of a VMA with recency (lru_gen_enter_fault), so a folio
   * it adds to the multi-gen LRU starts young.
   */
  in_lru_fault = false;

  constructor(
    readonly pid: number,
    readonly comm: string,
    /** The address space the task runs in (null for kernel threads). */
    public mm: MmStruct | null,
  ) {}
}

/** The running task's task_struct. */
export function current_task(): TaskStruct {
  return current().data as TaskStruct;
}

export function task_of(t: Task): TaskStruct {
  return t.data as TaskStruct;
}

export function fatal_signal_pending(t: Task = current()): boolean {
  return t.fatalSignal;
}
