/**
 * A process as execve() leaves it (fs/exec.c): a new mm with the executable mapped and a stack VMA
 * whose top holds the argument and environment strings. The strings are written the way
 * copy_strings() does it, through GUP with FOLL_FORCE|FOLL_WRITE into the new mm, so the stack
 * pages are real anonymous folios with the bytes in them.
 */
import { emit } from '../../trace/vocab/index.js';

import type { Gen } from '../../sim/task.js';
import { traced } from '../kernel/ftrace.js';
import { type AddressSpace } from '../mm/filemap.js';
import { FOLL_FORCE, FOLL_WRITE } from '../mm/gup.js';
import { access_remote_vm } from '../mm/access_remote.js';
import { generic_file_vm_ops } from '../mm/mmap.js';
import { mmap_write_lock, mmap_write_unlock, vma_start_write } from '../mm/mmap_lock.js';
import {
  MmStruct, PAGE_SIZE, VM_EXEC, VM_GROWSDOWN, VM_MAYEXEC, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE,
} from '../mm/mm_types.js';
import { mm_alloc_pgd } from '../mm/pgtable.js';
import { vm_area_alloc, vma_iter_store_new } from '../mm/vma.js';

/** STACK_TOP for a 47-bit address space, and the size of the initial stack VMA (33 pages). */
export const STACK_TOP = 0x7ffffffff000;
export const INITIAL_STACK_PAGES = 33;
/** Where the executable's text is mapped (a non-PIE ELF). */
export const TEXT_START = 0x400000;

export interface ExecImage {
  pid: number;
  argv: string[];
  envp: string[];
  /** The executable file, mapped read+exec at TEXT_START. */
  exe?: AddressSpace;
}

/** The argument and environment strings as the stack holds them: NUL-terminated, back to back. */
export function strings_area(argv: string[], envp: string[]): { bytes: Uint8Array; argLen: number } {
  const enc = new TextEncoder();
  const args = argv.map((s) => s + '\0').join('');
  const envs = envp.map((s) => s + '\0').join('');
  const bytes = enc.encode(args + envs);
  return { bytes, argLen: enc.encode(args).length };
}

function* map_new_vma(mm: MmStruct, start: number, end: number, flags: number, file: AddressSpace | null): Gen {
  // insert_vm_struct(): an anonymous VMA's vm_pgoff is its start page, as a new mapping's is (the
  // stack's grows down with it: expand_downwards needs room below).
  const pgoff = file ? 0 : start / PAGE_SIZE;
  const vma = yield* vm_area_alloc(mm, start, end, flags, file ? generic_file_vm_ops : null, file, pgoff);
  yield* vma_start_write(vma);
  yield* vma_iter_store_new(mm, vma);
}

/** bprm_execve() reduced: build the new mm and fill its stack. */
export const exec_mm = traced('exec_mm', function* (image: ExecImage): Gen<MmStruct> {
  const mm = new MmStruct(image.pid);
  yield emit.mm_create({ mm: mm.id, pid: image.pid, mmap_lock: mm.mmap_lock.id });
  yield* mm_alloc_pgd(mm);
  const stack_start = STACK_TOP - INITIAL_STACK_PAGES * PAGE_SIZE;
  yield* mmap_write_lock(mm);
  if (image.exe) {
    const text_end = TEXT_START + Math.max(1, image.exe.nr_pages) * PAGE_SIZE;
    yield* map_new_vma(mm, TEXT_START, text_end, VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYEXEC, image.exe);
  }
  const stack_flags = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_GROWSDOWN;
  yield* map_new_vma(mm, stack_start, STACK_TOP, stack_flags, null);
  yield* mmap_write_unlock(mm);

  // The strings end just below the top word of the stack (the kernel keeps the filename pointer
  // there); argv first, then the environment, contiguous.
  const { bytes, argLen } = strings_area(image.argv, image.envp);
  const env_end = STACK_TOP - 16;
  const arg_start = env_end - bytes.length;
  const written = yield* access_remote_vm(mm, arg_start, bytes, bytes.length, FOLL_FORCE | FOLL_WRITE);
  if (written !== bytes.length) throw new Error(`exec: wrote ${written} of ${bytes.length} string bytes`);
  mm.arg_start = arg_start;
  mm.arg_end = arg_start + argLen;
  yield emit.mm_args({ mm: mm.id, arg_start: mm.arg_start, arg_end: mm.arg_end });
  mm.env_start = mm.arg_end;
  mm.env_end = env_end;
  mm.start_stack = arg_start - 8;
  yield emit.mm_env({ mm: mm.id, env_start: mm.env_start, env_end: mm.env_end });
  return mm;
});
