/**
 * scale: the cmdline-poll mix made large, for benchmarks: target threads churning their address
 * space, monitors reading cmdline and environ, and a debugger peeking with ptrace and reading
 * /proc/PID/mem.
 */
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { proc_pid_cmdline_read, proc_pid_environ_read, proc_pid_mem_read } from '../linux/fs/proc/base.js';
import { ptrace_peekdata } from '../linux/kernel/ptrace.js';
import { churn, churnEvents, TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

const W_THINK = name('think time');

export const scale: Workload = {
  name: 'scale',
  unordered: true,
  // Measured (record --json): ~70 events per monitor read, and per thread round ~120 plus ~45 per page.
  estimateEvents: (p) => 200 + 70 * Number(p['monitors']) * Number(p['reads']) + churnEvents(p),
  description: 'a large mix (churning threads, cmdline/environ monitors, a ptrace and /proc/PID/mem debugger) sized for millions of events',
  params: {
    threads: intParam(4, 0, 64, 'target threads changing the address space'),
    iterations: intParam(1000, 0, 1000000, 'mmap/touch/mprotect/munmap rounds per thread'),
    pages: intParam(8, 1, 512, 'pages per mapping'),
    monitors: intParam(2, 0, 64, 'tasks reading cmdline and environ'),
    reads: intParam(2000, 0, 1000000, 'reads per monitor'),
    think: intParam(200, 0, 1000000000, 'ticks a monitor sleeps between reads'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    for (let t = 0; t < num(ctx, 'threads'); t++) {
      thread(proc, `target/${t}`, () => churn(proc, num(ctx, 'pages'), num(ctx, 'iterations'), t));
    }
    for (let m = 0; m < num(ctx, 'monitors'); m++) {
      outsider(`monitor/${m}`, function* () {
        for (let i = 0; i < num(ctx, 'reads'); i++) {
          if (i % 2 === 0) yield* proc_pid_cmdline_read(proc.task, 4096);
          else yield* proc_pid_environ_read(proc.task, 4096);
          yield* sim().sleep(num(ctx, 'think'), W_THINK);
        }
      });
    }
    outsider('debugger', function* () {
      for (let i = 0; i < num(ctx, 'reads') / 4; i++) {
        // A debugger peeks words with ptrace and reads larger spans through /proc/PID/mem.
        if (i % 2 === 0) yield* ptrace_peekdata(proc.task, proc.mm.arg_start + (i % 4) * 8);
        else yield* proc_pid_mem_read(proc.task, proc.mm.arg_start, 64);
        yield* sim().sleep(num(ctx, 'think') * 4, W_THINK);
      }
    });
  },
};
