/**
 * Re-execution: run the recorded workload again from its header and stored scheduler decisions,
 * optionally checking every event against the log, and read the state off the live kernel at the
 * stopping event.
 */
import { MmtraceError } from '../errors.js';
import { ReplayStrategy, ScheduleDiverged } from '../sim/strategy.js';
import type { RawRow as Row } from '../trace/vocab/index.js';
import { blockHoldsRaw, rowOfBlock, type BatchInfo, type EventBlock, type RunInfo, type Trace } from '../trace/reader.js';
import { HASH_SEED, chain, eventHash } from '../trace/hash.js';
import type { EventSink } from '../trace/sink.js';
import { codeVersion } from '../version.js';
import { loadRunModules, runOf } from '../modules/registry.js';
import { runGuarded } from '../modules/sandbox.js';
import { runWorkload } from '../workloads/runner.js';
import type { ParamValue } from '../workloads/workload.js';
import type { KernelConfig } from '../linux/kernel.js';
import { modelFromKernel } from './live.js';
import type { Model } from './model-types.js';


export interface Divergence {
  seq: number;
  /** The logged event (null: the log ended first). */
  recorded: Row | null;
  /** The event re-execution produced (null: it produced none there). */
  replayed: Row | null;
  /** Set when the scheduler could not follow the recorded decisions. */
  message?: string;
}

export interface ReexecResult {
  /** The state at the stopping event (null when re-execution diverged before it). */
  model: Model | null;
  divergence: Divergence | null;
  /** Events re-executed (and checked, with verify). */
  events: number;
  /** The code that recorded the run differs from this build. */
  codeChanged: boolean;
  recordedWith: string;
}

class Diverged extends Error {}

/**
 * Checks re-executed events against the log. Cheap by default: the running hash is compared with
 * the chain value the recorder stored at each batch boundary. Events after `exactFrom` are compared
 * field by field with the logged events (read lazily, in blocks) -- the tail after the last
 * boundary, or, on a second pass, the batch whose hash differed, to name the first differing event.
 */
class VerifySink implements EventSink {
  divergence: Divergence | null = null;
  /** The last event re-execution produced. */
  lastSeq = 0;
  /** First and last event of the batch whose hash differed (set by a failing first pass). */
  badBatch: { first: number; last: number } | null = null;
  private h = HASH_SEED;
  private b = 0;
  /** The logged events being compared: the current block and the index of the next event in it. */
  private block: EventBlock | undefined;
  private i = 0;
  private blocks: Iterator<EventBlock> | undefined;

  constructor(
    private readonly trace: Trace,
    private readonly run: number,
    private readonly last: number,
    private readonly boundaries: BatchInfo[],
    private readonly exactFrom: number,
    /** false: only count events (plain re-execution). */
    private readonly verify = true,
  ) {}

  /** The block holding the next logged event, its index advanced past it; null when the log ended. */
  private nextRecorded(): EventBlock | null {
    this.blocks ??= this.trace.eventBlocks(this.run, this.exactFrom + 1, this.last)[Symbol.iterator]();
    if (!this.block || this.i >= this.block.count) {
      const n = this.blocks.next();
      if (n.done) return null;
      this.block = n.value;
      this.i = 0;
    }
    this.i++;
    return this.block;
  }

  event(seq: number, tick: number, tid: number, kind: number, a: number, b: number, c: number, d: number, data: Uint8Array | undefined): void {
    this.lastSeq = seq;
    if (!this.verify) return;
    this.h = chain(this.h, eventHash(seq, tick, tid, kind, a, b, c, d, data));
    const boundary = this.boundaries[this.b];
    if (boundary !== undefined && boundary.lastSeq === seq) {
      this.b++;
      if ((boundary.hash >>> 0) !== this.h) {
        const first = this.b >= 2 ? this.boundaries[this.b - 2]!.lastSeq + 1 : 1;
        this.badBatch = { first, last: seq };
        throw new Diverged();
      }
    }
    if (seq <= this.exactFrom) return;
    const r = this.nextRecorded();
    const j = this.i - 1;
    if (r && blockHoldsRaw(r, j, seq, tick, tid, kind, a, b, c, d, data)) return;
    this.divergence = { seq, recorded: r ? rowOfBlock(r, j) : null, replayed: [seq, tick, tid, kind, a, b, c, d, data ?? null] };
    throw new Diverged();
  }

