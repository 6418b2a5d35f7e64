/**
 * get_mm_proctitle() (fs/proc/base.c): when setproctitle() has overwritten argv (its last byte is no
 * longer NUL), cmdline is the first string of the area, NUL included when the page holds one, and
 * an offset of a page or more reads nothing without reading the target's page.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import type { RequestResult } from '../src/linux/kernel/request.js';
import { proc_pid_cmdline_read } from '../src/linux/fs/proc/base.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

/** Arguments long enough that argv spans more than a page. */
const ARGV = ['/usr/bin/daemon', ...Array.from({ length: 50 }, (_, i) => `--option-${i}=${'v'.repeat(90)}`)];
const TITLE = 'daemon: worker';

function cmdline(pos: number) {
  let mm!: MmStruct;
  let read!: RequestResult;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('daemon', ARGV, ['HOME=/']);
    mm = proc.mm;
    const retitled = new Completion();
    spawnThread(proc, 'daemon/0', function* () {
      // setproctitle(): the title and its NUL at arg_start, and no NUL left at arg_end - 1.
      const title = new TextEncoder().encode(`${TITLE}\0`);
      if (!(yield* user_access(mm, mm.arg_start, title, true))) throw new Error('store faulted');
      if (!(yield* user_access(mm, mm.arg_end - 1, Uint8Array.of(0x78), true))) throw new Error('store faulted');
      yield* complete_all(retitled);
    });
    spawnOutsider('ps', function* () {
      yield* wait_for_completion(retitled);
      read = yield* proc_pid_cmdline_read(proc.task, 2 * PAGE_SIZE, pos);
    });
  }, { seed: 1 });
  return { trace, mm, read };
}

describe('get_mm_proctitle (fs/proc/base.c)', () => {
  it('the title, with the NUL that ends it', () => {
    const { read, mm } = cmdline(0);
    expect(mm.arg_end - mm.arg_start).toBeGreaterThan(PAGE_SIZE);
    expect(read.result).toBe(TITLE.length + 1);
    expect(new TextDecoder().decode(read.data.subarray(0, read.result))).toBe(`${TITLE}\0`);
  });

  it('an offset of a page or more: nothing, and only the probe of argv\'s last byte reads the target', () => {
    const { read, trace } = cmdline(PAGE_SIZE);
    expect(read.result).toBe(0);
    expect(trace.of('copy', 'ps').map((e) => e.len)).toEqual([1]);
  });
});
