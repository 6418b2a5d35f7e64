/**
 * Access another process' address space (mm/memory.c: __access_remote_vm, access_remote_vm,
 * access_process_vm; kernel-spec §8.1): under mmap_lock, page by page through GUP, or the VMA's
 * ->access. In memory.c in the kernel; a module of its own here because it sits above GUP (gup.ts)
 * and stack expansion (mmap.ts), which themselves use the fault and unmap code of memory.ts.
 */
import type { Gen } from '../../sim/task.js';
import { PAGE_SIZE } from '../arch/x86/include/pgtable_types.js';
import { untagged_addr_remote } from '../arch/x86/include/uaccess_64.js';
import { kernel } from '../kernel.js';
import { get_task_mm, mmput } from '../kernel/fork.js';
import { traced } from '../kernel/ftrace.js';
import type { TaskStruct } from '../kernel/sched.js';
import { access_remote_vm_fast_begin, access_remote_vm_fast_hook, access_remote_vm_fast_recheck } from './access_remote_fast.js';
import { folio_mark_dirty_lock, folio_page_idx, folio_put, page_folio } from './folio.js';
import { FOLL_WRITE, IS_ERR, get_user_page_vma_remote } from './gup.js';
import { copy_from_folio, copy_to_folio } from './memory.js';
import { expand_stack } from './mmap.js';
import { mmap_read_lock_killable, mmap_read_unlock } from './mmap_lock.js';
import { type MmStruct, vma_lookup } from './mm_types.js';

/**
 * __access_remote_vm() mainline (§8.1), exact order: one mmap_read_lock_killable hold for the whole
 * transfer; per page GUP with FOLL_TOUCH|FOLL_REMOTE|FOLL_GET, or the VMA's ->access on error.
 * Returns the bytes transferred (errors are not reported, only short counts).
 */
export const __access_remote_vm = traced('__access_remote_vm', function* (
  mm: MmStruct,
  addr: number,
  buf: Uint8Array,
  len: number,
  gup_flags: number,
): Gen<number> {
  const write = (gup_flags & FOLL_WRITE) !== 0;
  // The series under review hooks its lockless fast path in here (null: not built in); what it
  // copied is done, the rest is left to the code below.
  const speculation = access_remote_vm_fast_begin(mm, gup_flags);
  const fast = yield* access_remote_vm_fast_hook(mm, addr, buf, len, gup_flags);
  if (fast === len) return fast;
  let pos = fast ?? 0;
  // Nothing copied yet on mainline (0); the series returns what its fast path copied ...
  if (yield* mmap_read_lock_killable(mm)) return pos;
  // ... which, with redoWhole, it drops now, and with redoIfWritten if a writer took mmap_lock
  // since it began (a wait for the lock that is killed returns the fast part: short, one snapshot).
  if (yield* access_remote_vm_fast_recheck(mm, speculation, addr, len, pos)) pos = 0;
  addr += pos;
  len -= pos;
  addr = yield* untagged_addr_remote(mm, addr);
  // Avoid triggering the temporary warning in __get_user_pages (the kernel's comment).
  // ... but not here: v1 left this `return 0`, so bytes already copied by the fast path are
  // dropped (Lorenzo's review of the return values, kernel-spec §8.3 item 8).
  if (!vma_lookup(mm, addr) && !(yield* expand_stack(mm, addr))) return 0;
  while (len > 0) {
    const got = yield* get_user_page_vma_remote(mm, addr, gup_flags);
    let bytes = 0;
    if (IS_ERR(got.page)) {
      let vma = vma_lookup(mm, addr);
      if (!vma) {
        vma = yield* expand_stack(mm, addr);
        // expand_stack() dropped the lock when it failed.
        if (!vma) return pos;
        continue;
      }
      if (kernel().config.CONFIG_HAVE_IOREMAP_PROT && vma.vm_ops?.access) {
        bytes = yield* vma.vm_ops.access(vma, addr, buf.subarray(pos), len, write);
      }
      if (bytes <= 0) break;
    } else {
      const folio = page_folio(got.page);
      const offset = addr % PAGE_SIZE;
      bytes = Math.min(len, PAGE_SIZE - offset);
      const inFolio = folio_page_idx(folio, got.page) * PAGE_SIZE + offset;
      if (write) {
        yield* copy_to_folio(folio, inFolio, buf, pos, bytes, addr);
        yield* folio_mark_dirty_lock(folio);
      } else {
        yield* copy_from_folio(folio, inFolio, buf, pos, bytes, addr);
      }
      yield* folio_put(folio); // folio_release_kmap
    }
    len -= bytes;
    pos += bytes;
    addr += bytes;
  }
  yield* mmap_read_unlock(mm);
  return pos;
});

/** access_remote_vm(): the caller holds a reference on mm. */
export function access_remote_vm(mm: MmStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number): Gen<number> {
  return __access_remote_vm(mm, addr, buf, len, gup_flags);
}

/** access_process_vm(): get_task_mm (mm_users), access, mmput. */
export function* access_process_vm(
  tsk: TaskStruct, addr: number, buf: Uint8Array, len: number, gup_flags: number,
): Gen<number> {
  const mm = get_task_mm(tsk);
  if (!mm) return 0;
  const ret = yield* __access_remote_vm(mm, addr, buf, len, gup_flags);
  yield* mmput(mm);
  return ret;
}

