/**
 * check: what the kernel would print or die of: warnings and assertion failures, a deadlock of every
 * task, a use-after-free, a kernel fault, and the run's event limit.
 */
import { kind } from './define.js';

export const check = {
  warn: kind({
    code: 110, fields: { what: 'name', obj: 'id' }, cost: 0,
    doc: 'WARN_ON_ONCE / VM_WARN_ON_ONCE / mmap_assert_locked ... fired (what: the text)',
  }),
  deadlock: kind({
    code: 111, fields: { blocked: 'int' }, blob: { name: 'tasks', type: 'triples' }, cost: 0,
    doc: 'every live task is blocked: the blocked tasks with what they wait on and the wait class',
  }),
  use_after_free: kind({ code: 112, fields: { what: 'name', obj: 'id' }, cost: 0, doc: 'a freed object (folio, page table, VMA) was used' }),
  kernel_fault: kind({ code: 113, fields: { what: 'name', addr: 'addr' }, cost: 0, doc: 'the kernel faulted on addr' }),
  event_limit: kind({ code: 114, fields: { limit: 'int' }, cost: 0, doc: 'the run was cut at its event limit' }),
} as const;
