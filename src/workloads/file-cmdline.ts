/**
 * file-cmdline (kernel-spec §12.2, §8.2, CVE-2018-1120): the target maps a file MAP_FIXED|MAP_PRIVATE
 * over the page(s) holding its argv (think of a FUSE file whose reads can block), a target thread
 * reads it so it is page-cache resident and mapped, then a monitor reads /proc/PID/cmdline. Before
 * the remap the monitor reads cmdline once as a control (the real argv); after it, `reads` times.
 *
 *  - gup: /proc/PID/cmdline passes FOLL_ANON, so check_vma_flags refuses the file VMA (-EFAULT)
 *    before any fault; the VMA has no ->access: 0 bytes.
 *  - fast (v1): no FOLL_ANON check; the VMA read-locks, the page is present: it copies the FILE's
 *    bytes (the regression Usama found in review).
 *  - fast+checkFollAnon: the fast path refuses the VMA, falls back, GUP refuses it: 0, as gup.
 * touchFirst=0: the file page is not mapped, so v1 finds nothing, falls back, and GUP refuses: 0.
 *
 * The file's bytes are a letter pattern with a NUL where argv's last byte is, so the cmdline probe
 * of arg_end-1 (setproctitle detection) reads 0 and the read takes the plain argv path.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { proc_pid_cmdline_read } from '../linux/fs/proc/base.js';
import { create_file } from '../linux/mm/filemap.js';
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

export const FILE_CMDLINE_FILE = '/fuse/argv';

/** The pages [first, end) that hold argv [arg_start, arg_end). */
export function argvPages(arg_start: number, arg_end: number): { first: number; end: number } {
  return { first: Math.floor(arg_start / PAGE_SIZE) * PAGE_SIZE, end: Math.ceil(arg_end / PAGE_SIZE) * PAGE_SIZE };
}

/** The file mapped over those pages: letters, with a NUL at argv's last byte. */
export function fileCmdlineBytes(arg_start: number, arg_end: number): Uint8Array {
  const { first, end } = argvPages(arg_start, arg_end);
  const b = new Uint8Array(end - first);
  for (let i = 0; i < b.length; i++) b[i] = 0x61 + (i % 26);
  b[arg_end - 1 - first] = 0;
  return b;
}

export const fileCmdline: Workload = {
  name: 'file-cmdline',
  description: 'the target maps a file over its argv page(s) and touches it; a monitor reads /proc/PID/cmdline (FOLL_ANON,)',
  params: {
    touchFirst: switchParam(1, '1: a target thread reads the file page first (resident and mapped); 0: not mapped'),
    reads: intParam(3, 0, 100000, 'cmdline reads by the monitor after the remap'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const mm = proc.mm;
    const { first, end } = argvPages(mm.arg_start, mm.arg_end);
    const checkedBefore = new Completion();
    const ready = new Completion();
    thread(proc, 'target/0', function* () {
      yield* wait_for_completion(checkedBefore);
      const file = yield* create_file(FILE_CMDLINE_FILE, fileCmdlineBytes(mm.arg_start, mm.arg_end));
      const addr = yield* sys_mmap(mm, { addr: first, len: end - first, prot: PROT_READ, flags: MAP_FIXED | MAP_PRIVATE, file });
      if (addr !== first) throw new Error(`mmap returned ${addr}`);
      if (num(ctx, 'touchFirst')) {
        // Page-cache resident and mapped: the thread reads every page itself.
        for (let p = first; p < end; p += PAGE_SIZE) yield* user_access(mm, p, new Uint8Array(16), false);
      }
      yield* complete_all(ready);
    });
    outsider('monitor', function* () {
      yield* proc_pid_cmdline_read(proc.task, 4096); // control: the real argv
      yield* complete_all(checkedBefore);
      yield* wait_for_completion(ready);
      for (let i = 0; i < num(ctx, 'reads'); i++) yield* proc_pid_cmdline_read(proc.task, 4096);
    });
  },
};
