/**
 * file-cmdline (kernel-spec §12.2, §8.2, §6.5, §8.3 item 2; CVE-2018-1120): a file mapped
 * MAP_FIXED|MAP_PRIVATE over the target's argv page, resident and mapped, read through
 * /proc/PID/cmdline (FOLL_ANON).
 *  - gup: check_vma_flags refuses the non-anonymous VMA (-EFAULT) for the setproctitle probe of
 *    arg_end-1 and for the argv read, before any page-table walk or fault; no ->access: 0 bytes.
 *  - fast (v1): no FOLL_ANON check: the file VMA is read-locked and the page present, so the read
 *    returns the FILE's bytes without mmap_lock (Usama's review: the CVE fix is undone).
 *  - fast+checkFollAnon: the fast path refuses the VMA, falls back, and GUP refuses it: as gup.
 *  - touchFirst=0: nothing mapped, so v1 falls back (`folio_walk_start: not found`) and GUP
 *    refuses: 0 bytes on every path, and nobody ever reads the file.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT } from '../src/linux/include/errno.js';
import { TARGET_ARGV } from '../src/workloads/cmdline-poll.js';
import { FILE_CMDLINE_FILE, argvPages, fileCmdline, fileCmdlineBytes } from '../src/workloads/file-cmdline.js';
import { runTrace, type RunOpts, type Trace, type Req } from './helpers/harness.js';
import { cmdlineBytes } from './helpers/tasks.js';

const READS = fileCmdline.params.reads!.default as number;


/** The requests one task made, in order, with their results and a predicate for their events. */
const requestsOf = (t: Trace, task: string): Req[] => t.requests(task);

function run(seed: number, opts: Pick<RunOpts, 'path' | 'variant' | 'params'>) {
  const t = runTrace(fileCmdline, { seed, ...opts });
  expect(t.result.outcome).toBe('done');
  const args = t.of('mm_args')[0]!;
  const arg_start = args.arg_start;
  const arg_end = args.arg_end;
  const reqs = requestsOf(t, 'monitor');
  expect(reqs.map((r) => r.op)).toEqual(Array(READS + 1).fill('cmdline'));
  // The control read, before the remap: the real argv (§8.2).
  expect(reqs[0]!.result).toBe(cmdlineBytes(TARGET_ARGV).length);
  expect(reqs[0]!.data).toEqual(cmdlineBytes(TARGET_ARGV));
  // Nothing went wrong anywhere.
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  expect(t.of('kernel_fault')).toHaveLength(0);
  const fileVma = t.of('vma_init', undefined, (e) => e.file === FILE_CMDLINE_FILE);
  expect(fileVma).toHaveLength(1);
  return { t, arg_start, arg_end, after: reqs.slice(1), fileVma: fileVma[0]!.vma };
}

/** GUP's refusal inside one cmdline read: -EFAULT for the probe at arg_end-1 and for arg_start, nothing touched. */
function expectRefusedByGup(t: Trace, r: Req, arg_start: number, arg_end: number): void {
  expect(r.result).toBe(0);
  expect(r.data).toHaveLength(0);
  const errors = t.of('gup_error', 'monitor', r.inside);
  expect(errors.map((e) => [e.addr, e.errno])).toEqual([[arg_end - 1, EFAULT], [arg_start, EFAULT]]);
  // check_vma_flags runs before follow_page_mask: no walk, fault, reference or copy under mmap_lock.
  for (const kind of ['fault', 'copy', 'folio_get'] as const) {
    expect(t.byTask('monitor').filter((e) => e.kind === kind && r.inside(e))).toHaveLength(0);
  }
  // Each access_remote_vm took and dropped mmap_lock (read) once.
  expect(t.of('mmap_lock_acquire_returned', 'monitor', (e) => r.inside(e) && !e.write && e.success)).toHaveLength(2);
}

