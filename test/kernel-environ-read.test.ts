/**
 * environ_read() (fs/proc/base.c): a chunk whose access_remote_vm() reads nothing ends the read
 * with that result, dropping the count of the chunks read before it; and a process without an
 * environment yet (`!mm->env_end`) reads as empty before arg_lock is taken.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import type { RequestResult } from '../src/linux/kernel/request.js';
import { proc_pid_environ_read } from '../src/linux/fs/proc/base.js';
import { sys_munmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE, type MmStruct } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const ARGV = ['/usr/bin/victim'];
/** An environment of about 6000 bytes: it spans two pages or three. */
const ENVP = Array.from({ length: 60 }, (_, i) => `VAR_${String(i).padStart(2, '0')}=${'x'.repeat(90)}`);

function environ(seed: number, setup: (mm: MmStruct) => Gen) {
  let mm!: MmStruct;
  let read!: RequestResult;
  const trace = runBoot(function* (): Gen {
    const proc = yield* spawn_process('victim', ARGV, ENVP);
    mm = proc.mm;
    const ready = new Completion();
    spawnThread(proc, 'victim/0', function* () {
      yield* setup(mm);
      yield* complete_all(ready);
    });
    spawnOutsider('ps', function* () {
      yield* wait_for_completion(ready);
      read = yield* proc_pid_environ_read(proc.task, 3 * PAGE_SIZE);
    });
  }, { seed });
  return { trace, mm, read };
}

describe('environ_read (fs/proc/base.c)', () => {
  it('control: the whole environment, in chunks of a page', () => {
    const { read, mm } = environ(1, function* () {});
    expect(read.result).toBe(mm.env_end - mm.env_start);
    expect(new TextDecoder().decode(read.data).split('\0').slice(0, 2)).toEqual([ENVP[0], ENVP[1]]);
  });

  it('a chunk that reads nothing returns its 0: the bytes of the chunks before it are not counted', () => {
    const { trace, read, mm } = environ(1, function* (m) {
      // Unmap the page holding the end of the environment: the first chunk reads up to it, the next one nothing.
      const last = Math.floor((m.env_end - 1) / PAGE_SIZE) * PAGE_SIZE;
      expect(yield* sys_munmap(m, last, PAGE_SIZE)).toBe(0);
    });
    expect(mm.env_end - mm.env_start).toBeGreaterThan(PAGE_SIZE);
    expect(read.result).toBe(0);
    // The first chunk did copy bytes out of the target before the second one failed.
    expect(trace.of('copy', 'ps').length).toBeGreaterThan(0);
  });

  it('a process with no environment yet (env_end 0) reads as empty without taking arg_lock', () => {
    const { trace, read } = environ(1, function* (m) {
      m.env_end = 0;
    });
    expect(read.result).toBe(0);
    const ps = trace.tid('ps');
    expect(trace.of('spin_lock', ps).filter((e) => e.class === 'arg_lock')).toEqual([]);
    expect(trace.of('copy', ps)).toEqual([]);
  });
});
