/**
 * never-touched (kernel-spec §12.9): remote reads of anonymous memory the target never faulted in,
 * and of memory whose PTE already maps the shared zero page (the target read it first). A debugger
 * PEEKs (ptrace, FOLL_FORCE) and a monitor-style plain access_process_vm() read (gup_flags 0) each
 * kind of page; every read returns zeros.
 *
 *  - gup: GUP faults the never-touched pages in (`do_anonymous_page:zero_page`: the zero page is
 *    mapped into the target's page tables) and copies from the zero page; the zero-page PTEs are
 *    followed without a fault.
 *  - fast (v1): folio_walk_start() finds nothing for the never-touched pages, and without
 *    FW_ZEROPAGE it does not return the zero page either, so every read falls back
 *    (`folio_walk_start: not found`) and GUP does it as above: the same bytes, more events.
 *
 * Page layout of the area: `rounds` groups of 4 pages from NEVER_TOUCHED_AREA, each group read once:
 * 0 PEEK never touched, 1 plain read never touched, 2 PEEK zero-page PTE, 3 plain read zero-page PTE.
 */
import type { Gen } from '../sim/task.js';
import { user_access } from '../linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../linux/kernel/completion.js';
import { ptrace_peekdata } from '../linux/kernel/ptrace.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../linux/mm/mmap.js';
import { PAGE_SIZE } from '../linux/mm/mm_types.js';
import { TARGET_ARGV, TARGET_ENVP } from './cmdline-poll.js';
import { outsider, remote_read, spawn_process, thread } from './lib.js';
import { num, type Workload, type WorkloadContext, intParam } from './workload.js';


/** Where the anonymous area starts: fixed, page-aligned, away from text, stack and mmap_base. */
export const NEVER_TOUCHED_AREA = 0x20000000;

export const neverTouched: Workload = {
  name: 'never-touched',
  description: 'ptrace PEEK and a plain remote read of never-faulted anonymous pages and of zero-page PTEs: zeros on every path',
  params: {
    len: intParam(64, 1, 4096, 'bytes of each plain access_process_vm read (offset + len <= 4096)'),
    offset: intParam(256, 0, 4088, 'offset of every read within its page (room for an 8-byte PEEK)'),
    rounds: intParam(2, 1, 4096, 'groups of four pages, each group read once'),
  },
  // Every read stays in its page (the PEEKs too: offset's bound leaves room for their 8 bytes).
  checkParams: (p) => (Number(p['offset']) + Number(p['len']) > PAGE_SIZE ? `offset + len must be at most ${PAGE_SIZE}: a read stays in its page` : null),
  *boot(ctx: WorkloadContext): Gen {
    const proc = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const len = num(ctx, 'len');
    const offset = num(ctx, 'offset');
    const rounds = num(ctx, 'rounds');
    const ready = new Completion();
    thread(proc, 'target/0', function* () {
      const addr = yield* sys_mmap(proc.mm, {
        addr: NEVER_TOUCHED_AREA, len: 4 * rounds * PAGE_SIZE, prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      });
      if (addr !== NEVER_TOUCHED_AREA) throw new Error(`mmap returned ${addr}`);
      // Pages 2 and 3 of each group: the target reads them, so their PTEs map the zero page.
      for (let r = 0; r < rounds; r++) {
        yield* user_access(proc.mm, addr + (4 * r + 2) * PAGE_SIZE, new Uint8Array(8), false);
        yield* user_access(proc.mm, addr + (4 * r + 3) * PAGE_SIZE, new Uint8Array(8), false);
      }
      yield* complete_all(ready);
    });
    outsider('monitor', function* () {
      yield* wait_for_completion(ready);
      const page = (i: number) => NEVER_TOUCHED_AREA + i * PAGE_SIZE + offset;
      for (let r = 0; r < rounds; r++) {
        yield* ptrace_peekdata(proc.task, page(4 * r));
        yield* remote_read(proc, page(4 * r + 1), len);
        yield* ptrace_peekdata(proc.task, page(4 * r + 2));
        yield* remote_read(proc, page(4 * r + 3), len);
      }
    });
  },
};
