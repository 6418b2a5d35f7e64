/**
 * The writer worker: owns a second connection to the trace file and writes the batches the
 * recorder hands it. Protocol (see writer-backend.ts WorkerBackend):
 *   workerData: { ctl: Int32Array on a SharedArrayBuffer, slots: [{rows, blob}], port }
 *   messages in: {t:'open', file, maxPageCount} first (it answers {t:'ready'} or {t:'error',
 *                message, code} on the parent port), then {t:'begin', run} | {t:'batch', slot,
 *                meta} | {t:'close'}
 *   ctl[PROCESSED] += 1 after each batch (committed or, after an error, dropped), then notify;
 *   ctl[COMMITTED] += 1 after each committed batch, ctl[HASH] set first to the run's hash chain
 *   after it (an int32); ctl[FAILED] = 1 after an error, whose
 *   {message, code} goes to `port` first; ctl[CLOSED] = 1 once the connection is closed.
 *
 * Only ever loaded as a worker script: never import it.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { writerPragmas } from '../store/pragmas.js';
import { CTL_CLOSED, CTL_COMMITTED, CTL_FAILED, CTL_HASH, CTL_PROCESSED, SqliteBatchWriter, type BatchMeta } from './writer-core.js';

interface SlotBuffers { rows: Float64Array; blob: Uint8Array }
interface WorkerInit {
  ctl: Int32Array;
  slots: SlotBuffers[];
  port: MessagePort;
}
type Msg =
  | { t: 'open'; file: string; maxPageCount?: number }
  | { t: 'begin'; run: number }
  | { t: 'batch'; slot: number; meta: BatchMeta }
  | { t: 'close' };

/**
 * Give this thread a lower priority than the simulation's (Linux: a thread's nice value is its
 * own, set through its thread id). On two cores the simulation thread shares them with this one
 * and V8's helper threads, and lost 30-130 ms to the run queue per 6M events recorded; with this
 * thread at nice 19, 20-50 ms, and recording took 1-2% less wall time (docs/performance.md). The
 * writer is busy about half the time; when it falls behind, the simulation waits for a free batch
 * slot as before. Elsewhere (no /proc/thread-self) nothing changes.
 */
function yieldToTheSimulation(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    /* not Linux, or not allowed: the writer keeps the process's priority */
  }
}

/**
 * The thread starts before the recorder has checked the file, and opens it only when told to: a
 * file the recorder refuses (not a trace, of a newer schema) is never touched by this connection,
 * whose pragmas would write it (journal_mode=WAL is stored in the file's header).
 */
function main(): void {
  if (!parentPort) return;
  yieldToTheSimulation();
  const parent = parentPort;
  const init = workerData as WorkerInit;
  const { ctl, port } = init;
  let db: Database.Database | undefined;
  let writer: SqliteBatchWriter | undefined;
  const open = (file: string, maxPageCount: number | undefined): void => {
    try {
      db = new Database(file);
      writerPragmas(db, maxPageCount !== undefined ? { maxPageCount } : {});
      writer = new SqliteBatchWriter(db);
    } catch (e) {
      parent.postMessage({ t: 'error', message: (e as Error).message, code: (e as { code?: string }).code });
      return;
    }
    parent.postMessage({ t: 'ready' });
  };
  let failed = false;
  const fail = (e: unknown): void => {
    failed = true;
    port.postMessage({ message: (e as Error)?.message ?? String(e), code: (e as { code?: string })?.code });
    Atomics.store(ctl, CTL_FAILED, 1);
  };
  parent.on('message', (m: Msg) => {
    switch (m.t) {
      case 'open':
        open(m.file, m.maxPageCount);
        break;
      case 'begin':
        if (!failed) {
          try { writer!.beginRun(m.run); } catch (e) { fail(e); }
        }
        break;
      case 'batch': {
        if (!failed) {
          const s = init.slots[m.slot]!;
          try {
            writer!.write(s.rows, s.blob, m.meta);
            Atomics.store(ctl, CTL_HASH, writer!.committedHash | 0);
            Atomics.add(ctl, CTL_COMMITTED, 1);
          } catch (e) {
            fail(e);
          }
        }
        Atomics.add(ctl, CTL_PROCESSED, 1);
        Atomics.notify(ctl, CTL_PROCESSED);
        break;
      }
      case 'close':
        try { db?.close(); } catch { /* closing after a failure */ }
        Atomics.store(ctl, CTL_CLOSED, 1);
        Atomics.notify(ctl, CTL_CLOSED);
        parent.close();
        port.close();
        break;
    }
  });
}

main();
