/**
 * mm references (kernel/fork.c): `mm_users` counts the threads using an mm plus anyone who borrowed
 * it (get_task_mm); the last mmput() tears the address space down with exit_mmap(). A remote reader
 * holding a reference therefore never races with exit_mmap: it runs exit_mmap itself if the
 * target exited meanwhile.
 */
import type { Gen } from '../../sim/task.js';
import { exit_mmap } from '../mm/mmap.js';
import type { MmStruct } from '../mm/mm_types.js';
import type { TaskStruct } from './sched.js';

/** get_task_mm(): borrow the task's mm (mmget), or null once it has none (exiting or exited). */
export function get_task_mm(tsk: TaskStruct): MmStruct | null {
  const mm = tsk.mm;
  if (!mm || mm.mm_users === 0) return null;
  mm.mm_users++;
  return mm;
}

/** mmput(): drop a reference; the last one runs exit_mmap. */
export function* mmput(mm: MmStruct): Gen {
  mm.mm_users--;
  if (mm.mm_users === 0) yield* exit_mmap(mm);
}

/** exit_mm(): the exiting thread lets go of its mm. */
export function* exit_mm(tsk: TaskStruct): Gen {
  const mm = tsk.mm;
  if (!mm) return;
  tsk.mm = null;
  yield* mmput(mm);
}
