/**
 * cross-vma-race (kernel-spec §12.1): a remote read spanning two VMAs while the target replaces the
 * second. A = [X, X+4K) holds 'A's, B = [X+4K, X+8K) holds 'B's; the reader reads 16 bytes at
 * X+4K-8. The directed schedule runs the writer -- munmap(B), mmap(MAP_FIXED) C, fill C with 'C's --
 * right after the reader has copied its first 8 bytes from A, and holds the reader until then.
 *
 *  - gup: the whole read is one mmap_read_lock hold, so the writer waits: "AAAAAAAABBBBBBBB".
 *  - fast (v1): A's part under A's VMA lock, then C's part under C's: "AAAAAAAACCCCCCCC", bytes
 *    from two moments of the address space (the review's structural-consistency point).
 *  - fast+singleVmaOnly: the read spans two VMAs, so it falls back at once: as gup.
 * With gap=1 the reader continues between the munmap and the mmap: fast finds no VMA, falls back,
 * the slow path finds none either and v1's `return 0` drops the 8 bytes already copied (§8.3
 * item 8); gup still reads "AAAAAAAABBBBBBBB".
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import type { Gate, ObservedEvent } from '../sim/directed.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { intern_names, outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, switchParam } from './workload.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';

/** Where A starts: a fixed, page-aligned address away from everything else. */
export const AREA = 0x10000000;
const READ_LEN = 16;

function* fill(mm: Parameters<typeof user_access>[0], addr: number, ch: string): Gen {
  yield* user_access(mm, addr, new Uint8Array(PAGE_SIZE).fill(ch.charCodeAt(0)), true);
}

export const crossVmaRace: Workload = {
  name: 'cross-vma-race',
  description: 'a read spanning two VMAs while the target munmaps the second and maps a new one in its place',
  params: {
    gap: switchParam(0, '1: let the reader run between the munmap and the mmap'),
  },
  schedule(ctx: WorkloadContext): Gate[] {
    const copiedFromA = (e: ObservedEvent) =>
      e.task === 'reader' && e.kind === 'copy' && e.addr >= AREA && e.addr < AREA + PAGE_SIZE;
    const unmappedB = (e: ObservedEvent) => e.task === 'writer' && e.kind === 'syscall_end' && e.nr === 'munmap';
    const writerDone = (e: ObservedEvent) => e.task === 'writer' && e.kind === 'task_exit';
    const readDone = (e: ObservedEvent) => e.task === 'reader' && e.kind === 'request_end';
    const gates: Gate[] = [
      // The writer starts only once the reader has copied from A ...
      { task: 'writer', until: copiedFromA },
      // ... and the reader goes on only once the writer is done (with gap: has unmapped B) ...
      { task: 'reader', after: copiedFromA, until: num(ctx, 'gap') ? unmappedB : writerDone },
    ];
    // ... and with gap, the writer maps C only after the read.
    if (num(ctx, 'gap')) gates.push({ task: 'writer', after: unmappedB, until: readDone });
    return gates;
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    intern_names('munmap');
    thread(proc, 'setup', function* () {
      // A and B differ in flags, so they stay two VMAs (an exact neighbour would merge).
      yield* sys_mmap(proc.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_mmap(proc.mm, { addr: AREA + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_EXEC, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* fill(proc.mm, AREA, 'A');
      yield* fill(proc.mm, AREA + PAGE_SIZE, 'B');
      yield* complete_all(ready);
    });
    thread(proc, 'writer', function* () {
      yield* wait_for_completion(ready);
      yield* sys_munmap(proc.mm, AREA + PAGE_SIZE, PAGE_SIZE);
      // C gets B's flags: with A's it would merge into A (vma_merge_new_range) instead of being a VMA.
      yield* sys_mmap(proc.mm, { addr: AREA + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_EXEC, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* fill(proc.mm, AREA + PAGE_SIZE, 'C');
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(proc, AREA + PAGE_SIZE - READ_LEN / 2, READ_LEN);
    });
  },
};
