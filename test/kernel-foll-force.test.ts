/**
 * FOLL_FORCE through the whole GUP path, not just check_vma_flags (kernel-spec §6.5, §6.6, §6.7,
 * §8.2, §12.10):
 *  - ptrace PEEK of a populated page that was mprotect(PROT_NONE)ed returns its bytes: GUP follows
 *    protnone PTEs because __access_remote_vm does not pass FOLL_HONOR_NUMA_FAULT
 *    (gup_can_follow_protnone); without FOLL_FORCE the read gets 0 bytes.
 *  - ptrace POKE (FOLL_FORCE|FOLL_WRITE) into a PROT_READ private mapping breaks COW and writes, but
 *    the PTE stays read-only (wp_page_reuse uses maybe_mkwrite): the target's own store still faults.
 * Both were model bugs: the first livelocked (fault, "young", retry, forever), the second left a
 * writable PTE in a read-only VMA.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { _PAGE_RW } from '../src/linux/arch/x86/include/pgtable_types.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { ptrace_access_vm, ptrace_peekdata } from '../src/linux/kernel/ptrace.js';
import type { RequestResult } from '../src/linux/kernel/request.js';
import { EFAULT } from '../src/linux/include/errno.js';
import { FOLL_FORCE, FOLL_WRITE } from '../src/linux/mm/gup.js';
import { access_remote_vm } from '../src/linux/mm/access_remote.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_NONE, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { sys_mprotect } from '../src/linux/mm/mprotect.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import { spawn_process } from '../src/workloads/lib.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider, spawnThread } from './helpers/tasks.js';

const DATA = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67]);

describe('FOLL_FORCE reads and writes (kernel-spec §6.5-§6.7, §12.10)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§6.6/§12.10 ptrace PEEK reads a populated PROT_NONE page; a plain read gets 0 bytes (seed ${seed})`, () => {
      let addr = 0;
      let peek!: RequestResult;
      let plain = -1;
      let mprotectRet = -1;
      let userRead: boolean | undefined;
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const ready = new Completion();
        const peeked = new Completion();
        spawnThread(proc, 'target/0', function* () {
          addr = yield* sys_mmap(proc.mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          yield* user_access(proc.mm, addr + 16, DATA, true);
          mprotectRet = yield* sys_mprotect(proc.mm, addr, PAGE_SIZE, PROT_NONE);
          yield* complete_all(ready);
          yield* wait_for_completion(peeked);
          // The target itself cannot read it.
          userRead = yield* user_access(proc.mm, addr + 16, new Uint8Array(8), false);
        });
        spawnOutsider('debugger', function* () {
          yield* wait_for_completion(ready);
          peek = yield* ptrace_peekdata(proc.task, addr + 16);
          plain = yield* access_remote_vm(proc.mm, addr + 16, new Uint8Array(8), 8, 0);
          yield* complete_all(peeked);
        });
      }, { seed, maxEvents: 100_000 });
      expect(t.result.outcome).toBe('done');
      expect(mprotectRet).toBe(0);
      expect(peek.result).toBe(8);
      expect(peek.data).toEqual(DATA);
      // GUP followed the protnone PTE without faulting.
      expect(t.of('fault', 'debugger')).toHaveLength(0);
      const copy = t.of('copy', 'debugger');
      expect(copy.map((e) => [e.addr, e.len])).toEqual([[addr + 16, 8]]);
      // No FOLL_FORCE: check_vma_flags refuses (no VM_READ).
      expect(plain).toBe(0);
      expect(t.of('gup_error', 'debugger').map((e) => [e.addr, e.errno])).toEqual([[addr + 16, EFAULT]]);
      expect(userRead).toBe(false);
      expect(t.of('force_sig_fault', 'target/0').map((e) => e.sig)).toEqual(['SIGSEGV']);
      expect(t.of('kernel_fault')).toHaveLength(0);
    });

    it(`§6.5/§6.7 ptrace POKE into a PROT_READ private mapping writes via COW but leaves the PTE read-only (seed ${seed})`, () => {
      let addr = 0;
      let poke = -1;
      let plainWrite = -1;
      let peek!: RequestResult;
      let store: boolean | undefined;
      const readBack = new Uint8Array(DATA.length);
      const t = runBoot(function* (): Gen {
        const proc = yield* spawn_process('target', ['/bin/target'], ['A=1']);
        const ready = new Completion();
        const poked = new Completion();
        spawnThread(proc, 'target/0', function* () {
          addr = yield* sys_mmap(proc.mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
          yield* complete_all(ready);
          yield* wait_for_completion(poked);
          yield* user_access(proc.mm, addr, readBack, false);
          store = yield* user_access(proc.mm, addr, new Uint8Array([1]), true);
        });
        spawnOutsider('debugger', function* () {
          yield* wait_for_completion(ready);
          plainWrite = yield* access_remote_vm(proc.mm, addr, DATA.slice(), DATA.length, FOLL_WRITE);
          poke = yield* ptrace_access_vm(proc.task, addr, DATA.slice(), DATA.length, FOLL_FORCE | FOLL_WRITE);
          peek = yield* ptrace_peekdata(proc.task, addr);
          yield* complete_all(poked);
        });
      }, { seed, maxEvents: 100_000 });
      expect(t.result.outcome).toBe('done');
      // Without FOLL_FORCE a write to a read-only mapping is refused.
      expect(plainWrite).toBe(0);
      expect(poke).toBe(DATA.length);
      expect(peek.result).toBe(8);
      expect(peek.data).toEqual(DATA);
      expect(readBack).toEqual(DATA);
      // Every PTE ever written for that address is read-only.
      const ptes = t.of('pgtable_set', undefined, (e) => e.addr === addr && t.isMap(e));
      expect(ptes.length).toBeGreaterThan(0);
      for (const e of ptes) expect(e.value & _PAGE_RW).toBe(0);
      // So the target's own store faults: access_error (no VM_WRITE) -> SIGSEGV.
      expect(store).toBe(false);
      expect(t.of('force_sig_fault', 'target/0').map((e) => [e.sig, e.addr])).toEqual([['SIGSEGV', addr]]);
    });
  }
});
