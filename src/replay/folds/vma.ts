/** VMAs and mms: creation (and reuse of a freed slab object), attach, detach, range, flags; files. */
import type { Folds } from '../model-types.js';

/** No vm_lock_seq yet: the kernel's initial value of a VMA's sequence count (UINT_MAX). */
const VM_LOCK_SEQ_UNSET = 0xffffffff;

export const vmaFolds: Folds = {
  vma_create(m, e) {
    // Also an object reused after vma_free (same id, typesafe-RCU slab): a fresh record either way.
    m.vmas.set(e.vma, {
      vma: e.vma, mm: e.mm, start: e.start, end: e.end, flags: 0, file: null, pgoff: 0, attached: false,
      vm_refcnt: 0, vm_lock_seq: VM_LOCK_SEQ_UNSET,
    });
  },
  vma_init(m, e) {
    const v = m.vmas.get(e.vma);
    if (v) Object.assign(v, { flags: e.flags, file: e.file === '' ? null : e.file, pgoff: e.pgoff });
  },
  vma_mark_attached(m, e) {
    const v = m.vmas.get(e.vma);
    if (v) Object.assign(v, { attached: true, vm_refcnt: 1 });
  },
  vma_mark_detached(m, e) {
    const v = m.vmas.get(e.vma);
    if (v) Object.assign(v, { attached: false, vm_refcnt: 0 });
  },
  vma_adjust(m, e) {
    const v = m.vmas.get(e.vma);
    if (v) Object.assign(v, { start: e.start, end: e.end, pgoff: e.pgoff });
  },
  vma_flags(m, e) {
    const v = m.vmas.get(e.vma);
    if (v) v.flags = e.new;
  },
  vma_free(m, e) {
    m.vmas.delete(e.vma);
  },
  mm_create(m, e) {
    m.mms.set(e.mm, { mm: e.mm, pid: e.pid, mmapLock: e.mmap_lock, mm_lock_seq: 0, arg_start: 0, arg_end: 0, env_start: 0, env_end: 0 });
  },
  mm_args(m, e) {
    const mm = m.mms.get(e.mm);
    if (mm) Object.assign(mm, { arg_start: e.arg_start, arg_end: e.arg_end });
  },
  mm_env(m, e) {
    const mm = m.mms.get(e.mm);
    if (mm) Object.assign(mm, { env_start: e.env_start, env_end: e.env_end });
  },
  file_create(m, e) {
    m.files.set(e.file, { name: e.file, data: e.data ? new Uint8Array(e.data) : new Uint8Array(e.size) });
  },
};
