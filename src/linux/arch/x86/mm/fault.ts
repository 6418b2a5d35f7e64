/**
 * A target thread's own loads and stores (the MMU) and the user page-fault handler
 * (arch/x86/mm/fault.c do_user_addr_fault, 7.2): try the per-VMA lock first, fall back to
 * mmap_lock on VM_FAULT_RETRY or when the VMA cannot be read-locked.
 */
import { emit, USER_ACCESS_IO } from '../../../../trace/vocab/index.js';
import type { Gen } from '../../../../sim/task.js';
import { framed } from '../../../../sim/frame.js';
import { kernel } from '../../../kernel.js';
import { fatal_signal_pending } from '../../../kernel/sched.js';
import { handle_mm_fault } from '../../../mm/memory.js';
import { expand_stack, find_vma } from '../../../mm/mmap.js';
import {
  count_vm_vma_lock_event, lock_vma_under_rcu, mmap_read_lock_killable, mmap_read_unlock, vma_end_read, VMA_LOCK_RETRY, VMA_LOCK_SUCCESS,
} from '../../../mm/mmap_lock.js';
import {
  FAULT_FLAG_DEFAULT, FAULT_FLAG_TRIED, FAULT_FLAG_USER, FAULT_FLAG_VMA_LOCK, FAULT_FLAG_WRITE, type MmStruct, PAGE_SIZE, VM_EXEC,
  VM_FAULT_ERROR, VM_FAULT_MAJOR, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_GROWSDOWN, VM_READ, VM_WRITE, type VmAreaStruct,
} from '../../../mm/mm_types.js';
import { entry_set_bits, _PAGE_ACCESSED, _PAGE_DIRTY } from '../include/pgtable_types.js';
import { mmu_load, mmu_page, mmu_permits, mmu_store, mmu_walk } from './mmu.js';


/** access_error(): may this access go to this VMA at all? */
function access_error(write: boolean, vma: VmAreaStruct): boolean {
  if (write) return !(vma.vm_flags & VM_WRITE);
  return !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

/**
 * do_user_addr_fault(): returns 0 when the access can be retried, or VM_FAULT_ERROR bits /
 * -1 for SIGSEGV (no VMA or access error).
 *
 * A user fault may retry (FAULT_FLAG_DEFAULT: ALLOW_RETRY | KILLABLE): a handler that would sleep
 * for I/O or for a folio lock releases the VMA lock or mmap_lock first and returns
 * VM_FAULT_RETRY, and the fault is redone under mmap_lock with FAULT_FLAG_TRIED (after the VMA
 * lock only if the first attempt was a major fault). Reduced: fault_signal_pending() is not
 * checked after a retry; a killed task's next mmap_read_lock_killable() fails instead.
 */
export const do_user_addr_fault = framed(function* do_user_addr_fault(mm: MmStruct, address: number, write: boolean): Gen<number> {
  let flags = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);
  if (kernel().config.CONFIG_PER_VMA_LOCK) {
    const vma = yield* lock_vma_under_rcu(mm, address);
    if (vma) {
      if (access_error(write, vma)) {
        // bad_area_access_error() under the VMA lock: the fault was handled (with a signal).
        yield* vma_end_read(vma);
        yield* count_vm_vma_lock_event(VMA_LOCK_SUCCESS);
        return -1;
      }
      const fault = yield* handle_mm_fault(vma, address, flags | FAULT_FLAG_VMA_LOCK);
      if (!(fault & VM_FAULT_RETRY)) {
        yield* vma_end_read(vma);
        yield* count_vm_vma_lock_event(VMA_LOCK_SUCCESS);
        return fault & VM_FAULT_ERROR;
      }
      // The handler released the VMA lock; retry under mmap_lock.
      yield* count_vm_vma_lock_event(VMA_LOCK_RETRY);
      if (fault & VM_FAULT_MAJOR) flags |= FAULT_FLAG_TRIED;
    }
  }
  for (;;) {
    const vma = yield* lock_mm_and_find_vma(mm, address);
    if (!vma) return -1; // bad_area_nosemaphore
    if (access_error(write, vma)) {
      yield* mmap_read_unlock(mm);
      return -1;
    }
    const fault = yield* handle_mm_fault(vma, address, flags);
    if (fault & VM_FAULT_RETRY) {
      // The handler released mmap_lock: take it again and find the VMA again.
      flags |= FAULT_FLAG_TRIED;
      continue;
    }
    yield* mmap_read_unlock(mm);
    return fault & VM_FAULT_ERROR;
  }
});

