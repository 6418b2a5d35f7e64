/**
 * io-fault: the target's threads fault in the pages of a slow file (every page read sleeps `io`
 * ticks: a FUSE or network filesystem) while another of its threads changes the address space
 * (mmap_lock for write) and a monitor reads /proc/PID/cmdline, or with region=1 the file mapping
 * itself. It shows how long each path really holds mmap_lock across I/O:
 *  - a user fault may retry (do_user_addr_fault's FAULT_FLAG_ALLOW_RETRY): it releases its VMA lock
 *    or mmap_lock before the read (maybe_unlock_mmap_for_io), sleeps holding neither, and redoes
 *    the fault once the page is cached. The churning writer and the monitor never wait for the I/O;
 *  - remote GUP has no FOLL_UNLOCKABLE: with region=1 on gup the monitor's fault sleeps for the read
 *    holding mmap_lock for read, so the writer waits the whole I/O, and readers queue behind it.
 *    The v1 fast path does not fault: a page that is not present falls back to GUP, the same;
 *  - the vmaGup variant faults under the VMA lock, also without ALLOW_RETRY: with region=1 it holds
 *    only the file VMA's read lock across the I/O, which the writer (working on other VMAs) never
 *    needs.
 */
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { create_file } from '../linux/mm/filemap.js';
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { churn, TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { intParam, num, switchParam, type Workload, type WorkloadContext } from './workload.js';

const W_THINK = name('think time');

export const IO_FILE = '/mnt/fuse/data.bin';
export const IO_AREA = 0x60000000;

/** The file's byte at offset o: a letter per page. */
export function ioFileByte(o: number): number {
  return 0x61 + (Math.floor(o / PAGE_SIZE) % 26);
}

/**
 * The pages target thread `t` of `faulters` reads: the first half of the file, shared out in turn.
 * The monitor's region=1 reads go to the second half, which nobody else faults in.
 */
function faulterPages(t: number, faulters: number, pages: number): number[] {
  const mine: number[] = [];
  for (let p = t; p < Math.ceil(pages / 2); p += faulters) mine.push(p);
  return mine;
}

export const ioFault: Workload = {
  name: 'io-fault',
  unordered: true,
  description: 'target threads fault pages of a slow file (I/O latency) while a thread churns mmap_lock writes and a monitor reads',
  params: {
    pages: intParam(8, 2, 512, 'pages of the file'),
    faulters: intParam(2, 1, 16, 'target threads reading the first half of the file'),
    io: intParam(500, 1, 1000000, 'ticks each page read from the file sleeps'),
    iterations: intParam(3, 0, 1000, 'mmap/touch/mprotect/munmap rounds of the churning thread'),
    reads: intParam(3, 0, 256, 'monitor reads (region=1: at most pages/2, one page each)'),
    region: switchParam(0, '1: the monitor reads the second half of the file mapping instead of cmdline'),
    think: intParam(200, 0, 1000000, 'ticks the monitor sleeps between reads'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const pages = num(ctx, 'pages');
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const bytes = new Uint8Array(pages * PAGE_SIZE).map((_, o) => ioFileByte(o));
    const file = yield* create_file(IO_FILE, bytes, num(ctx, 'io'));
    const mapped = new Completion();
    thread(proc, 'setup', function* () {
      yield* sys_mmap(proc.mm, { addr: IO_AREA, len: pages * PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_FIXED, file });
      yield* complete_all(mapped);
    });
    const faulters = num(ctx, 'faulters');
    for (let t = 0; t < faulters; t++) {
      thread(proc, `faulter/${t}`, function* () {
        yield* wait_for_completion(mapped);
        for (const p of faulterPages(t, faulters, pages)) yield* user_access(proc.mm, IO_AREA + p * PAGE_SIZE, new Uint8Array(16), false);
      });
    }
    thread(proc, 'churn', function* () {
      yield* wait_for_completion(mapped);
      yield* churn(proc, 2, num(ctx, 'iterations'), 0);
    });
    const region = num(ctx, 'region') === 1;
    const reads = region ? Math.min(num(ctx, 'reads'), Math.floor(pages / 2)) : num(ctx, 'reads');
    outsider('monitor', function* () {
      yield* wait_for_completion(mapped);
      for (let i = 0; i < reads; i++) {
        if (region) yield* remote_read(proc, IO_AREA + (pages - 1 - i) * PAGE_SIZE, 16);
        else yield* proc_pid_cmdline_read(proc.task, 4096);
        yield* sim().sleep(num(ctx, 'think'), W_THINK);
      }
    });
  },
};
