/**
 * A run's scheduler decisions as replay reads them: the tid of every step (the idle task's is
 * IDLE_TID), in order. A cursor rather than an array: a 10M-event run makes 10M decisions, and
 * building them into one array first costs more than the reading (on a machine where a fresh page
 * costs ~14 us to fault in, the 42 MB array alone took ~150 ms). The chunked store hands them over a
 * chunk at a time, as the replay consumes them.
 */
export interface RecordedDecisions {
  /** The next decision's tid; undefined after the last one. */
  next(): number | undefined;
}

/** Decisions held in an array. */
export function decisionsOfArray(tids: ArrayLike<number>): RecordedDecisions {
  let i = 0;
  return { next: () => (i < tids.length ? tids[i++] : undefined) };
}

/** One chunk's tids as the store decodes them (the buffer is reused for the next chunk). */
export interface ChunkTids {
  count: number;
  tid: Float64Array;
}

/**
 * Decisions read from the tids of a run's events, chunk by chunk: every event a task (or the idle
 * task) ran has its tid; events of no task (tid 0: a timer's wake-up, the event limit, a deadlock report) are not
 * decisions.
 */
export class DecisionsOfChunks implements RecordedDecisions {
  private chunk: ChunkTids | undefined;
  private i = 0;

  constructor(private readonly chunks: Iterator<ChunkTids>) {}

  next(): number | undefined {
    for (;;) {
      const chunk = this.chunk;
      if (chunk !== undefined && this.i < chunk.count) {
        const tid = chunk.tid[this.i++]!;
        if (tid !== 0) return tid;
        continue;
      }
      if (!this.nextChunk()) return undefined;
    }
  }

  private nextChunk(): boolean {
    const n = this.chunks.next();
    if (n.done) return false;
    this.chunk = n.value;
    this.i = 0;
    return true;
  }
}
