/**
 * Scenarios of the per-VMA lock against VMA writers (kernel-spec §12.6, §12.7, §12.10, §12.16),
 * each with a directed schedule that puts the writer exactly where the review worried about it.
 * A reader reads another process's memory with one access_process_vm call; target threads change
 * the address space.
 */
import { by } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { FOLL_FORCE } from '../linux/mm/gup.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap,
} from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { map_filled, outsider, remote_read, spawn_process, thread, type Process } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

/** Where the scenarios map their VMAs. */
export const AREA = 0x20000000;

/** The reader has copied from [start, end). */
const copiedFrom = (start: number, end: number) => by('reader', 'copy', (e) => e.addr >= start && e.addr < end);

/** Boot a target whose `setup` thread runs `setup`; the other tasks start once it is done. */
function* withTarget(setup: (proc: Process) => Gen, tasks: (proc: Process, ready: Completion) => void): Gen {
  const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
  const ready = new Completion();
  thread(proc, 'setup', function* () {
    yield* setup(proc);
    yield* complete_all(ready);
  });
  tasks(proc, ready);
}

/**
 * §12.7 munmap of the VMA being read. The writer's munmap starts while the reader is in the middle
 * of a 4-page read of A; a late reader tries A after the writer has detached it.
 *  - gup: the munmap waits for the reader's mmap_read_lock; the read is whole; the late read is 0.
 *  - fast: the munmap sleeps in vma_start_write(A) until the reader's vma_end_read(A); the read is
 *    whole; the late reader finds A detached or gone, falls back, and the slow path, finding no
 *    VMA, tries expand_stack -- which takes mmap_lock for write -- and returns 0.
 */
export const munmapDuringRead: Workload = {
  name: 'munmap-during-read',
  description: 'munmap of the VMA a reader is in the middle of; a late reader after the detach',
  params: { pages: intParam(4, 1, 512, 'pages of A the reader reads in one call') },
  schedule: (ctx) => [
    { task: 'writer', until: copiedFrom(AREA, AREA + PAGE_SIZE) },
    { task: 'late-reader', until: by('writer', 'vma_mark_detached') },
  ],
  *boot(ctx: WorkloadContext): Gen {
    const pages = num(ctx, 'pages');
    yield* withTarget((proc) => map_filled(proc, AREA, pages, PROT_READ | PROT_WRITE, 'M'), (proc, ready) => {
      thread(proc, 'writer', function* () {
        yield* wait_for_completion(ready);
        yield* sys_munmap(proc.mm, AREA, pages * PAGE_SIZE);
      });
      outsider('reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(proc, AREA, pages * PAGE_SIZE);
      });
      outsider('late-reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(proc, AREA, 16);
      });
    });
  },
};

/**
 * §12.10 mprotect(PROT_NONE) of A racing a read of A. `when`: 0 the read goes first, 1 it starts
 * while the writer holds A write-locked, 2 it starts after the mprotect. `force`: 1 reads like
 * ptrace (FOLL_FORCE), which may read PROT_NONE through VM_MAYREAD.
 *  - without force: before -> data; during -> the fast path aborts on the write-locked VMA, falls
 *    back, waits for mmap_lock, then GUP says -EFAULT: 0, as gup; after -> 0 on both.
 *  - with force: data on both in every order (the fast path's permission check mirrors GUP's).
 */
export const mprotectRace: Workload = {
  name: 'mprotect-race',
  description: 'mprotect(PROT_NONE) of the VMA being read, before, during and after the read',
  params: {
    when: intParam(1, 0, 2, '0: read first, 1: read while A is write-locked, 2: read after'),
    force: switchParam(0, '1: read with FOLL_FORCE, like ptrace'),
  },
  schedule(ctx) {
    const when = num(ctx, 'when');
    if (when === 0) return [{ task: 'writer', until: by('reader', 'request_end') }];
    if (when === 1) {
      return [
        { task: 'reader', until: by('writer', 'vma_start_write') },
        // Hold the writer inside its write section until the reader has tried and had to wait.
        { task: 'writer', after: by('writer', 'vma_start_write'), until: by('reader', 'sched_block') },
      ];
    }
    return [{ task: 'reader', until: by('writer', 'task_exit') }];
  },
  *boot(ctx: WorkloadContext): Gen {
    const flags = num(ctx, 'force') ? FOLL_FORCE : 0;
    yield* withTarget((proc) => map_filled(proc, AREA, 1, PROT_READ | PROT_WRITE, 'P'), (proc, ready) => {
      thread(proc, 'writer', function* () {
        yield* wait_for_completion(ready);
        yield* sys_mprotect(proc.mm, AREA, PAGE_SIZE, PROT_NONE);
      });
      outsider('reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(proc, AREA, 16, flags);
      });
    });
  },
};

