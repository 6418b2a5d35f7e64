/**
 * GUP's argument checks and the order of follow_huge_pmd()'s rules (mm/gup.c):
 *  - is_valid_gup_args(): a caller of get_user_pages_remote() passing a flag only GUP sets, or
 *    FOLL_LONGTERM without FOLL_PIN, gets -EINVAL and a WARN, and nothing is read;
 *  - follow_huge_pmd(): the FOLL_WRITE rule comes before FOLL_DUMP's refusal of the huge zero page,
 *    so a FOLL_DUMP write to it faults in a THP of its own rather than failing.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { FOLL_DUMP, FOLL_FORCE, FOLL_LONGTERM, FOLL_TOUCH } from '../src/linux/mm/gup.js';
import { MADV_HUGEPAGE, sys_madvise } from '../src/linux/mm/madvise.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PMD_SIZE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { remote_read, remote_write, spawn_process, type Process } from '../src/workloads/lib.js';
import { runBoot, type Trace } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const AREA = 0x6000_0000;

/** A target whose thread maps AREA (a THP-enabled PMD) and reads it, then `probe` from outside. */
function run(probe: (proc: Process) => Gen<number>): { t: Trace; result: number } {
  let result = NaN;
  const t = runBoot(function* (): Gen {
    const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
    const mapped = new Completion();
    spawnThread(proc, 'toucher', function* () {
      yield* sys_mmap(proc.mm, { addr: AREA, len: PMD_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_madvise(proc.mm, AREA, PMD_SIZE, MADV_HUGEPAGE);
      yield* user_access(proc.mm, AREA, new Uint8Array(8), false); // the huge zero page
      yield* complete_all(mapped);
    });
    spawnOutsider('caller', function* () {
      yield* wait_for_completion(mapped);
      result = yield* probe(proc);
    });
  });
  expect(t.result.outcome).toBe('done');
  return { t, result };
}

const warnings = (t: Trace) => t.of('warn', 'caller').map((e) => e.what);

describe('GUP arguments and rule order', () => {
  for (const [flag, named] of [[FOLL_LONGTERM, 'FOLL_LONGTERM without FOLL_PIN'], [FOLL_TOUCH, 'FOLL_TOUCH, which GUP sets itself']] as const) {
    it(`is_valid_gup_args: ${named} is refused with a WARN, and nothing is read`, () => {
      const { t, result } = run(function* (proc) {
        return (yield* remote_read(proc, AREA, 8, flag)).result;
      });
      expect(result).toBe(0);
      expect(warnings(t)).toEqual(['is_valid_gup_args: gup flags a caller may not pass']);
      expect(t.of('copy', 'caller')).toEqual([]);
    });
  }

  it('a read with the flags a caller may pass goes through, with no WARN', () => {
    const { t, result } = run(function* (proc) {
      return (yield* remote_read(proc, AREA, 8, FOLL_FORCE)).result;
    });
    expect(result).toBe(8);
    expect(warnings(t)).toEqual([]);
  });

  it('follow_huge_pmd: a FOLL_DUMP write to the huge zero page faults in a THP (the FOLL_WRITE rule first), not -EFAULT', () => {
    const { t, result } = run(function* (proc) {
      return (yield* remote_write(proc, AREA, Uint8Array.of(1, 2, 3), FOLL_DUMP | FOLL_FORCE)).result;
    });
    expect(result).toBe(3);
    expect(t.of('gup_error', 'caller')).toEqual([]);
    expect(t.of('fault', 'caller').map((e) => e.how)).toEqual(['do_huge_zero_wp_pmd']);
  });
});
