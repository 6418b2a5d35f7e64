/**
 * A debugger's PTRACE_PEEKDATA (a FOLL_FORCE read) of a word while the target mprotect()s its page
 * to PROT_NONE; `peeks` sets how many words it reads, one after another. FOLL_FORCE lets ptrace read
 * a page the target cannot (VM_MAYREAD), on gup and on the fast path alike -- the diff says
 * whether they agree.
 *
 *   npx mmtrace record ./examples/workloads/peek-vs-mprotect.ts --path=gup,fast
 *   npx mmtrace diff traces/peek-vs-mprotect.db#gup traces/peek-vs-mprotect.db#fast
 */
import { PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, sys_mprotect } from 'mmtrace/linux';
import {
  Completion, type Gen, TARGET_ARGV, TARGET_ENVP, type Workload, type WorkloadContext, complete_all, intParam,
  map_filled, num, outsider, ptrace_peekdata, spawn_process, thread, wait_for_completion,
} from 'mmtrace/workload';

const AREA = 0x50000000;

const peekVsMprotect: Workload = {
  name: 'peek-vs-mprotect',
  description: 'PTRACE_PEEKDATA of a page while the target makes it PROT_NONE',
  params: {
    peeks: intParam(4, 1, 64, 'words the debugger reads, 8 bytes apart'),
  },
  *boot(ctx: WorkloadContext): Gen {
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      yield* map_filled(target, AREA, 1, PROT_READ | PROT_WRITE, 'P');
      yield* complete_all(ready);
    });
    thread(target, 'protector', function* () {
      yield* wait_for_completion(ready);
      yield* sys_mprotect(target.mm, AREA, PAGE_SIZE, PROT_NONE);
    });
    outsider('debugger', function* () {
      yield* wait_for_completion(ready);
      for (let i = 0; i < num(ctx, 'peeks'); i++) yield* ptrace_peekdata(target.task, AREA + 8 * i);
    });
  },
};

export default peekVsMprotect;
