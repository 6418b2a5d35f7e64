/**
 * foll-anon (CVE-2018-1120): a request made with FOLL_ANON (/proc/PID/cmdline and environ) must
 * only read anonymous memory: check_vma_flags() refuses a VMA that is not anonymous with -EFAULT,
 * so a FUSE-backed mapping under the argument area cannot block the reader. Reported when such a
 * request returned bytes copied from a file-backed VMA of its target.
 */
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import { GupFlags } from '../trace/vocab/index.js';
import type { CheckContext } from './context.js';

export function follAnon(ctx: CheckContext): Reducer {
  /** Per task in a request: bytes copied from file-backed VMAs, the first such copy, and the file. */
  const fileCopies = new Map<number, { bytes: number; seq: number; file: string }>();
  /** Per task in a request: its file bytes when its __access_remote_vm call began (redoWhole drops the call's). */
  const atCall = new Map<number, number>();
  ctx.requests.onEnd((r, tid) => {
    const copied = fileCopies.get(tid);
    fileCopies.delete(tid);
    atCall.delete(tid);
    if (!copied || (r.flags & GupFlags.bits.FOLL_ANON) === 0 || (r.result ?? 0) <= 0) return;
    ctx.report({
      checker: 'foll-anon', severity: 'bug', request: r.id, seqs: [copied.seq, r.lastSeq ?? copied.seq],
      message: `${r.id} (FOLL_ANON) returned ${copied.bytes} bytes copied from the file-backed VMA of ${copied.file}: check_vma_flags() would refuse it (CVE-2018-1120)`,
      witnesses: [ctx.witness(copied.seq, tid, 'copy from a file-backed VMA')],
    });
  });
  return reducerOf({
    call_enter(e) {
      if (e.fn === '__access_remote_vm' && ctx.requests.inFlight(e.tid)) atCall.set(e.tid, fileCopies.get(e.tid)?.bytes ?? 0);
    },
    fast_path_discard(e) {
      const copied = fileCopies.get(e.tid);
      const before = atCall.get(e.tid) ?? 0;
      if (copied && before === 0) fileCopies.delete(e.tid);
      else if (copied) copied.bytes = before;
    },
    copy(e) {
      const mm = ctx.targets.of(e.tid);
      const vma = mm === undefined ? undefined : ctx.vmas.at(mm, e.addr);
      if (!vma || vma.file === null || !ctx.requests.inFlight(e.tid)) return;
      const copied = fileCopies.get(e.tid);
      if (copied) copied.bytes += e.len;
      else fileCopies.set(e.tid, { bytes: e.len, seq: e.seq, file: vma.file });
    },
  });
}
