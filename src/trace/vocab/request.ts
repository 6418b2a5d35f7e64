/**
 * request: one user-visible operation (a cmdline read, a ptrace peek) from begin to end, and the
 * emulated syscalls of the workload's tasks.
 */
import { defineFlags, kind } from './define.js';

/** gup_flags (include/linux/mm_types.h, enum foll_flags) as the model numbers them. */
export const GupFlags = defineFlags('gup_flags', {
  FOLL_WRITE: 1 << 0,
  FOLL_GET: 1 << 1,
  FOLL_DUMP: 1 << 2,
  FOLL_FORCE: 1 << 3,
  FOLL_NOWAIT: 1 << 4,
  FOLL_NOFAULT: 1 << 5,
  FOLL_HWPOISON: 1 << 6,
  FOLL_ANON: 1 << 7,
  FOLL_LONGTERM: 1 << 8,
  FOLL_SPLIT_PMD: 1 << 9,
  FOLL_HONOR_NUMA_FAULT: 1 << 12,
  FOLL_TOUCH: 1 << 16,
  FOLL_TRIED: 1 << 17,
  FOLL_REMOTE: 1 << 18,
  FOLL_PIN: 1 << 19,
  FOLL_UNLOCKABLE: 1 << 21,
});

export const request = {
  request_begin: kind({
    code: 100, fields: { req: 'int', op: 'name', addr: 'addr', len: 'int' }, cost: 0,
    doc: 'a request begins; req: the task\'s request number (task and req identify it across runs)',
  }),
  request_end: kind({
    code: 101, fields: { req: 'int', result: 'int', hash: 'hash', flags: GupFlags }, blob: { name: 'data', type: 'bytes' }, cost: 0,
    doc: 'a request ends: result, bytes returned or -errno; data, the returned bytes; flags, the gup_flags it read with',
  }),
  syscall_begin: kind({ code: 102, fields: { nr: 'name', a0: 'int', a1: 'int', a2: 'int' }, cost: 0, doc: 'an emulated syscall is entered' }),
  syscall_end: kind({ code: 103, fields: { nr: 'name', ret: 'int' }, cost: 0, doc: 'an emulated syscall returns' }),
} as const;
