/**
 * stuck-writer (kernel-spec §12.5): a target thread populates a large mapping, then replaces it with
 * mmap(MAP_FIXED). An internal unmap keeps mmap_lock held for write while it zaps every page, so the
 * writer holds the lock for a long virtual time; a monitor reading /proc/PID/cmdline meanwhile
 * sleeps in mmap_read_lock_killable until the writer is done. Each request's wait ticks show it.
 * The fast path reads the stack VMA, which the writer never write-locks, without waiting; with
 * region=1 the monitor reads the region being remapped, whose VMA the writer does write-lock: the
 * fast path falls back and waits like gup, and waitForWriter waits on mmap_lock, then retries
 * lock-free.
 */
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { type Process, outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

const W_THINK = name('think time');

/**
 * The long writer of §12.5 and §12.14: thread 'writer' of `proc` maps and populates `pages`
 * anonymous pages, completes `populated`, then replaces the populated range (MAP_FIXED): the zap
 * and free_pgtables run with mmap_lock held for write. `where.addr` is the range, once mapped.
 */
export function spawn_remap_writer(proc: Process, pages: number, populated: Completion): { addr: number } {
  const where = { addr: 0 };
  const len = pages * PAGE_SIZE;
  thread(proc, 'writer', function* () {
    const addr = yield* sys_mmap(proc.mm, { addr: 0, len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    where.addr = addr;
    const word = new Uint8Array(8).fill(0x57);
    for (let p = 0; p < pages; p++) yield* user_access(proc.mm, addr + p * PAGE_SIZE, word, true);
    yield* complete_all(populated);
    yield* sys_mmap(proc.mm, { addr, len, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  });
  return where;
}

export const stuckWriter: Workload = {
  name: 'stuck-writer',
  description: 'a thread holds mmap_lock for write through a long MAP_FIXED remap while a monitor reads cmdline and waits',
  params: {
    pages: intParam(512, 1, 65536, 'pages the writer populates and then zaps under the write lock'),
    reads: intParam(4, 0, 100000, 'cmdline reads by the monitor once the remap starts'),
    think: intParam(500, 0, 1000000000, 'ticks the monitor sleeps between reads'),
    region: switchParam(0, '1: the monitor reads the region being remapped (write-locked) instead of cmdline'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const populated = new Completion();
    const region = spawn_remap_writer(proc, num(ctx, 'pages'), populated);
    outsider('monitor', function* () {
      yield* wait_for_completion(populated);
      for (let i = 0; i < num(ctx, 'reads'); i++) {
        if (num(ctx, 'region')) yield* remote_read(proc, region.addr, 64);
        else yield* proc_pid_cmdline_read(proc.task, 4096);
        yield* sim().sleep(num(ctx, 'think'), W_THINK);
      }
    });
  },
};