describe('file-cmdline: a file mapped over argv, read via /proc/PID/cmdline (kernel-spec §12.2)', () => {
  for (const seed of [1, 2, 3]) {
    it(`§12.2/§6.5 gup: FOLL_ANON refuses the resident file page, cmdline returns 0 bytes (seed ${seed})`, () => {
      const { t, arg_start, arg_end, after } = run(seed, { path: 'gup' });
      // The page really is file-backed, page-cache resident and mapped by the target's own read.
      const pc = t.of('page_cache_add', 'target/0');
      expect(pc.map((e) => e.file)).toEqual([FILE_CMDLINE_FILE]);
      const { first } = argvPages(arg_start, arg_end);
      expect(t.of('fault', 'target/0', (e) => e.addr === first).map((e) => e.how)).toEqual(['do_read_fault']);
      expect(t.of('fast_path_fallback')).toHaveLength(0);
      for (const r of after) expectRefusedByGup(t, r, arg_start, arg_end);
    });

    it(`§12.2/§8.3 item 2 fast (v1): no FOLL_ANON check, cmdline returns the FILE's bytes without mmap_lock (seed ${seed})`, () => {
      const { t, arg_start, arg_end, after, fileVma } = run(seed, { path: 'fast' });
      const { first } = argvPages(arg_start, arg_end);
      const file = fileCmdlineBytes(arg_start, arg_end);
      const fileArgv = file.subarray(arg_start - first, arg_end - first);
      const pcFolio = t.of('page_cache_add', 'target/0')[0]!.folio;
      for (const r of after) {
        // The regression: the bytes of the file, not of the (anonymous) argv, and not 0.
        expect(r.result).toBe(arg_end - arg_start);
        expect(r.data).toEqual(fileArgv);
        expect(r.data).not.toEqual(cmdlineBytes(TARGET_ARGV));
        // All of it by the fast path: the file VMA read-locked, copies from the page-cache folio,
        // no fallback, no GUP, no mmap_lock.
        expect(t.of('fast_path_fallback', 'monitor', r.inside)).toHaveLength(0);
        expect(t.of('gup_error', 'monitor', r.inside)).toHaveLength(0);
        expect(t.of('mmap_lock_start_locking', 'monitor', r.inside)).toHaveLength(0);
        expect(t.of('vma_start_read', 'monitor', (e) => r.inside(e) && e.vma === fileVma && e.result === 'ok')).toHaveLength(2);
        const copies = t.of('copy', 'monitor', r.inside);
        expect(copies.map((e) => [e.addr, e.folio])).toEqual([[arg_end - 1, pcFolio], [arg_start, pcFolio]]);
      }
    });

    it(`§8.3 item 2 fast+checkFollAnon: the fast path refuses the file VMA, falls back, GUP refuses: 0 bytes as gup (seed ${seed})`, () => {
      const { t, arg_start, arg_end, after } = run(seed, { path: 'fast', variant: ['checkFollAnon'] });
      for (const r of after) {
        const fb = t.of('fast_path_fallback', 'monitor', r.inside);
        expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([
          [arg_end - 1, 0, 'VMA not for the fast path'],
          [arg_start, 0, 'VMA not for the fast path'],
        ]);
        expectRefusedByGup(t, r, arg_start, arg_end);
      }
    });

    for (const path of ['gup', 'fast'] as const) {
      it(`§12.2 touchFirst=0, ${path}: the file page is not mapped; ${path === 'fast' ? 'fast falls back (not found), ' : ''}GUP refuses it: 0 bytes (seed ${seed})`, () => {
        const { t, arg_start, arg_end, after } = run(seed, { path, params: { touchFirst: 0 } });
        // Nobody ever reads the file: FOLL_ANON rejects it before any fault (a FUSE page could block).
        expect(t.of('page_cache_add')).toHaveLength(0);
        for (const r of after) {
          const fb = t.of('fast_path_fallback', 'monitor', r.inside);
          if (path === 'fast') {
            expect(fb.map((e) => [e.addr, e.copied, e.reason])).toEqual([
              [arg_end - 1, 0, 'folio_walk_start: not found'],
              [arg_start, 0, 'folio_walk_start: not found'],
            ]);
          } else {
            expect(fb).toHaveLength(0);
          }
          expectRefusedByGup(t, r, arg_start, arg_end);
        }
      });
    }
  }
});
