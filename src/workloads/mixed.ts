/**
 * mixed: a random mix from the seed -- target threads mmap, munmap, mprotect, MADV_DONTNEED and
 * touch pages in a shared area of slots; readers read cmdline, environ, and remote ranges (which may
 * span VMAs or hit holes) with access_process_vm() and through /proc/PID/mem; a debugger peeks. For exploring schedules with every piece in play.
 */
import { name, sim } from '../sim/sim.js';
import { Prng } from '../sim/prng.js';
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { proc_pid_cmdline_read, proc_pid_environ_read, proc_pid_mem_read } from '../linux/fs/proc/base.js';
import { ptrace_peekdata } from '../linux/kernel/ptrace.js';
import { MADV_DONTNEED, sys_madvise } from '../linux/mm/madvise.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap,
} from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { MREMAP_FIXED, MREMAP_MAYMOVE, sys_mremap } from '../linux/mm/mremap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread, type Process } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

export const AREA = 0x30000000;
const SLOT_PAGES = 4;
const W_THINK = name('think time');
const PROTS = [PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE | PROT_EXEC, PROT_NONE];

/** One random address-space operation on a random slot. */
function* churnOnce(proc: Process, rng: Prng, slots: number): Gen {
  const slot = rng.below(slots);
  const addr = AREA + slot * SLOT_PAGES * PAGE_SIZE;
  const pages = 1 + rng.below(SLOT_PAGES);
  const len = pages * PAGE_SIZE;
  switch (rng.below(6)) {
    case 0:
      yield* sys_mmap(proc.mm, { addr, len, prot: PROTS[rng.below(3)]!, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      break;
    case 1:
      yield* sys_munmap(proc.mm, addr, len);
      break;
    case 2:
      yield* sys_mprotect(proc.mm, addr, len, PROTS[rng.below(PROTS.length)]!);
      break;
    case 3:
      yield* sys_madvise(proc.mm, addr, len, MADV_DONTNEED);
      break;
    case 4: {
      // Move the range to another slot (MREMAP_FIXED replaces whatever is there).
      const to = AREA + rng.below(slots) * SLOT_PAGES * PAGE_SIZE;
      if (to !== addr) yield* sys_mremap(proc.mm, addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
      break;
    }
    default:
      // A store (faults, or SIGSEGV on a hole or a read-only page: the thread goes on).
      yield* user_access(proc.mm, addr + rng.below(len), new Uint8Array(8).fill(0x61 + rng.below(26)), true);
  }
}

export const mixed: Workload = {
  name: 'mixed',
  unordered: true,
  // Measured (record --json): ~60 events per read (the debugger adds reads/2 more) and ~40 per operation.
  estimateEvents: (p) => 300 + 60 * (Number(p['readers']) + 0.5) * Number(p['reads']) + 40 * Number(p['threads']) * Number(p['ops']),
  description: 'a seeded random mix of mmap/munmap/mprotect/mremap/madvise/stores, remote and /proc/PID/mem readers and a ptrace peeker',
  params: {
    threads: intParam(3, 0, 64, 'target threads changing the address space'),
    ops: intParam(40, 0, 1000000, 'operations per thread'),
    readers: intParam(2, 0, 64, 'tasks reading the target'),
    reads: intParam(30, 0, 1000000, 'reads per reader'),
    slots: intParam(8, 1, 64, `slots of ${SLOT_PAGES} pages the threads work on`),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const slots = num(ctx, 'slots');
    const span = slots * SLOT_PAGES * PAGE_SIZE;
    for (let t = 0; t < num(ctx, 'threads'); t++) {
      const rng = new Prng(ctx.seed * 1000 + t);
      thread(proc, `target/${t}`, function* () {
        for (let i = 0; i < num(ctx, 'ops'); i++) yield* churnOnce(proc, rng, slots);
      });
    }
    for (let r = 0; r < num(ctx, 'readers'); r++) {
      const rng = new Prng(ctx.seed * 1000 + 500 + r);
      outsider(`reader/${r}`, function* () {
        for (let i = 0; i < num(ctx, 'reads'); i++) {
          const which = rng.below(4);
          if (which === 0) yield* proc_pid_cmdline_read(proc.task, 4096);
          else if (which === 1) yield* proc_pid_environ_read(proc.task, 4096);
          else if (which === 2) yield* remote_read(proc, AREA + rng.below(span), 1 + rng.below(2 * PAGE_SIZE));
          else yield* proc_pid_mem_read(proc.task, AREA + rng.below(span), 1 + rng.below(2 * PAGE_SIZE));
          yield* sim().sleep(100 + rng.below(400), W_THINK);
        }
      });
    }
    const peeks = new Prng(ctx.seed * 1000 + 900);
    outsider('debugger', function* () {
      for (let i = 0; i < num(ctx, 'reads') / 2; i++) {
        yield* ptrace_peekdata(proc.task, AREA + peeks.below(span));
        yield* sim().sleep(300, W_THINK);
      }
    });
  },
};
