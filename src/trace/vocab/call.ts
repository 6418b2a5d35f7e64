/**
 * call: emulated kernel functions entered and left (stacks for the browser, anchors for the diff),
 * GUP errors and the fast path's fall-backs.
 */
import { kind } from './define.js';

export const call = {
  call_enter: kind({ code: 90, fields: { fn: 'name', arg: 'int' }, cost: 1, doc: 'an emulated kernel function is entered' }),
  call_exit: kind({ code: 91, fields: { fn: 'name', ret: 'int' }, cost: 1, doc: 'an emulated kernel function returns' }),
  gup_error: kind({ code: 92, fields: { addr: 'addr', errno: 'int' }, doc: 'GUP stops at addr with -errno' }),
  fast_path_fallback: kind({
    code: 93, fields: { addr: 'addr', copied: 'int', reason: 'name' },
    doc: 'access_remote_vm_fast stopped at addr after `copied` bytes for `reason`; the mmap_lock path does the rest',
  }),
  fast_path_discard: kind({
    code: 132, fields: { addr: 'addr', copied: 'int' },
    doc: 'redoWhole, or redoIfWritten after a writer took mmap_lock: the `copied` bytes the fast path read from addr before it stopped are dropped; the mmap_lock path reads the whole range',
  }),
} as const;
