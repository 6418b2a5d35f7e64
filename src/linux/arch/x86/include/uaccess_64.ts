/**
 * untagged_addr_remote() (arch/x86/include/asm/uaccess_64.h, kernel-spec §9): strip LAM tag bits
 * with the target mm's untag_mask, which mmap_lock protects.
 *
 * How a tagged user pointer is held in a JS number. A number carries 53 bits exactly, and a tagged
 * pointer has its tag in bits 57..62, so the model's address numbers use a compact encoding:
 *
 *   number bits  0..46  = pointer bits  0..46  (the user address proper, below TASK_SIZE)
 *   number bits 47..52  = pointer bits 57..62  (the LAM_U57 tag)
 *
 * Every untagged address is its own encoding, so nothing else in the model changes. Pointer bits
 * 47..56 and 63 have no place in a number; no model address sets them (such a pointer is
 * non-canonical with or without LAM). A tagged number is >= 2**47, above every user mapping, so a
 * lookup that keeps the tag finds nothing -- what the CPU and find_vma do with a non-canonical
 * address. The masking itself is done on the real 64-bit value (BigInt): `untag()` expands the
 * number to the pointer, ANDs it with mm->context.untag_mask, and encodes the result.
 */
import type { Gen } from '../../../../sim/task.js';
import { mmap_assert_locked } from '../../../mm/mmap_lock.js';
import type { MmStruct } from '../../../mm/mm_types.js';

/** Pointer bits the numbers hold in place (a 47-bit user address space: 4-level paging). */
const ADDR_BITS = 47;
const ADDR_SPAN = 2 ** ADDR_BITS;
/** LAM_U57: the tag is pointer bits 57..62. */
export const LAM_U57_SHIFT = 57;
export const LAM_U57_BITS = 6;
const TAG_SPAN = 2 ** LAM_U57_BITS;

/** The all-ones mask (mm_reset_untag_mask): nothing is stripped. */
export const UNTAG_MASK_ALL_ONES = 0xffff_ffff_ffff_ffffn;
/** GENMASK(hi, lo) as a u64. */
export function GENMASK(hi: number, lo: number): bigint {
  return ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

/** The number for user address `addr` carrying LAM tag `tag` (0..63) in pointer bits 57..62. */
export function tagged_pointer(addr: number, tag: number): number {
  if (!Number.isInteger(addr) || addr < 0 || addr >= ADDR_SPAN) throw new RangeError(`not a user address: ${addr}`);
  if (!Number.isInteger(tag) || tag < 0 || tag >= TAG_SPAN) throw new RangeError(`not a 6-bit LAM tag: ${tag}`);
  return addr + tag * ADDR_SPAN;
}

/** The 64-bit pointer a model address number stands for. */
export function pointer_bits(v: number): bigint {
  const tag = Math.floor(v / ADDR_SPAN);
  return BigInt(v - tag * ADDR_SPAN) | (BigInt(tag) << BigInt(LAM_U57_SHIFT));
}

/** The model number of a 64-bit pointer (bits 47..56 and 63 must be clear, see the header). */
export function pointer_number(p: bigint): number {
  const tag = Number((p >> BigInt(LAM_U57_SHIFT)) & BigInt(TAG_SPAN - 1));
  const low = Number(p & BigInt(ADDR_SPAN - 1));
  if (p !== pointer_bits(low + tag * ADDR_SPAN)) throw new RangeError(`pointer 0x${p.toString(16)} has bits the model cannot hold`);
  return low + tag * ADDR_SPAN;
}

/** The tag bits of a model address number (0 when untagged). */
export function pointer_tag(v: number): number {
  return Math.floor(v / ADDR_SPAN);
}

/** addr & mm->context.untag_mask. The mask is all ones until LAM is enabled (then bits 57..62 clear). */
export function untag(mm: MmStruct, addr: number): number {
  if (mm.untag_mask === UNTAG_MASK_ALL_ONES) return addr;
  return pointer_number(pointer_bits(addr) & mm.untag_mask);
}

export function* untagged_addr_remote(mm: MmStruct, addr: number): Gen<number> {
  yield* mmap_assert_locked(mm);
  return untag(mm, addr);
}