  name(): void {}
  task(): void {}
}

/**
 * Before reexecute(): load the workload and path modules the run names, checked against the
 * sources it recorded (missing or changed: one line naming the file). Nothing to do for built-ins.
 */
export async function prepareReexecution(run: RunInfo): Promise<void> {
  await loadRunModules(run);
}

export function reexecute(trace: Trace, run: RunInfo, until: number, opts: { verify?: boolean } = {}): ReexecResult {
  const { workload: choice, path } = runOf(run);
  const workload = choice?.workload;
  const fromModule = choice?.source != null || path.source !== null;
  if (!workload) {
    throw new MmtraceError('EUNKNOWN_WORKLOAD', `run ${run.name} was recorded from workload '${run.workload}', which this build does not have; use --engine=projection`);
  }
  const base = { codeChanged: run.codeVersion !== codeVersion(), recordedWith: run.codeVersion };

  const attempt = (verifier: VerifySink | undefined, stopAt: number): ReexecResult => {
    const sink = verifier ?? new VerifySink(trace, run.id, stopAt, [], 0, false);
    try {
      const result = runGuarded(fromModule, () => runWorkload({
        workload, params: run.params as Record<string, ParamValue>, path: path.name, pathHook: path.hook,
        variant: run.variant, seed: run.seed, strategy: new ReplayStrategy(trace.decisions(run.id)),
        config: run.config as Partial<KernelConfig>, sink, stopAfter: stopAt,
        // A limited run ends with the event_limit event its limit produced: the same limit again.
        maxEvents: run.limit ?? undefined,
      }));
      if (result.events < stopAt) {
        const message = `re-execution ended after ${result.events} events; the log goes on to ${stopAt}`;
        return { ...base, model: null, divergence: { seq: result.events + 1, recorded: null, replayed: null, message }, events: result.events };
      }
      const model = result.sim.inside(() => modelFromKernel(result.sim, result.kernel));
      return { ...base, model, divergence: null, events: result.events };
    } catch (e) {
      if (e instanceof Diverged && verifier) {
        const bad = verifier.badBatch;
        const divergence: Divergence = verifier.divergence
          ?? { seq: bad!.last, recorded: null, replayed: null, message: `the hash after event ${bad!.last} differs from the recorded one` };
        return { ...base, model: null, divergence, events: divergence.seq - 1 };
      }
      if (e instanceof ScheduleDiverged) {
        // The recorded schedule cannot be followed: the next event is where the runs part.
        const seq = sink.lastSeq + 1;
        const row = [...trace.events(run.id, seq, seq)][0];
        const task = trace.tasks(run.id).find((t) => t.tid === e.tid)?.name ?? String(e.tid);
        const message = `the recorded schedule runs ${task} (tid ${e.tid}) next, and it is not runnable here`;
        return { ...base, model: null, divergence: { seq, recorded: row ? [...row] as Row : null, replayed: null, message }, events: seq - 1 };
      }
      throw e;
    }
  };

  if (!opts.verify) return attempt(undefined, until);
  // First pass: hashes at batch boundaries; exact comparison only after the last boundary.
  const boundaries = trace.batches(run.id).filter((x) => x.lastSeq <= until);
  const tail = boundaries.length ? boundaries[boundaries.length - 1]!.lastSeq : 0;
  const firstPass = new VerifySink(trace, run.id, until, boundaries, tail);
  const result = attempt(firstPass, until);
  if (!result.divergence || firstPass.divergence) return result;
  // The first pass noticed a difference (a batch hash, the schedule, an early end) at some event
  // but not which event differs first: run again (deterministic), comparing the events of that
  // batch one by one.
  const noticedAt = firstPass.badBatch ? firstPass.badBatch.last : result.divergence.seq;
  const from = boundaries.filter((x) => x.lastSeq < noticedAt).pop()?.lastSeq ?? 0;
  const second = attempt(new VerifySink(trace, run.id, noticedAt, [], from), noticedAt);
  if (second.divergence) return second;
  // Every event matched, so the batch's stored hash is what differs (a damaged batch row).
  const message = `the stored hash of the batch ending at event ${noticedAt} does not match its events`;
  return { ...base, model: null, divergence: { seq: noticedAt, recorded: null, replayed: null, message }, events: from };
}
