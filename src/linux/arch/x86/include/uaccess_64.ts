/**
 * untagged_addr_remote() (arch/x86/include/asm/uaccess_64.h, kernel-spec §9): strip LAM tag bits
 * with the target mm's untag_mask, which mmap_lock protects.
 */
import type { Gen } from '../../../../sim/task.js';
import { mmap_assert_locked } from '../../../mm/mmap_lock.js';
import type { MmStruct } from '../../../mm/mm_types.js';

/** addr & mm->context.untag_mask. The mask is all ones until LAM is enabled (then bits 57..62 clear). */
export function untag(mm: MmStruct, addr: number): number {
  // All ones: nothing to strip. (A JS number holds 53 bits exactly, so tagged addresses need the
  // LAM model of the fast-path issue; until then the mask never changes.)
  if (mm.untag_mask === -1) return addr;
  return addr % 2 ** 57;
}

export function* untagged_addr_remote(mm: MmStruct, addr: number): Gen<number> {
  yield* mmap_assert_locked(mm);
  return untag(mm, addr);
}
