/**
 * scale: the cmdline-poll mix made large, for benchmarks: target threads churning their address
 * space, monitors reading cmdline and environ, and a debugger peeking with ptrace.
 */
import { name, sim } from '../sim/sim.js';
import type { Gen } from '../sim/task.js';
import { proc_pid_cmdline_read, proc_pid_environ_read } from '../linux/fs/proc/base.js';
import { ptrace_peekdata } from '../linux/kernel/ptrace.js';
import { churn, TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext } from './workload.js';

const W_THINK = name('think time');

export const scale: Workload = {
  name: 'scale',
  unordered: true,
  description: 'a large mix (churning threads, cmdline/environ monitors, a ptrace peeker) sized for millions of events',
  params: {
    threads: { default: 4, description: 'target threads changing the address space' },
    iterations: { default: 1000, description: 'mmap/touch/mprotect/munmap rounds per thread' },
    pages: { default: 8, description: 'pages per mapping' },
    monitors: { default: 2, description: 'tasks reading cmdline and environ' },
    reads: { default: 2000, description: 'reads per monitor' },
    think: { default: 200, description: 'ticks a monitor sleeps between reads' },
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
        yield* ptrace_peekdata(proc.task, proc.mm.arg_start + (i % 4) * 8);
        yield* sim().sleep(num(ctx, 'think') * 4, W_THINK);
      }
    });
  },
};
