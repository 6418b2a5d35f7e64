/**
 * x86-64 Linear Address Masking control (arch/x86/kernel/process_64.c, kernel-spec §9):
 * arch_prctl(ARCH_ENABLE_TAGGED_ADDR) and the clone rule that locks the LAM configuration.
 * The CPU is assumed to have LAM (X86_FEATURE_LAM); SVA/PASID interplay is not modelled.
 */
import { emit } from '../../../../trace/vocab/index.js';
import { name } from '../../../../sim/sim.js';
import type { Gen } from '../../../../sim/task.js';
import { EBUSY, EINTR, EINVAL } from '../../../include/errno.js';
import { current_task } from '../../../kernel/sched.js';
import { mmap_write_lock_killable, mmap_write_unlock } from '../../../mm/mmap_lock.js';
import type { MmStruct } from '../../../mm/mm_types.js';
import { GENMASK, LAM_U57_BITS, LAM_U57_SHIFT, UNTAG_MASK_ALL_ONES } from '../include/uaccess_64.js';
import { syscall } from '../../../kernel/syscall.js';

// arch/x86/include/uapi/asm/prctl.h
export const ARCH_GET_UNTAG_MASK = 0x4001;
export const ARCH_ENABLE_TAGGED_ADDR = 0x4002;
export const ARCH_GET_MAX_TAG_BITS = 0x4003;

/** mm->context.flags bits (arch/x86/include/asm/mmu.h). */
export const MM_CONTEXT_LOCK_LAM = 1 << 2;
/** X86_CR3_LAM_U57: CR3 bit 62. */
export const X86_CR3_LAM_U57 = 2 ** 62;

const SYS_ARCH_PRCTL = name('arch_prctl');

/**
 * copy_thread(): a CLONE_VM child that is not a vfork shares the mm from now on, so its LAM
 * setting can no longer change (MM_CONTEXT_LOCK_LAM). The workload helpers spawn threads without
 * going through a clone, so a workload that models a multi-threaded target calls this per clone.
 */
export function lam_lock_on_clone_vm(mm: MmStruct): void {
  mm.context_flags |= MM_CONTEXT_LOCK_LAM;
}

/**
 * mm_enable_lam(): set the CR3 LAM bit and the untag mask, then lock the configuration. The IPI
 * that makes other CPUs running this mm reload CR3 is not modelled (the process is single-threaded
 * and the model has no CR3). The mask store is one step: a reader sees the old or the new mask.
 */
function* mm_enable_lam(mm: MmStruct): Gen {
  mm.lam_cr3_mask = X86_CR3_LAM_U57;
  mm.untag_mask = UNTAG_MASK_ALL_ONES & ~GENMASK(LAM_U57_SHIFT + LAM_U57_BITS - 1, LAM_U57_SHIFT);
  yield emit.lam_enable({ mm: mm.id, bits: LAM_U57_BITS, shift: LAM_U57_SHIFT });
  mm.context_flags |= MM_CONTEXT_LOCK_LAM;
}

/**
 * prctl_enable_tagged_addr(): only for the caller's own mm; under mmap_write_lock_killable (the
 * lock untagged_addr_remote() readers hold); refused once LAM is locked (threads cloned, or
 * already enabled). Returns 0 or -errno.
 */
export function* prctl_enable_tagged_addr(mm: MmStruct, nr_bits: number): Gen<number> {
  if (current_task().mm !== mm) return -EINVAL;
  if (yield* mmap_write_lock_killable(mm)) return -EINTR;
  let ret = 0;
  if (mm.context_flags & MM_CONTEXT_LOCK_LAM) ret = -EBUSY;
  else if (!nr_bits || nr_bits > LAM_U57_BITS) ret = -EINVAL;
  else yield* mm_enable_lam(mm);
  yield* mmap_write_unlock(mm);
  return ret;
}

/** arch_prctl(2) for the current task: only the LAM options are modelled. */
export function sys_arch_prctl(option: number, arg2: number): Gen<number> {
  return syscall(SYS_ARCH_PRCTL, option, arg2, 0, function* () {
    const mm = current_task().mm;
    if (mm && option === ARCH_ENABLE_TAGGED_ADDR) return yield* prctl_enable_tagged_addr(mm, arg2);
    return -EINVAL;
  });
}
