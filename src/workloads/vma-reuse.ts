/**
 * vma-reuse (kernel-spec §12.8, §2.1): VMAs come from a SLAB_TYPESAFE_BY_RCU cache, so the pointer
 * the fast path's mas_walk returned may be freed and handed out again -- for another mm, or for
 * this mm over another range -- before vma_start_read() takes its reference. The directed schedule
 * holds the reader right after the mas_walk that found V (the target's VMA at AREA) until the
 * target's `writer` has munmapped AREA (and, per mode, V has been reused):
 *  - mode 0, detached: V is freed and not reused; vma_start_read sees refcnt 0: -EAGAIN, MISS,
 *    re-walk, nothing at AREA: ABORT, fallback; the slow path finds no VMA either: 0 bytes.
 *  - mode 1, reused by another mm: a second process maps V at the very same address AREA (filled
 *    'O'), and its `other-writer` then mprotects it -- vma_start_write(V) must wait for the reader's
 *    transient reference. vma_start_read takes the reference, sees vm_mm != mm: FOREIGN, drops the
 *    reference (waking the other mm's writer), ABORT, fallback: 0 bytes -- never the other mm's 'O's.
 *  - mode 2, reused by the same mm elsewhere: the writer maps V at AREA2, then a new VMA at AREA
 *    (filled 'N'). vma_start_read succeeds on V, the bounds re-check fails: vma_end_read, ABORT,
 *    fallback; the slow path reads the new VMA at AREA: 16 bytes of 'N'.
 * On gup the reader simply waits until the writers are done and reads what the slow path reads then:
 * the same bytes as fast in every mode.
 */
import { by, type Gate } from '../sim/directed.js';
import type { Gen } from '../sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import {
  MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap, sys_munmap, vma_lookup,
} from '../linux/mm/mmap.js';
import { sys_mprotect } from '../linux/mm/mprotect.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { map_filled, outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';

/** V's range in the target (and, in mode 1, in the other process). */
export const AREA = 0x30000000;
/** Where mode 2 puts V again (far enough from AREA that nothing merges). */
export const AREA2 = AREA + 0x100000;
export const READ_LEN = 16;

export const MODE_DETACHED = 0;
export const MODE_OTHER_MM = 1;
export const MODE_SAME_MM = 2;

export const vmaReuse: Workload = {
  name: 'vma-reuse',
  description: 'the VMA the fast path found is freed and reused (typesafe RCU) before vma_start_read',
  params: {
    mode: intParam(MODE_OTHER_MM, 0, 2, '0: V only detached and freed; 1: reused by another mm at the same address; 2: reused by the same mm elsewhere'),
  },
  schedule(ctx: WorkloadContext): Gate[] {
    const mode = num(ctx, 'mode');
    // The task whose exit means "V has been freed and, per mode, reused".
    const last = mode === MODE_OTHER_MM ? 'other' : 'writer';
    if (ctx.path === 'gup') {
      // No lockless lookup to stop in: the reader just comes after the writers.
      const gates: Gate[] = [{ task: 'reader', until: by(mode === MODE_OTHER_MM ? 'other-writer' : 'writer', 'task_exit') }];
      if (mode === MODE_OTHER_MM) gates.push({ task: 'other', until: by('writer', 'task_exit') });
      return gates;
    }
    // The reader's mas_walk that returned V (its id: ctx.shared.vma, set by setup).
    const walkedV = by('reader', 'mas_walk', (e) => e.vma === ctx.shared.vma);
    const gates: Gate[] = [
      { task: 'writer', until: walkedV },
      { task: 'reader', after: walkedV, until: by(last, 'task_exit') },
    ];
    if (mode === MODE_OTHER_MM) {
      // The other mm maps (and so reuses V) only after the target freed it ...
      gates.push({ task: 'other', until: by('writer', 'task_exit') });
      // ... and its mprotect comes to vma_start_write(V) while the reader holds its transient
      // reference: hold the reader right after its increment until that writer sleeps on V.
      const readerInc = by('reader', 'vma_refcnt', (e) => e.vma === ctx.shared.vma && e.new === e.old + 1);
      gates.push({ task: 'other-writer', until: readerInc });
      gates.push({ task: 'reader', after: readerInc, until: by('other-writer', 'sched_block', (e) => e.on === ctx.shared.vma) });
    }
    return gates;
  },
  *boot(ctx: WorkloadContext): Gen {
    const mode = num(ctx, 'mode');
    if (mode !== MODE_DETACHED && mode !== MODE_OTHER_MM && mode !== MODE_SAME_MM) throw new RangeError(`vma-reuse: mode must be 0, 1 or 2, got ${mode}`);
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const other = mode === MODE_OTHER_MM ? yield* spawn_process('other', TARGET_ARGV, TARGET_ENVP) : null;
    const ready = new Completion();
    thread(target, 'setup', function* () {
      yield* map_filled(target, AREA, 1, PROT_READ | PROT_WRITE, 'V');
      ctx.shared.vma = vma_lookup(target.mm, AREA)!.id;
      yield* complete_all(ready);
    });
    thread(target, 'writer', function* () {
      yield* wait_for_completion(ready);
      yield* sys_munmap(target.mm, AREA, PAGE_SIZE);
      if (mode === MODE_SAME_MM) {
        // vm_area_alloc() hands V out again, now over AREA2 ...
        yield* sys_mmap(target.mm, { addr: AREA2, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
        // ... and AREA gets a fresh VMA with new contents.
        yield* map_filled(target, AREA, 1, PROT_READ | PROT_WRITE, 'N');
      }
    });
    if (other) {
      const mapped = new Completion();
      thread(other, 'other', function* () {
        yield* wait_for_completion(ready);
        // Same address in another mm: only the vm_mm check tells the reader it is not its VMA.
        yield* map_filled(other, AREA, 1, PROT_READ | PROT_WRITE, 'O');
        yield* complete_all(mapped);
      });
      thread(other, 'other-writer', function* () {
        yield* wait_for_completion(mapped);
        yield* sys_mprotect(other.mm, AREA, PAGE_SIZE, PROT_READ);
      });
    }
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, AREA, READ_LEN);
    });
  },
};
