/**
 * A request is one user-visible operation (a read of /proc/PID/cmdline, a ptrace PEEK): its
 * begin and end events bracket everything the kernel did for it, and the end carries the bytes
 * returned. Requests are numbered per task, so two runs of one workload match them by identity.
 */
import { K } from '../../trace/events.js';
import { current, ev, type Name } from '../../sim/sim.js';
import type { Gen } from '../../sim/task.js';
import { bytesHash, hashHex } from '../../trace/hash.js';
import { kernel } from '../kernel.js';
import { current_task } from './sched.js';

/** A request as replay shows it. */
export interface RequestRecord {
  id: string;
  task: string;
  op: string;
  addr: number;
  len: number;
  result: number | null;
  dataHash: string | null;
}

/** Every request so far, in the order they began. */
export function requests(): RequestRecord[] {
  return kernel().subsystem('requests', () => [] as RequestRecord[]);
}

export interface RequestResult {
  /** Bytes returned, or -errno. */
  result: number;
  data: Uint8Array;
}

export function* request(
  op: Name, addr: number, len: number, flags: number, body: () => Gen<RequestResult>,
): Gen<RequestResult> {
  const ts = current_task();
  const req = ++ts.requests;
  const record: RequestRecord = { id: `${current().name}:${req}`, task: current().name, op: op.text, addr, len, result: null, dataHash: null };
  requests().push(record);
  ts.request = record.id;
  yield ev(K.request_begin, req, op.id, addr, len);
  const r = yield* body();
  const data = r.result > 0 ? r.data.slice(0, r.result) : new Uint8Array(0);
  const hash = bytesHash(data);
  record.result = r.result;
  record.dataHash = hashHex(hash);
  ts.request = null;
  yield ev(K.request_end, req, r.result, hash, flags, data);
  return { result: r.result, data };
}
