/**
 * CVE-2018-1120 (kernel-spec §8.2, §12.2): /proc/PID/cmdline passes FOLL_ANON, so when the argv page
 * is file-backed GUP refuses it in check_vma_flags (-EFAULT, before any fault) and the read returns
 * 0 bytes even though the page is resident and mapped; ptrace (FOLL_FORCE, no FOLL_ANON) still reads
 * the file's bytes there.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { EFAULT } from '../src/linux/include/errno.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { ptrace_peekdata } from '../src/linux/kernel/ptrace.js';
import type { RequestResult } from '../src/linux/kernel/request.js';
import { proc_pid_cmdline_read } from '../src/linux/fs/proc/base.js';
import { create_file } from '../src/linux/mm/filemap.js';
import { MAP_FIXED, MAP_PRIVATE, PROT_READ, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { cmdlineBytes, spawnOutsider, spawnThread } from './helpers/tasks.js';

const ARGV = ['/usr/bin/victim', '--flag', 'value'];
const ENVP = ['HOME=/root'];

/** The FUSE-ish file's page: a recognisable byte at every offset. */
function fileBytes(): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  for (let i = 0; i < b.length; i++) b[i] = 0x41 + (i % 26);
  return b;
}

function scenario(seed: number, remap: boolean) {
  let mm!: MmStruct;
  let page = 0;
  let mmapRet = 0;
  let before: RequestResult | undefined;
  let cmdline!: RequestResult;
  let peek!: RequestResult;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('victim', ARGV, ENVP);
    mm = proc.mm;
    page = Math.floor(mm.arg_start / PAGE_SIZE) * PAGE_SIZE;
    const ready = new Completion();
    const checkedBefore = new Completion();
    spawnThread(proc, 'victim/0', function* () {
      yield* wait_for_completion(checkedBefore);
      if (remap) {
        const file = yield* create_file('/fuse/slow', fileBytes());
        mmapRet = yield* sys_mmap(mm, { addr: page, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_FIXED | MAP_PRIVATE, file });
      }
      // Make the page resident and mapped: the thread reads it itself.
      if (!(yield* user_access(mm, page, new Uint8Array(16), false))) throw new Error('read faulted');
      yield* complete_all(ready);
    });
    spawnOutsider('ps', function* () {
      before = yield* proc_pid_cmdline_read(proc.task, 4096);
      yield* complete_all(checkedBefore);
      yield* wait_for_completion(ready);
      cmdline = yield* proc_pid_cmdline_read(proc.task, 4096);
      peek = yield* ptrace_peekdata(proc.task, mm.arg_start);
    });
  }, { seed });
  return { trace, mm, page, mmapRet, before: before!, cmdline, peek };
}

describe('cmdline of a file-backed argv area (kernel-spec §8.2, CVE-2018-1120)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§8.2 control: anonymous argv page, cmdline returns argv (seed ${seed})`, () => {
      const { trace: t, cmdline, before, peek, mm } = scenario(seed, false);
      expect(t.result.outcome).toBe('done');
      const want = cmdlineBytes(ARGV);
      expect(before.result).toBe(want.length);
      expect(before.data).toEqual(want);
      expect(cmdline.result).toBe(want.length);
      expect(cmdline.data).toEqual(want);
      expect(peek.result).toBe(8);
      expect(peek.data).toEqual(want.subarray(0, 8));
      expect(mm.arg_end - mm.arg_start).toBe(want.length);
    });

    it(`§8.2/§6.5 file mapped over argv, resident and mapped: cmdline returns 0, ptrace peek reads the file (seed ${seed})`, () => {
      const { trace: t, mm, page, mmapRet, before, cmdline, peek } = scenario(seed, true);
      expect(t.result.outcome).toBe('done');
      expect(mmapRet).toBe(page);
      expect(before.result).toBe(cmdlineBytes(ARGV).length);

      // The page really is file-backed, page-cache resident and mapped before ps reads it.
      const vma = mm.mm_mt.load(mm.arg_start)!;
      expect(vma.vm_file?.name).toBe('/fuse/slow');
      expect(vma.vm_start).toBe(page);
      expect(vma.vm_end).toBe(page + PAGE_SIZE);
      const pcAdd = t.of('page_cache_add', 'victim/0');
      expect(pcAdd).toHaveLength(1);
      expect(pcAdd[0]!.file).toBe('/fuse/slow');
      const fileFault = t.of('fault', 'victim/0', (e) => e.addr === page);
      expect(fileFault.map((e) => e.how)).toEqual(['do_read_fault']);

      // FOLL_ANON: cmdline gets nothing.
      expect(cmdline.result).toBe(0);
      expect(cmdline.data).toHaveLength(0);
      const psTid = t.tid('ps');
      const reqs = t.of('request_begin', psTid);
      const ends = t.of('request_end', psTid);
      expect(reqs.map((e) => e.op)).toEqual(['cmdline', 'cmdline', 'ptrace_peekdata']);
      const inCmdline = (e: { seq: number }) => e.seq > reqs[1]!.seq && e.seq < ends[1]!.seq;
      // check_vma_flags refused: -EFAULT from GUP for the probe of arg_end-1 and the arg_start read...
      const errors = t.of('gup_error', psTid, inCmdline);
      expect(errors.map((e) => [e.addr, e.errno])).toEqual([[mm.arg_end - 1, EFAULT], [mm.arg_start, EFAULT]]);
      // ... before touching any page: no fault, no page-table walk, no copy, no folio reference.
      for (const kind of ['fault', 'copy', 'folio_get', 'pgtable_read'] as const) {
        expect(t.of(kind, psTid, inCmdline)).toHaveLength(0);
      }

      // ptrace PEEKDATA (FOLL_FORCE, no FOLL_ANON) reads the file's bytes at arg_start.
      const off = mm.arg_start % PAGE_SIZE;
      expect(peek.result).toBe(8);
      expect(peek.data).toEqual(fileBytes().subarray(off, off + 8));
      const inPeek = (e: { seq: number }) => e.seq > reqs[2]!.seq && e.seq < ends[2]!.seq;
      expect(t.of('gup_error', psTid, inPeek)).toHaveLength(0);
      const copy = t.of('copy', psTid, inPeek);
      expect(copy.map((e) => [e.addr, e.len, e.folio])).toEqual([[mm.arg_start, 8, pcAdd[0]!.folio]]);
    });
  }
});
