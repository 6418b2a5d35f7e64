/**
 * Reading trace files: runs and their metadata, the events of a run (row by row or in chunks),
 * names, tasks, batches, the scheduler decisions and snapshots. The queries live in the store
 * (TraceFile); this is what they mean: a run's effective status, and which runs this build can read.
 *
 * A run whose status is 'recording' and whose writer process is gone is reported 'incomplete': its
 * committed batches are its events, the chain value of its last batch its final hash.
 *
 * A file whose runs were all recorded with this build's event schema or an older one is read as it
 * is (the vocabulary only ever appends kinds); a run recorded with a newer one is refused at open.
 */
import { errors } from '../errors.js';
import { FORMAT_CHUNKS } from '../store/chunk.js';
import type { KindLayout } from '../store/layout.js';
import { blockHoldsRaw, makeBlock, rowOfBlock, slotAt, TraceFile, type Direction, type EventBlock, type EventFilter, type EventRow, type QueryResult, type RunRow } from '../store/read.js';
import { processAlive } from '../store/runs.js';
import type { StoredStatus } from '../store/schema.js';
import { HASH_SEED, hashHex } from './hash.js';
import type { RequestLog } from './request-log.js';
import { logFromSegments } from './request-segment.js';
import { DecisionsOfChunks, decisionsOfArray, type RecordedDecisions } from './decisions.js';
import { decode, SCHEMA_VERSION } from './vocab/index.js';

export type { Direction, EventBlock, EventFilter, EventRow, KindLayout, QueryResult };
export { blockHoldsRaw, makeBlock, rowOfBlock, slotAt };
/** A kind as the file declares it. */
export type KindInfo = KindLayout;

/**
 * How whole a run is (README, "How whole a run is"):
 *   complete    the workload ran to its end and every event is in the file
 *   limited     --max-events stopped it: every event up to the limit is in the file, and replays
 *               and verifies, but the workload did not finish
 *   incomplete  the recording process died: the committed events are kept, the rest never came
 *   failed      the recording stopped on an error (a full disk): the committed events are kept
 *   recording   another process is recording it now
 */
export type RunStatus = StoredStatus | 'incomplete' | 'limited';

export interface RunInfo {
  id: number;
  name: string;
  workload: string;
  path: string;
  variant: string[];
  seed: number;
  strategy: string;
  /** 'incomplete' when the writer died while recording */
  status: RunStatus;
  /** committed events */
  events: number;
  /** 8 hex digits: the chain value after the last (committed) event */
  finalHash: string;
  params: Record<string, unknown>;
  config: Record<string, unknown>;
  codeVersion: string;
  /** event-vocabulary version the run was recorded with */
  schemaVersion: number;
  error: string | null;
  /** The --max-events that stopped a limited run, else null. */
  limit: number | null;
  /** The workload and path modules the run loaded: absolute path -> SHA-256 of the source ({} for built-ins). */
  modules: Record<string, string>;
}

export interface TaskInfo {
  tid: number;
  name: string;
  daemon: boolean;
}

export interface BatchInfo {
  lastSeq: number;
  events: number;
  /** chain value (uint32) after the batch's last event */
  hash: number;
}

export interface RequestInfo {
  firstSeq: number;
  /** null when the request never ended */
  lastSeq: number | null;
}

export interface RunStatusInfo {
  status: RunStatus;
  limit: number | null;
  events: number;
  finalHash: string;
}

/** `file.db#run` → { file, run }; `file.db` → { file }. The last `#` separates. */
export function parseRunRef(ref: string): { file: string; run?: string } {
  const i = ref.lastIndexOf('#');
  if (i < 0) {
    if (!ref) throw errors.badRef(ref, 'empty file name');
    return { file: ref };
  }
  const file = ref.slice(0, i);
  const run = ref.slice(i + 1);
  if (!file) throw errors.badRef(ref, 'no file before #');
  if (!run) throw errors.badRef(ref, 'no run after #');
  return { file, run };
}


