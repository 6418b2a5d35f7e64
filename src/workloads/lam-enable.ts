/**
 * lam-enable (kernel-spec §9, §12.15): the target enables x86 LAM while a monitor reads through a
 * tagged pointer (tag in bits 57..62; see arch/x86/include/uaccess_64.ts for how the model holds
 * one in a number).
 *
 * The target maps page P at a fixed address and stores a pattern; the monitor reads the tagged
 * pointer once (read 1, LAM off: the tag is kept, the address is non-canonical/unmapped -> 0
 * bytes); the target calls arch_prctl(ARCH_ENABLE_TAGGED_ADDR, 6) while the monitor reads again
 * (read 2), then `reads` more times after the enable (read 3 on: data), and tries to enable again (-EBUSY:
 * LAM is locked once enabled). With `race` (default) a directed schedule places the enable inside
 * read 2: after the read has begun -- on the fast path, after its unlocked read of the old all-ones
 * mask, its failed VMA lookup and its fallback -- and before the slow path takes mmap_lock. The
 * slow path then untags with the new mask and returns the data: benign. `threads` > 0 makes the
 * target multi-threaded first (MM_CONTEXT_LOCK_LAM): the enable fails with -EBUSY, every read 0.
 */
import type { Gen } from '../sim/task.js';
import type { Gate, ObservedEvent } from '../sim/directed.js';
import { tagged_pointer } from '../linux/arch/x86/include/uaccess_64.js';
import { ARCH_ENABLE_TAGGED_ADDR, lam_lock_on_clone_vm, sys_arch_prctl } from '../linux/arch/x86/kernel/process_64.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { intern_names, outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam, switchParam } from './workload.js';

export const LAM_AREA = 0x40000000;
export const LAM_OFFSET = 0x100;
export const LAM_TAG = 0x2a;
export const LAM_PATTERN = new TextEncoder().encode('lam-enable: tagged read');
/** The monitor's pointer: P + offset with tag 0x2a in bits 57..62. */
export const TAGGED_ADDR = tagged_pointer(LAM_AREA + LAM_OFFSET, LAM_TAG);
/** LAM_U57_BITS: the tag width the target asks for. */
const NR_BITS = 6;

export const lamEnable: Workload = {
  name: 'lam-enable',
  description: 'a single-threaded target enables LAM while a monitor reads through a tagged pointer',
  params: {
    race: switchParam(1, '1: a directed schedule runs the enable inside the second read, between its fast path and mmap_lock'),
    reads: intParam(4, 0, 100000, 'reads after the enable has returned (the third read and on)'),
    threads: intParam(0, 0, 64, 'extra target threads cloned first (LAM locked: the enable fails with -EBUSY)'),
  },
  schedule(ctx: WorkloadContext): Gate[] {
    if (!num(ctx, 'race')) return [];
    let monitorReq = 0;
    const secondReadLocks = (e: ObservedEvent) => {
      if (e.task === 'monitor' && e.kind === 'request_begin') monitorReq = e.req;
      return monitorReq === 2 && e.task === 'monitor' && e.kind === 'mmap_lock_start_locking';
    };
    const prctlBegins = (e: ObservedEvent) => e.task === 'target' && e.kind === 'syscall_begin' && e.nr === 'arch_prctl';
    const prctlEnds = (e: ObservedEvent) => e.task === 'target' && e.kind === 'syscall_end' && e.nr === 'arch_prctl';
    return [
      // The enable waits until read 2 is about to take mmap_lock (its fast path, if any, is over) ...
      { task: 'target', after: prctlBegins, until: secondReadLocks },
      // ... and read 2 takes it only once the enable is done.
      { task: 'monitor', after: secondReadLocks, until: prctlEnds },
    ];
  },
  *boot(ctx: WorkloadContext): Gen {
    intern_names('arch_prctl');
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    const firstRead = new Completion();
    const enabled = new Completion();
    for (let t = 0; t < num(ctx, 'threads'); t++) {
      // clone(CLONE_VM): from now on the process is multi-threaded.
      lam_lock_on_clone_vm(proc.mm);
      thread(proc, `worker/${t}`, function* () {
        yield* wait_for_completion(ready);
        yield* user_access(proc.mm, LAM_AREA + LAM_OFFSET, new Uint8Array(LAM_PATTERN.length), false);
      });
    }
    thread(proc, 'target', function* () {
      const addr = yield* sys_mmap(proc.mm, { addr: LAM_AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      if (addr !== LAM_AREA) throw new Error(`mmap returned ${addr}`);
      yield* user_access(proc.mm, LAM_AREA + LAM_OFFSET, LAM_PATTERN, true);
      yield* complete_all(ready);
      yield* wait_for_completion(firstRead);
      yield* sys_arch_prctl(ARCH_ENABLE_TAGGED_ADDR, NR_BITS);
      yield* complete_all(enabled);
      // Once enabled, LAM is locked: a second enable is refused.
      yield* sys_arch_prctl(ARCH_ENABLE_TAGGED_ADDR, NR_BITS);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      for (let i = 1; i <= 2 + num(ctx, 'reads'); i++) {
        if (i === 3) yield* wait_for_completion(enabled);
        yield* remote_read(proc, TAGGED_ADDR, LAM_PATTERN.length);
        if (i === 1) yield* complete_all(firstRead);
      }
    });
  },
};