/**
 * §12.6 VMA merge during a fast-path read. A (read-write, 'A's) and B (read-only, 'B's) are
 * neighbours; the reader reads across them. Right after its first copy from A the writer
 * mprotects B read-write, which merges B into A: the merge needs vma_start_write(A), so on the fast
 * path the writer sleeps -- holding mmap_lock for write -- until the reader's vma_end_read(A), and a
 * bystander thread's mmap stalls behind it. The read then finds B gone or A write-locked, falls
 * back, and reads the rest from the merged A under mmap_lock: same bytes (only flags merged).
 */
export const vmaMerge: Workload = {
  name: 'vma-merge',
  description: 'mprotect makes the next VMA mergeable while the fast path holds the first',
  params: {},
  schedule: () => {
    const copied = copiedFrom(AREA, AREA + 2 * PAGE_SIZE);
    return [
      { task: 'writer', until: copied },
      { task: 'bystander', until: by('writer', 'sched_block') },
      { task: 'reader', after: copied, until: by('bystander', 'rwsem_contended') },
    ];
  },
  *boot(): Gen {
    yield* withTarget(function* (proc) {
      yield* map_filled(proc, AREA, 2, PROT_READ | PROT_WRITE, 'A');
      yield* map_filled(proc, AREA + 2 * PAGE_SIZE, 2, PROT_READ, 'B');
    }, (proc, ready) => {
      thread(proc, 'writer', function* () {
        yield* wait_for_completion(ready);
        yield* sys_mprotect(proc.mm, AREA + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
      });
      thread(proc, 'bystander', function* () {
        yield* wait_for_completion(ready);
        yield* sys_mmap(proc.mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
      });
      outsider('reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(proc, AREA + 2 * PAGE_SIZE - 8, 16);
      });
    });
  },
};

/**
 * §12.16 reader blocks writer (priority inversion). The fast path holds A's VMA read lock for a
 * whole multi-page read; the writer's munmap of A sleeps in vma_start_write with mmap_lock held for
 * write; a target thread's first write fault in another VMA needs mmap_lock (vmf_anon_prepare's
 * trylock fails, VM_FAULT_RETRY) and stalls until the writer is done. The VMA read lock's hold time
 * is the stall's root.
 */
export const readerBlocksWriter: Workload = {
  name: 'reader-blocks-writer',
  description: 'a long fast-path read holds a VMA lock; munmap and other threads\' faults stall behind it',
  params: { pages: intParam(8, 1, 512, 'pages the reader copies under one VMA read lock') },
  schedule: () => [
    { task: 'writer', until: copiedFrom(AREA, AREA + PAGE_SIZE) },
    { task: 'faulter', until: by('writer', 'sched_block') },
  ],
  *boot(ctx: WorkloadContext): Gen {
    const pages = num(ctx, 'pages');
    const other = AREA + 0x100000;
    yield* withTarget(function* (proc) {
      yield* map_filled(proc, AREA, pages, PROT_READ | PROT_WRITE, 'R');
      // A fresh anonymous VMA with no anon_vma yet: its first write fault needs mmap_lock.
      yield* sys_mmap(proc.mm, { addr: other, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
    }, (proc, ready) => {
      thread(proc, 'writer', function* () {
        yield* wait_for_completion(ready);
        yield* sys_munmap(proc.mm, AREA, pages * PAGE_SIZE);
      });
      thread(proc, 'faulter', function* () {
        yield* wait_for_completion(ready);
        yield* user_access(proc.mm, other, new Uint8Array(8).fill(0x46), true);
      });
      outsider('reader', function* () {
        yield* wait_for_completion(ready);
        yield* remote_read(proc, AREA, pages * PAGE_SIZE);
      });
    });
  },
};
