/**
 * A request is one user-visible operation (a read of /proc/PID/cmdline, a ptrace PEEK): its
 * begin and end events bracket everything the kernel did for it, and the end carries the bytes
 * returned. Requests are numbered per task, so two runs of one workload match them by identity.
 */
import { emit } from '../../trace/vocab/index.js';
import { current, type Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { framed } from '../../sim/frame.js';
import { bytesHash } from '../../trace/hash.js';
import { RequestLog, requestId } from '../../trace/request-log.js';
import { kernel, type Kernel } from '../kernel.js';
import { current_task } from './sched.js';

const REQUEST_LOG = 'requests';

/**
 * Keep a log of every request in this kernel (what replay lists, read off a live kernel by
 * re-execution). A kernel keeps none unless asked: runWorkload() asks unless told not to, which a
 * recording does, since its trace file has the requests (request-pairs.ts) and the log grows with
 * every request of a run.
 */
export function keep_request_log(k: Kernel): void {
  k.subsystem(REQUEST_LOG, () => new RequestLog());
}

function kept_log(k: Kernel): RequestLog | undefined {
  return k.subsystems.get(REQUEST_LOG) as RequestLog | undefined;
}

/** Every request so far, in the order they began; the kernel must keep the log (keep_request_log). */
export function requests(k: Kernel = kernel()): RequestLog {
  const log = kept_log(k);
  if (log === undefined) throw new Error('this kernel keeps no request log (run it with requestLog: true)');
  return log;
}

export interface RequestResult {
  /** Bytes returned, or -errno. */
  result: number;
  data: Uint8Array;
}

/**
 * One request of a reader (a /proc/PID/cmdline read, a ptrace peek...): request_begin, the body,
 * request_end with the bytes it returned and their hash. A frame (sim/frame.ts): the reader's loop
 * above it is not resumed for each event of the body.
 */
export const request = framed(function* request(
  op: Name, addr: number, len: number, flags: number, body: () => Gen<RequestResult>,
): Gen<RequestResult> {
  const ts = current_task();
  const tid = current().tid;
  const req = ++ts.requests;
  const log = kept_log(kernel());
  log?.begin(tid, req, op.text, addr, len);
  ts.request = requestId(current().name, req);
  yield emit.request_begin({ req, op: op.id, addr, len });
  const r = yield* body();
  const data = r.result > 0 ? r.data.slice(0, r.result) : new Uint8Array(0);
  const hash = bytesHash(data);
  log?.end(tid, req, r.result, hash);
  ts.request = null;
  yield emit.request_end({ req, result: r.result, hash, flags, data });
  return { result: r.result, data };
});
