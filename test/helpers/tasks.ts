/** Task helpers for ad-hoc test workloads: lib.ts's, under the names the tests use. */
import type { Gen } from '../../src/sim/task.js';
import { user_access } from '../../src/linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, sys_mmap } from '../../src/linux/mm/mmap.js';
import { type MmStruct, PAGE_SIZE } from '../../src/linux/mm/mm_types.js';
export { outsider as spawnOutsider, poll as waitUntil, thread as spawnThread } from '../../src/workloads/lib.js';

/** The argv area as /proc/PID/cmdline returns it: each string NUL-terminated. */
export function cmdlineBytes(argv: string[]): Uint8Array {
  return new TextEncoder().encode(argv.map((s) => s + '\0').join(''));
}

/** mmap one private anonymous page in MM and store a byte to it (a fault maps it, its PTE young). */
export function* storeToFreshAnonPage(mm: MmStruct): Gen<number> {
  const addr = yield* sys_mmap(mm, { addr: 0, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  if (!(yield* user_access(mm, addr, Uint8Array.of(1), true))) throw new Error('store faulted');
  return addr;
}
