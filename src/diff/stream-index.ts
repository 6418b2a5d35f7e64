/**
 * Where the events of a task's stream are in its run, without holding the stream: what turns an
 * aligned row (rows.ts: an index into a task's stream of each run) into the run's events, and an
 * event of the run back into its row.
 *
 * The diff's pass has every task's whole stream (its seqs) and drops it; from it this keeps
 * checkpoints: the seq of every STRIDE-th event of the task, and of every event more than SPAN
 * events of the run after the checkpoint before it. Any other event is found by reading the task's
 * events from the checkpoint before it, which is at most STRIDE events of the task and SPAN events
 * of the run back (a task running rarely is not read across the whole run). A run of N events
 * keeps at most N/STRIDE + N/SPAN checkpoints per task.
 */
import type { EventRow, RunInfo, Trace } from '../trace/reader.js';
import type { AlignedRow, RunSide } from './rows.js';
import type { TokenStream } from './tokens.js';

/** Events of the task between checkpoints, at most. */
export const STRIDE = 256;
/** Events of the run between a checkpoint and any event found from it, at most. */
export const SPAN = 8192;

interface TaskCheckpoints {
  tid: number;
  events: number;
  /** Stream index and seq of each checkpoint, ascending; the first is the stream's first event. */
  index: Int32Array;
  seq: Int32Array;
}

function checkpointsOf(tid: number, seqs: Int32Array, stride: number, span: number): TaskCheckpoints {
  const index: number[] = [];
  const seq: number[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const last = index.length - 1;
    if (last < 0 || i - index[last]! >= stride || seqs[i]! - seq[last]! > span) {
      index.push(i);
      seq.push(seqs[i]!);
    }
  }
  return { tid, events: seqs.length, index: Int32Array.from(index), seq: Int32Array.from(seq) };
}

/** Position of the last element of an ascending array that is <= x (-1: none). */
function lastAtOrBefore(a: Int32Array, x: number): number {
  let [lo, hi] = [0, a.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** One run's task streams, by checkpoints: stream index to event, and event to stream index. */
export class StreamIndex {
  private readonly taskOfTid = new Map<number, string>();

  private constructor(readonly trace: Trace, readonly run: RunInfo, private readonly tasks: Map<string, TaskCheckpoints>, private readonly stride: number, private readonly span: number) {
    for (const [task, c] of tasks) this.taskOfTid.set(c.tid, task);
  }

  /**
   * Checkpoints of a run's streams as the diff's pass built them (a stream's task is its first
   * event's); `stride` and `span` as STRIDE and SPAN (tests make them small).
   */
  static of(trace: Trace, run: RunInfo, streams: ReadonlyMap<string, TokenStream>, stride = STRIDE, span = SPAN): StreamIndex {
    const tasks = new Map<string, TaskCheckpoints>();
    for (const [task, s] of streams) {
      if (s.seqs.length === 0) continue;
      const [first] = trace.matchingEvents(run.id, {}, s.seqs[0]!, 1, 'forward');
      tasks.set(task, checkpointsOf(first![2], s.seqs, stride, span));
    }
    return new StreamIndex(trace, run, tasks, stride, span);
  }

  /** Events of `task`'s stream in this run. */
  length(task: string): number {
    return this.tasks.get(task)?.events ?? 0;
  }

  /** Events [index, index + n) of `task`'s stream (fewer past its end). */
  events(task: string, index: number, n: number): EventRow[] {
    const t = this.tasks.get(task);
    const out: EventRow[] = [];
    if (!t) return out;
    for (let i = Math.max(0, index); i < Math.min(index + n, t.events);) {
      // from the checkpoint before event i, up to the next checkpoint: every event between lies
      // within SPAN of the first, and saying so keeps the store from fetching chunks beyond
      const c = lastAtOrBefore(t.index, i);
      const upTo = Math.min(index + n, c + 1 < t.index.length ? t.index[c + 1]! : t.events);
      const skip = i - t.index[c]!;
      const within: [number, number] = [t.seq[c]!, t.seq[c]! + this.span];
      const rows = this.trace.matchingEvents(this.run.id, { tids: [t.tid], seqRanges: [within] }, t.seq[c]!, skip + upTo - i, 'forward');
      out.push(...rows.slice(skip));
      i = upTo;
    }
    return out;
  }

  /** The task and stream index of the event `seq` of this run, or null when no stream holds it. */
  locate(seq: number): { task: string; index: number } | null {
    const [row] = this.trace.matchingEvents(this.run.id, {}, seq, 1, 'forward');
    const task = row && row[0] === seq ? this.taskOfTid.get(row[2]) : undefined;
    if (task === undefined) return null;
    const t = this.tasks.get(task)!;
    const c = lastAtOrBefore(t.seq, seq);
    if (c < 0) return null;
    const between = this.trace.matchingEvents(this.run.id, { tids: [t.tid], seqRanges: [[t.seq[c]!, seq]] }, t.seq[c]!, this.stride + 1, 'forward');
    return { task, index: t.index[c]! + between.length - 1 };
  }
}

/**
 * The events of one side of some aligned rows (null for a gap), read a stretch at a time: the
 * rows of a task's equal stretch are consecutive events of its stream, read in one go.
 */
export function eventsOfRows(rows: readonly AlignedRow[], side: RunSide, index: StreamIndex): (EventRow | null)[] {
  const out: (EventRow | null)[] = [];
  for (let k = 0; k < rows.length;) {
    const first = rows[k]![side];
    if (first === null) {
      out.push(null);
      k++;
      continue;
    }
    let n = 1;
    while (k + n < rows.length && rows[k + n]!.task === rows[k]!.task && rows[k + n]![side] === first + n) n++;
    const events = index.events(rows[k]!.task, first, n);
    for (let i = 0; i < n; i++) out.push(events[i] ?? null);
    k += n;
  }
  return out;
}