function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export class Trace {
  readonly file: string;
  private readonly store: TraceFile;

  constructor(store: TraceFile) {
    this.file = store.file;
    this.store = store;
  }

  close(): void {
    this.store.close();
  }

  /** One read-only SQL statement over the file (tables and views: README "The trace file"). */
  query(sql: string): QueryResult {
    return this.store.query(sql);
  }

  /** All runs, in id order, with their effective status. */
  listRuns(): RunInfo[] {
    return this.store.runs().map((r) => this.runInfo(r));
  }

  /** A run by id. */
  run(id: number): RunInfo {
    const r = this.store.run(id);
    if (!r) throw errors.unknownRun(this.file, String(id), this.runNames());
    return this.runInfo(r);
  }

  /**
   * The run a `#RUN` selector names: a run name, else a numeric id. Without a selector the file
   * must hold exactly one run.
   */
  resolveRun(selector?: string): RunInfo {
    const runs = this.listRuns();
    const names = runs.map((r) => r.name);
    if (selector === undefined || selector === '') {
      if (runs.length === 1) return runs[0]!;
      if (runs.length === 0) throw errors.unknownRun(this.file, '(any)', names);
      throw errors.ambiguousRun(this.file, names);
    }
    const byName = runs.find((r) => r.name === selector);
    if (byName) return byName;
    if (/^\d+$/.test(selector)) {
      const byId = runs.find((r) => r.id === Number(selector));
      if (byId) return byId;
    }
    throw errors.unknownRun(this.file, selector, names);
  }

  /** Status, committed events and hash of a run ('incomplete' when its writer died). */
  runStatus(run: number): RunStatusInfo {
    const r = this.store.run(run);
    if (!r) throw errors.unknownRun(this.file, String(run), this.runNames());
    return this.statusOf(r);
  }

  /** Committed events of a run. */
  eventCount(run: number): number {
    return this.runStatus(run).events;
  }

  /** Interned names of a run, indexed by id (index 0 is ''). */
  names(run: number): string[] {
    const out: string[] = [''];
    for (const r of this.store.names(run)) out[r.id] = r.text;
    for (let i = 0; i < out.length; i++) out[i] ??= '';
    return out;
  }

  tasks(run: number): TaskInfo[] {
    return this.store.tasks(run).map((r) => ({ tid: r.tid, name: r.name, daemon: r.daemon !== 0 }));
  }

  /** The events of a run with fromSeq <= seq <= toSeq, in order, as raw rows (one array each). */
  *events(run: number, fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): Generator<EventRow, void, undefined> {
    for (const chunk of this.eventChunks(run, fromSeq, toSeq)) yield* chunk;
  }

  /** The same events as arrays of rows, a store chunk at a time. */
  *eventChunks(run: number, fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): Generator<EventRow[], void, undefined> {
    for (const block of this.eventBlocks(run, fromSeq, toSeq)) {
      const rows: EventRow[] = new Array(block.count);
      for (let i = 0; i < block.count; i++) rows[i] = rowOfBlock(block, i);
      yield rows;
    }
  }

  /**
   * The same events as columnar blocks (typed arrays, event i of a block has seq firstSeq + i), as
   * the store decodes them: the fastest way through a run, and memory stays flat at any length.
   */
  eventBlocks(run: number, fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): Iterable<EventBlock> {
    return this.store.eventBlocks(run, fromSeq, toSeq);
  }

  batches(run: number): BatchInfo[] {
    return this.store.batches(run).map((r) => ({ lastSeq: r.last_seq, events: r.events, hash: r.hash }));
  }

  /**
   * The scheduler decisions of a run: the tids of its events with tid != 0, in order, read as the
   * replay takes them. A run stored in chunks keeps them once, as its events' tids; a run of the row
   * format in its batch rows, run-length coded.
   */
  decisions(run: number): RecordedDecisions {
    if (this.store.formatOf(run) === FORMAT_CHUNKS) return new DecisionsOfChunks(this.store.chunkTids(run));
    return decisionsOfArray(this.decisionsOfRows(run));
  }

  private decisionsOfRows(run: number): Uint32Array {
    const blobs = this.store.decisionBlobs(run);
    let total = 0;
    for (const b of blobs) {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 4; i + 4 <= b.byteLength; i += 8) total += v.getUint32(i, true);
    }
    const out = new Uint32Array(total);
    let k = 0;
    for (const b of blobs) {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 8 <= b.byteLength; i += 8) {
        const tid = v.getUint32(i, true);
        const n = v.getUint32(i + 4, true);
        out.fill(tid, k, k + n);
        k += n;
      }
    }
    return out;
  }

  /** The latest snapshot taken at or before event `seq` (snapshots of uncommitted events never exist). */
  snapshotAtOrBefore(run: number, seq: number): { seq: number; data: Buffer } | undefined {
    return this.store.snapshotAtOrBefore(run, seq);
  }

  snapshotCount(run: number): number {
    return this.store.snapshotCount(run);
  }

  /** Bytes of snapshot data stored for a run. */
  snapshotBytes(run: number): number {
    return this.store.snapshotBytes(run);
  }

  /** How many requests a run has (its request_begin events), without reading them. */
  requestCount(run: number): number {
    return this.store.requestCount(run);
  }

  /** request_begin/request_end pairs of a run, by first seq. */
  requests(run: number): RequestInfo[] {
    return this.store.requests(run).map((r) => ({ firstSeq: r.first_seq, lastSeq: r.last_seq }));
  }

  /**
   * The request log as it stood after the snapshot at event `seq`: every request begun by then, in
   * the order they began, with the result of those that had ended; rebuilt from the `request_log`
   * pieces up to that snapshot. Undefined when the snapshot has no piece of its own (a run recorded
   * before the pieces were written: its snapshots are of an older model version, never read).
   */
  requestLog(run: number, seq: number): RequestLog | undefined {
    const segments = this.store.requestSegments(run, seq);
    if (segments.at(-1)?.seq !== seq) return undefined;
    return logFromSegments(segments.map((s) => s.data));
  }

  /** The event vocabulary the file was written with. */
  kinds(): KindInfo[] {
    return [...this.store.layout()];
  }

  /**
   * The seq of the n-th event (from 1) of a run matching every condition (kinds and fields by
   * name, as the file declares them), or undefined.
   */
  findEvent(run: number, filter: EventFilter, n = 1): number | undefined {
    return this.store.nthEvent(run, filter, n);
  }

  /**
   * Up to `limit` events matching `filter` from `fromSeq` (inclusive) on, going `direction`, in the
   * order met (a backward search returns them newest first).
   */
  matchingEvents(run: number, filter: EventFilter, fromSeq: number, limit: number, direction: Direction): EventRow[] {
    return this.store.matchingRows(run, filter, fromSeq, limit, direction);
  }

  /** Refuse a file holding a run recorded with a newer event schema than this build reads. */
  checkSchema(): void {
    const newest = this.store.newestSchemaRun();
    if (newest && newest.schema_version > SCHEMA_VERSION) {
      throw errors.runSchemaNewer(this.file, newest.name, newest.schema_version, SCHEMA_VERSION);
    }
  }

  private runNames(): string[] {
    return this.store.runs().map((r) => r.name);
  }

  private runInfo(r: RunRow): RunInfo {
    const st = this.statusOf(r);
    return {
      id: r.id,
      name: r.name,
      workload: r.workload,
      path: r.path,
      variant: parseJson<string[]>(r.variant, []),
      seed: r.seed,
      strategy: r.strategy,
      status: st.status,
      limit: st.limit,
      events: st.events,
      finalHash: st.finalHash,
      params: parseJson<Record<string, unknown>>(r.params, {}),
      config: parseJson<Record<string, unknown>>(r.config, {}),
      codeVersion: r.code_version,
      schemaVersion: r.schema_version,
      error: r.error,
      modules: parseJson<Record<string, string>>(r.modules, {}),
    };
  }

  private statusOf(r: Pick<RunRow, 'id' | 'status' | 'writer_pid' | 'events' | 'final_hash'>): RunStatusInfo {
    if (r.status === 'complete' && r.final_hash !== null) {
      const limit = this.limitOf(r.id, r.events);
      return { status: limit === null ? 'complete' : 'limited', limit, events: r.events, finalHash: r.final_hash };
    }
    if (r.status === 'failed' && r.final_hash !== null) return { status: 'failed', limit: null, events: r.events, finalHash: r.final_hash };
    const committed = this.store.committedTotals(r.id);
    const status: RunStatus = r.status === 'recording' ? (processAlive(r.writer_pid) ? 'recording' : 'incomplete') : r.status;
    return { status, limit: null, events: committed.events, finalHash: hashHex(committed.lastHash ?? HASH_SEED) };
  }

  /**
   * The --max-events that stopped a run, read from the run itself: the simulator ends a run cut at
   * its limit with an event_limit event carrying the limit. Files from before the limit was shown
   * need no migration for this.
   */
  private limitOf(run: number, events: number): number | null {
    if (events === 0) return null;
    const [last] = this.store.eventRows(run, events, events);
    if (!last) return null;
    const e = decode(last, []);
    return e.kind === 'event_limit' ? e.limit : null;
  }
}

/**
 * Open a trace file for reading. Throws ENOENT_TRACE, ENOTSQLITE, ENOTTRACE, ESCHEMA_NEWER, and
 * ERUN_SCHEMA_NEWER for a file with a run recorded by a newer vocabulary.
 */
export async function openTrace(file: string): Promise<Trace> {
  const trace = new Trace(await TraceFile.open(file, SCHEMA_VERSION));
  try {
    trace.checkSchema();
    return trace;
  } catch (e) {
    trace.close();
    throw e;
  }
}

/** Open `FILE#RUN` (or `FILE` holding one run) and resolve the run. */
export async function openRunRef(ref: string): Promise<{ trace: Trace; run: RunInfo }> {
  const { file, run } = parseRunRef(ref);
  const trace = await openTrace(file);
  try {
    return { trace, run: trace.resolveRun(run) };
  } catch (e) {
    trace.close();
    throw e;
  }
}
