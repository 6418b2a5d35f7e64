/**
 * cmdline-poll: a monitor (think `ps`, `top`) reads /proc/PID/cmdline over and over while the target's
 * threads change their address space: mmap, touch, mprotect, munmap, in a loop. The reads contend
 * with the threads' mmap_lock writers; every request returns the real argv bytes.
 */
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap } from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { outsider, spawn_process, thread, type Process } from './lib.js';
import { intParam, num, type ParamValue, type Workload, type WorkloadContext } from './workload.js';

const W_THINK = name('think time');

export const TARGET_ARGV = ['/usr/bin/target', '--serve', '--port=8080', 'config.toml'];
export const TARGET_ENVP = ['HOME=/root', 'PATH=/usr/bin:/bin', 'LANG=C.UTF-8'];

/** Events the target threads' churn records (threads x iterations rounds of `pages` pages), measured. */
export function churnEvents(p: Readonly<Record<string, ParamValue>>): number {
  return Number(p['threads']) * Number(p['iterations']) * (120 + 45 * Number(p['pages']));
}

/** One target thread: map a region, write to each page, make it read-only, then unmap it. */
export function* churn(proc: Process, pages: number, iterations: number, tag: number): Gen {
  const len = pages * PAGE_SIZE;
  for (let i = 0; i < iterations; i++) {
    const addr = yield* sys_mmap(proc.mm, { addr: 0, len, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    if (addr < 0) continue;
    const word = new Uint8Array(8).fill(0x41 + ((tag + i) % 26));
    for (let p = 0; p < pages; p++) yield* user_access(proc.mm, addr + p * PAGE_SIZE, word, true);
    yield* sys_mprotect(proc.mm, addr, len, PROT_READ);
    yield* user_access(proc.mm, addr, new Uint8Array(8), false);
    yield* sys_munmap(proc.mm, addr, len);
  }
}

export const cmdlinePoll: Workload = {
  name: 'cmdline-poll',
  unordered: true,
  // Measured (record --json): ~70 events per read, and per thread round ~120 plus ~45 per page.
  estimateEvents: (p) => 200 + 70 * Number(p['reads']) + churnEvents(p),
  description: 'a monitor reads /proc/PID/cmdline N times while target threads mmap/touch/mprotect/munmap in a loop',
  params: {
    reads: intParam(20, 0, 1000000, 'cmdline reads by the monitor'),
    threads: intParam(2, 0, 64, 'target threads changing the address space'),
    iterations: intParam(6, 0, 1000000, 'mmap/touch/mprotect/munmap rounds per thread'),
    pages: intParam(4, 1, 512, 'pages per mapping'),
    think: intParam(2000, 0, 1000000000, 'ticks the monitor sleeps between reads'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    for (let t = 0; t < num(ctx, 'threads'); t++) {
      thread(proc, `target/${t}`, () => churn(proc, num(ctx, 'pages'), num(ctx, 'iterations'), t));
    }
    outsider('monitor', function* () {
      for (let i = 0; i < num(ctx, 'reads'); i++) {
        yield* proc_pid_cmdline_read(proc.task, 4096);
        yield* sim().sleep(num(ctx, 'think'), W_THINK);
      }
    });
  },
};
