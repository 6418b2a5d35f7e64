/**
 * Table types of a trace file, for kysely's typed queries. Mirrors migrations/ (the migrations are
 * the truth; keep this in step with the last one).
 */
import type { Generated } from 'kysely';

export type StoredStatus = 'recording' | 'complete' | 'failed';

export interface MetaTable {
  key: string;
  value: string;
}

export interface RunsTable {
  id: Generated<number>;
  name: string;
  workload: string;
  /** JSON object */
  params: string;
  path: string;
  /** JSON array of variant switch names */
  variant: string;
  seed: number;
  strategy: string;
  /** JSON object */
  config: string;
  code_version: string;
  /** The event-vocabulary version (SCHEMA_VERSION of src/trace/vocab) the run was recorded with. */
  schema_version: number;
  status: StoredStatus;
  events: number;
  /** 8 hex digits, set when the run finishes */
  final_hash: string | null;
  writer_pid: number | null;
  error: string | null;
  /** JSON object: absolute path -> SHA-256 of each workload or path module the run loaded ('{}': none) */
  modules: Generated<string>;
  /** How its events are stored: 1 rows of event_rows, 2 chunks (src/store/chunk.ts) */
  format: Generated<number>;
}

/** Events of runs recorded in the row format (runs.format 1), one row each. */
export interface EventRowsTable {
  run: number;
  seq: number;
  tick: number;
  tid: number;
  kind: number;
  a: number | null;
  b: number | null;
  c: number | null;
  d: number | null;
  data: Uint8Array | null;
}

/** One chunk of events of the compact format (src/store/chunk.ts). */
export interface ChunksTable {
  run: number;
  first_seq: number;
  count: number;
  /** events of the chunk that have a blob (in event_data) */
  blobs: number;
  tick_base: number;
  tick_w: number;
  tid_base: number;
  tid_w: number;
  off_w: number;
  ticks: Buffer;
  tids: Buffer;
  kinds: Buffer;
  offs: Buffer;
  recs: Buffer;
}

/** Per chunk and kind present: each slot's frame-of-reference base and byte width. */
export interface ChunkKindsTable {
  run: number;
  first_seq: number;
  kind: number;
  a_base: number; a_w: number;
  b_base: number; b_w: number;
  c_base: number; c_w: number;
  d_base: number; d_w: number;
}

/** The blobs of events stored in chunks, by seq. */
export interface EventDataTable {
  run: number;
  seq: number;
  data: Buffer;
}

export interface NamesTable {
  run: number;
  id: number;
  text: string;
}

export interface TasksTable {
  run: number;
  tid: number;
  name: string;
  /** 0 or 1 */
  daemon: number;
}

export interface BatchesTable {
  run: number;
  last_seq: number;
  events: number;
  /** the hash chain value (uint32) after the batch's last event */
  hash: number;
  /** (tid, count) pairs, uint32 little-endian */
  decisions: Uint8Array;
}

export interface KindsTable {
  kind: number;
  name: string;
  family: string;
  a: string | null;
  b: string | null;
  c: string | null;
  d: string | null;
  /** JSON array of the field names that hold interned name ids */
  names: string;
  blob: string;
  /** JSON array, slot order: each field's type (int, addr, hash, name, enum:TABLE, flags:TABLE ...) */
  types: string;
}

/** The names of the vocabulary's coded values: an enum's codes, or a flag set's bits. */
export interface CodesTable {
  /** the enum or flag set (rwsem_modes, pt_levels, page_flags ...) */
  tbl: string;
  code: number;
  name: string;
}

export interface RequestsTable {
  run: number;
  first_seq: number;
  last_seq: number | null;
}

export interface TraceDB {
  meta: MetaTable;
  runs: RunsTable;
  /** a view: every event of every run, either format, with the columns of event_rows */
  events: EventRowsTable;
  event_rows: EventRowsTable;
  chunks: ChunksTable;
  chunk_kinds: ChunkKindsTable;
  event_data: EventDataTable;
  names: NamesTable;
  tasks: TasksTable;
  batches: BatchesTable;
  kinds: KindsTable;
  requests: RequestsTable;
  snapshots: SnapshotsTable;
  request_log: RequestLogTable;
  codes: CodesTable;
}

/** The request log in pieces, one per snapshot (src/trace/request-segment.ts encodes `data`). */
export interface RequestLogTable {
  run: number;
  /** the snapshot's event */
  seq: number;
  data: Uint8Array;
}

export interface SnapshotsTable {
  run: number;
  /** the snapshot is the state right after this event */
  seq: number;
  data: Buffer;
}
