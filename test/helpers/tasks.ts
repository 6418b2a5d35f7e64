/** Task helpers for ad-hoc test workloads: lib.ts's, under the names the tests use. */
export { outsider as spawnOutsider, poll as waitUntil, thread as spawnThread } from '../../src/workloads/lib.js';

/** The argv area as /proc/PID/cmdline returns it: each string NUL-terminated. */
export function cmdlineBytes(argv: string[]): Uint8Array {
  return new TextEncoder().encode(argv.map((s) => s + '\0').join(''));
}