/**
 * lock_mm_and_find_vma() (mm/memory.c): mmap_lock for read and the VMA at address. An address just
 * below a stack (a VM_GROWSDOWN VMA) grows it down first: x86 cannot upgrade the lock in place, so
 * expand_stack() drops it, takes it for write, looks again, grows the VMA and downgrades. null, with
 * no lock held, when no VMA serves the address or the lock could not be had.
 */
function* lock_mm_and_find_vma(mm: MmStruct, address: number): Gen<VmAreaStruct | null> {
  if (yield* mmap_read_lock_killable(mm)) return null;
  const vma = find_vma(mm, address);
  if (vma && vma.vm_start <= address) return vma;
  if (!vma || !(vma.vm_flags & VM_GROWSDOWN)) {
    yield* mmap_read_unlock(mm);
    return null;
  }
  return yield* expand_stack(mm, address);
}

/**
 * What a user fault that returned `ret` (do_user_addr_fault) sends the task, or null when the
 * access is simply run again: 0 (handled), and VM_FAULT_OOM, after which pagefault_out_of_memory()
 * only warns -- the allocator has OOM-killed already where it could -- and the instruction runs
 * again. VM_FAULT_SIGBUS (do_sigbus(); HWPOISON is not modelled): SIGBUS. -1 (no VMA, an access
 * error: bad_area) and VM_FAULT_SIGSEGV: SIGSEGV.
 */
export function fault_signal(ret: number): 'SIGBUS' | 'SIGSEGV' | null {
  if (ret === 0) return null;
  if (ret > 0 && ret & VM_FAULT_OOM) return null;
  if (ret > 0 && ret & VM_FAULT_SIGBUS) return 'SIGBUS';
  return 'SIGSEGV';
}

/**
 * A user-mode load or store of `len` bytes at addr by the current thread. Present, permitted PTEs
 * are used directly (the MMU sets the accessed and dirty bits); anything else faults and retries.
 * A special PTE over device memory (a pfnmap) reaches the device's bytes: the event's folio is -1.
 * Returns false when the fault sent a signal (SIGSEGV or SIGBUS), and when the task has a fatal
 * signal pending after a fault: the bytes from there on are not accessed.
 */
export function* user_access(mm: MmStruct, addr: number, data: Uint8Array, write: boolean): Gen<boolean> {
  let pos = 0;
  while (pos < data.length) {
    const a = addr + pos;
    const chunk = Math.min(data.length - pos, PAGE_SIZE - (a % PAGE_SIZE));
    const hw = mmu_walk(mm, a);
    if (!mmu_permits(hw, write)) {
      const ret = yield* do_user_addr_fault(mm, a, write);
      const sig = fault_signal(ret);
      // On its way back to user mode (exit_to_user_mode_loop) a task with a fatal signal pending
      // dies before the instruction runs again, whether the fault was handled or ended in
      // VM_FAULT_OOM (pagefault_out_of_memory() returns at once for it). The model does not end
      // the task; the access stops here.
      if (sig === null && fatal_signal_pending()) return false;
      if (sig === null) continue; // the access runs again
      yield emit.force_sig_fault({ sig, addr: a });
      return false;
    }
    const page = mmu_page(hw, a);
    // most accesses are a word within one page: the buffer itself (a subarray costs ~100 ns)
    const part = pos === 0 && chunk === data.length ? data : data.subarray(pos, pos + chunk);
    if (write) mmu_store(page, part);
    else part.set(mmu_load(page, chunk));
    // The MMU sets the accessed (and, for a store, dirty) bits.
    const aged = entry_set_bits(hw.value, _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0));
    if (aged !== hw.value) {
      hw.table!.entries[hw.idx] = aged;
      yield emit.pte_young({ table: hw.table!.id, addr: a, value: aged });
    }
    // A store carries its bytes, so the log alone can rebuild memory contents.
    const folio = page.folio === null ? USER_ACCESS_IO : page.folio.id;
    yield emit.user_access({ addr: a, len: chunk, write, folio, data: write ? part.slice() : undefined });
    pos += chunk;
  }
  return true;
}
