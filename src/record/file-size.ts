/**
 * How big a recording gets: the estimate `record` checks before it starts, and the byte limit
 * (--max-bytes) it keeps while it runs.
 */
import { errors } from '../errors.js';

/** Above this estimated file growth, `record` wants --yes (a typo in a count can fill a disk). */
export const FILE_SIZE_ASK_BYTES = 10e9;

/**
 * Bytes a recorded event takes in the file, events and snapshots together: `mmtrace bench`'s
 * `bytesPerEvent` (file size over events, snapshots included), rounded up. Measured, not derived:
 * update it when the storage format changes what bench reports. Measured on the scale workload in
 * the chunk format: 15.6 at 1M events, 15.9 at 10M, 16.1 at 100M.
 */
export const FILE_BYTES_PER_EVENT = 17;

export interface SizeLimits {
  maxEvents?: number;
  maxBytes?: number;
}

/**
 * Refuse a recording whose estimated file growth passes FILE_SIZE_ASK_BYTES, unless `yes` (or a
 * --max-events or --max-bytes keeps it under): a one-line usage error, before the file is touched.
 */
export function checkSize(workload: string, estimate: number | undefined, runs: number, limits: SizeLimits, yes: boolean): void {
  if (estimate === undefined || yes) return;
  const perRun = Math.min(estimate, limits.maxEvents ?? Number.POSITIVE_INFINITY);
  const bytes = Math.min(perRun * runs * FILE_BYTES_PER_EVENT, limits.maxBytes ?? Number.POSITIVE_INFINITY);
  if (bytes <= FILE_SIZE_ASK_BYTES) return;
  const gb = (bytes / 1e9).toFixed(bytes < 100e9 ? 1 : 0);
  throw errors.usage(`${workload} with these parameters records about ${Math.round(perRun).toLocaleString('en-US')} events per run, a file of about ${gb} GB; pass --yes to record it anyway, or lower the counts or set --max-events or --max-bytes`);
}

/**
 * The smallest --max-bytes: a new trace file takes about 100 KB before its first event (schema,
 * vocabulary), and FINISH_RESERVE_BYTES stay free; below this a run would have no room to speak of.
 */
export const MIN_MAX_BYTES = 1e6;

export function checkByteLimit(maxBytes: number | undefined): void {
  if (maxBytes !== undefined && maxBytes < MIN_MAX_BYTES) {
    throw errors.usage(`--max-bytes must be at least 1M (${MIN_MAX_BYTES} bytes): a trace file takes about 100 KB before its first event, got ${maxBytes}`);
  }
}

/** The events a run may be expected to record: the workload's estimate within the limits. */
export function expectedEvents(estimate: number | undefined, limits: SizeLimits): number | undefined {
  const bounds = [estimate, limits.maxEvents, limits.maxBytes === undefined ? undefined : limits.maxBytes / FILE_BYTES_PER_EVENT]
    .filter((x): x is number => x !== undefined);
  return bounds.length === 0 ? undefined : Math.floor(Math.min(...bounds));
}

/**
 * Bytes left unused under --max-bytes for what a run writes when it ends (its last batch's batch
 * row, the run's totals) and for pages SQLite allocates ahead.
 */
const FINISH_RESERVE_BYTES = 256 * 1024;

/** What the byte limit reads off the recording: its file's committed size and events. */
export interface CommittedSize {
  readonly committedFileBytes: number;
  readonly committedEvents: number;
}

/**
 * --max-bytes for one run: where to cut it so that the file stays within `maxBytes`. The first cut
 * assumes FILE_BYTES_PER_EVENT; each later one (`cutAfter`) measures the bytes per event this run
 * has committed so far and assumes the events not yet committed cost the same.
 */
export class ByteLimit {
  private readonly startBytes: number;

  constructor(private readonly maxBytes: number, private readonly file: CommittedSize) {
    this.startBytes = file.committedFileBytes;
  }

  /** The event count to cut the run at, judged before it starts. */
  firstCut(): number {
    return this.eventsFitting(this.maxBytes - this.startBytes, FILE_BYTES_PER_EVENT);
  }

  /** The event count to cut the run at, judged from what it has committed (0 events: firstCut). */
  cut(): number {
    const committed = this.file.committedEvents;
    if (committed === 0) return this.firstCut();
    const bytes = this.file.committedFileBytes;
    const perEvent = Math.max(1, (bytes - this.startBytes) / committed);
    return committed + this.eventsFitting(this.maxBytes - bytes, perEvent);
  }

  private eventsFitting(room: number, perEvent: number): number {
    return Math.max(0, Math.floor((room - FINISH_RESERVE_BYTES) / perEvent));
  }
}
