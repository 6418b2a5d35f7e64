/**
 * Snapshots: a Model encoded with msgpackr, written every SNAPSHOT_EVERY events while recording so
 * that replay folds at most that many events, and at a run's last event (record.ts), so that the
 * end, the state a diff compares, is loaded rather than folded. Each snapshot starts with the
 * MODEL_VERSION it was written with; replay decodes only its own version and otherwise folds from
 * the first event, so a snapshot of another shape is never misread.
 *
 * A stored snapshot leaves the request log out: the log grows with the run (every request ever
 * begun), so the recorder writes it in pieces beside the snapshots (trace/request-segment.ts) and
 * the reader rebuilds it (Trace.requestLog): a snapshot's size depends on the state alone, not on
 * the run's length.
 * In-memory checkpoints (the browser's) keep the log in the encoding.
 */
import { Packr } from 'msgpackr';
import { PageBytes, type PageBytesWire } from '../trace/page-bytes.js';
import { RequestLog, type RequestLogWire } from '../trace/request-log.js';
import type { MFile, MFolio, MMm, MRwsem, MSpin, MSwapSlot, MTable, MTask, MVma, Model } from './model-types.js';

/**
 * The Model's shape on the wire. Bump it with any change to the Model's records or to how an
 * event folds into them: a snapshot from another version is then ignored, not decoded.
 */
export const MODEL_VERSION = 4;

/**
 * Events between snapshots written while recording: replay decodes the nearest snapshot and folds
 * at most this many events (measured: `mmtrace bench`, replayUntilMedianMs).
 */
export const SNAPSHOT_EVERY = 32768;

// On the wire every Map is the list of its values (each value carries its own key) and a table's
// entries are [index, value] pairs; msgpackr's records keep the repeated shapes compact.
const packr = new Packr();

type Wire = Omit<Model, 'tasks' | 'mms' | 'vmas' | 'tables' | 'folios' | 'swap' | 'rwsems' | 'spins' | 'files' | 'requests'> & {
  /** Absent in a stored snapshot: the reader supplies the log from the trace file. */
  requests?: RequestLogWire;
  tasks: MTask[];
  mms: MMm[];
  vmas: MVma[];
  tables: (Omit<MTable, 'entries'> & { entries: [number, number][] })[];
  folios: (Omit<MFolio, 'data'> & { data: PageBytesWire })[];
  swap: MSwapSlot[];
  rwsems: MRwsem[];
  spins: MSpin[];
  files: MFile[];
  /** Absent in snapshots written before versioning, whose shape is version 1. */
  modelVersion?: number;
};

/** Why a snapshot cannot be used, or null when it decodes as this build's Model. */
export type SnapshotRefusal = { reason: string };

/** The whole model, request log included (a checkpoint kept in memory). */
export function encodeModel(m: Model): Uint8Array {
  return packr.pack({ ...toWire(m), requests: m.requests.toWire() });
}

/** The model without its request log: a snapshot stored in the trace file, beside the log. */
export function encodeSnapshot(m: Model): Uint8Array {
  return packr.pack(toWire(m));
}

/**
 * An idle spinlock (no owner, no waiters) is left out: the fold makes it again, with the class its
 * next event names, and the document shows none. The kernel keeps the locks of freed page tables
 * (ptl, pmd_lock), so they would otherwise make every snapshot longer as the run goes on.
 */
function isBusy(s: MSpin): boolean {
  return s.owner !== null || s.waiters.length > 0;
}

function toWire(m: Model): Wire {
  const { requests: _, ...state } = m;
  return {
    ...state,
    tasks: [...m.tasks.values()], mms: [...m.mms.values()], vmas: [...m.vmas.values()],
    tables: [...m.tables.values()].map((t) => ({ ...t, entries: [...t.entries] })),
    folios: [...m.folios.values()].map((f) => ({ ...f, data: f.data.toWire() })), swap: [...m.swap.values()], rwsems: [...m.rwsems.values()], spins: [...m.spins.values()].filter(isBusy),
    files: [...m.files.values()], modelVersion: MODEL_VERSION,
  };
}

function keyed<T>(items: T[], key: (x: T) => number | string): Map<any, T> {
  return new Map(items.map((x) => [key(x), x]));
}

/** The request log after the snapshot at event `seq`, for a snapshot stored without it (undefined: none). */
export type RequestLogAt = (seq: number) => RequestLog | undefined;

/**
 * The Model in a snapshot, or why it cannot be used: written by another model version, or not a
 * snapshot this build can decode. The caller then folds from the first event instead. A stored
 * snapshot's request log comes from `requestLogAt`.
 */
export function decodeModel(bytes: Uint8Array, requestLogAt?: RequestLogAt): Model | SnapshotRefusal {
  let w: Wire;
  try {
    w = packr.unpack(bytes) as Wire;
  } catch {
    return { reason: 'the snapshot does not decode' };
  }
  const version = w?.modelVersion ?? 1;
  if (version !== MODEL_VERSION) return { reason: `the snapshot was written by model version ${version}, this build reads ${MODEL_VERSION}` };
  if (!Array.isArray(w.tasks) || !Array.isArray(w.folios) || !Array.isArray(w.swap) || !Array.isArray(w.files)) return { reason: 'the snapshot does not decode' };
  const requests = w.requests === undefined ? requestLogAt?.(w.seq) : RequestLog.fromWire(w.requests);
  if (requests === undefined) return { reason: 'the snapshot\'s request log is not in the trace file' };
  // Byte arrays come back as views of the snapshot buffer: give each its own copy.
  const folios: MFolio[] = w.folios.map((f) => ({ ...f, data: PageBytes.fromWire(f.data) }));
  for (const x of w.swap) x.data = new Uint8Array(x.data);
  for (const f of w.files) f.data = new Uint8Array(f.data);
  const { modelVersion: _, ...state } = w;
  return {
    ...state,
    tasks: keyed(w.tasks, (t) => t.tid), mms: keyed(w.mms, (x) => x.mm), vmas: keyed(w.vmas, (v) => v.vma),
    tables: keyed(w.tables.map((t) => ({ ...t, entries: new Map(t.entries) })), (t) => t.table),
    folios: keyed(folios, (f) => f.folio), swap: keyed(w.swap, (x) => x.offset), rwsems: keyed(w.rwsems, (s) => s.sem), spins: keyed(w.spins, (s) => s.lock),
    files: keyed(w.files, (f) => f.name),
    requests,
  };
}

export function isRefusal(x: Model | SnapshotRefusal): x is SnapshotRefusal {
  return 'reason' in x;
}
