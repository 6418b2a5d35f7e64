/**
 * The state at the cursor, from the projection engine: the document `replay` prints (less the
 * requests that ended, `panelDoc`), at the cursor's event and just before it, so the panel can mark
 * what the event changed. A step to the next or previous event reuses one of the two.
 *
 * One model is kept and folded forward as the cursor moves forward (a page down folds a page of
 * events). A move backward, or a jump far ahead, starts again from the nearest of the run's stored
 * snapshots (every SNAPSHOT_EVERY events) and the browser's own checkpoints: the model encoded at
 * every CHECKPOINT_EVERY-th event the cursor has passed, the last CHECKPOINTS of them kept. Folding
 * runs at about half a million events a second, so a stored snapshot alone can leave a step back
 * 60 ms of folding; a checkpoint leaves at most CHECKPOINT_EVERY events.
 */
import { toDoc } from '../../src/replay/doc.js';
import type { Model } from '../../src/replay/model-types.js';
import { advance, project, runContext } from '../../src/replay/projection.js';
import type { StateDoc } from '../../src/replay/state.js';
import { decodeModel, encodeModel, isRefusal, SNAPSHOT_EVERY } from '../../src/replay/snapshot.js';
import { Decoder } from '../../src/trace/vocab/index.js';
import type { RunSource } from './run-source.js';

export interface StateAtCursor {
  seq: number;
  doc: StateDoc;
  /** The state just before the cursor's event (null at the first event). */
  before: StateDoc | null;
  /** Keys (`task:3`, `vma:12`, `pte:40:7`, `folio:5`, `rwsem:2`, `spin:9`, `mm:1`, `rcu`) the event changed. */
  changed: Set<string>;
}

/** Every item of a document by its key, as comparable text. */
export function itemsByKey(doc: StateDoc): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of doc.tasks) out.set(`task:${t.tid}`, JSON.stringify(t));
  for (const m of doc.mms) out.set(`mm:${m.mm}`, JSON.stringify(m));
  for (const v of doc.vmas) out.set(`vma:${v.vma}`, JSON.stringify(v));
  for (const t of doc.tables) for (const [i, e] of t.entries) out.set(`pte:${t.table}:${i}`, String(e));
  for (const t of doc.tables) out.set(`table:${t.table}`, `${t.level} ${t.base} ${t.pendingFree}`);
  for (const f of doc.folios) out.set(`folio:${f.folio}`, JSON.stringify(f));
  for (const s of doc.locks.rwsems) out.set(`rwsem:${s.sem}`, JSON.stringify(s));
  for (const s of doc.locks.spinlocks) out.set(`spin:${s.lock}`, JSON.stringify(s));
  out.set('rcu', JSON.stringify(doc.rcu));
  return out;
}

/**
 * The requests one event changed: one it began, or one in flight before it (it ended). The
 * documents hold only the requests in flight (`panelDoc`), so one that ended is one that went.
 */
function changedRequests(before: StateDoc | null, after: StateDoc, out: Set<string>): void {
  const was = new Map((before?.requests ?? []).map((r) => [r.id, JSON.stringify(r)]));
  const is = new Map(after.requests.map((r) => [r.id, JSON.stringify(r)]));
  for (const [id, r] of is) if (was.get(id) !== r) out.add(`request:${id}`);
  for (const id of was.keys()) if (!is.has(id)) out.add(`request:${id}`);
}

/**
 * The state document of a model for the panel: `toDoc`'s, with only the requests in flight. An
 * ended request never changes again and no task points at it, and a long run holds tens of
 * thousands: listing them all made every cursor step cost ~30 ms of toDoc and its garbage on a
 * 10-million-event run.
 */
export function panelDoc(m: Model): StateDoc {
  return toDoc({ ...m, requests: m.requests.inFlight() });
}

/** The keys whose item differs between two documents (appeared, went, or changed). */
export function changedKeys(before: StateDoc | null, after: StateDoc): Set<string> {
  const a = before ? itemsByKey(before) : new Map<string, string>();
  const b = itemsByKey(after);
  const out = new Set<string>();
  for (const [k, v] of b) if (a.get(k) !== v) out.add(k);
  for (const k of a.keys()) if (!b.has(k)) out.add(k);
  changedRequests(before, after, out);
  return out;
}

/** Events between two checkpoints, and how many are kept (each is ~100 KB on a scale run). */
const CHECKPOINT_EVERY = 2048;
const CHECKPOINTS = 64;

export class StateAt {
  private model: Model | null = null;
  /** Encoded models by seq, oldest first (a Map keeps insertion order: the eviction order). */
  private readonly checkpoints = new Map<number, Uint8Array>();
  private last: StateAtCursor | null = null;
  private ctx;
  private decoder: Decoder;

  constructor(private readonly source: RunSource) {
    this.ctx = runContext(source.trace, source.run.id);
    this.decoder = new Decoder(this.ctx.names);
  }

  /** Forget the cached state: the run grew (names and tasks too), so read them again. */
  reset(): void {
    this.model = null;
    this.last = null;
    this.checkpoints.clear();
    this.ctx = runContext(this.source.trace, this.source.run.id);
    this.decoder = new Decoder(this.ctx.names);
  }

  /** The state at event `seq` (1..count). */
  at(seq: number): StateAtCursor {
    if (this.last?.seq === seq) return this.last;
    // a step forward or back has one of the two documents already
    const reuse = (s: number) => (this.last?.seq === s ? this.last.doc : this.last?.seq === s + 1 ? this.last.before : null);
    const before = seq > 1 ? reuse(seq - 1) ?? this.docAt(seq - 1) : null;
    const doc = reuse(seq) ?? this.docAt(seq);
    this.last = { seq, doc, before, changed: changedKeys(before, doc) };
    return this.last;
  }

  private docAt(seq: number): StateDoc {
    this.moveTo(seq);
    return panelDoc(this.model!);
  }

  /** Bring the model to event `seq`: fold forward when that is cheaper than starting again. */
  private moveTo(seq: number): void {
    const m = this.model;
    if (m === null || m.seq > seq || seq - m.seq > CHECKPOINT_EVERY) this.model = this.startNear(seq, m);
    this.foldTo(seq);
  }

  /**
   * A model at or before `seq` to fold from: the current one when it is the closest, else the
   * nearest checkpoint, else a projection to the checkpoint boundary before `seq` (kept as one).
   */
  private startNear(seq: number, current: Model | null): Model {
    const checkpoint = this.nearestCheckpoint(seq) ?? -1;
    const currentSeq = current !== null && current.seq <= seq ? current.seq : -1;
    // the run's periodic snapshots sit at multiples of SNAPSHOT_EVERY (or just after, at a step's
    // end); one of the run's last event, if any, is left to project() below
    const stored = seq - (seq % SNAPSHOT_EVERY);
    if (currentSeq >= checkpoint && currentSeq >= stored) return current!;
    if (checkpoint >= stored) {
      const decoded = decodeModel(this.checkpoints.get(checkpoint)!);
      if (!isRefusal(decoded)) return decoded;
    }
    const boundary = seq - (seq % CHECKPOINT_EVERY);
    const model = project(this.source.trace, this.source.run, boundary).model;
    this.keep(model);
    return model;
  }

  private nearestCheckpoint(seq: number): number | undefined {
    let best: number | undefined;
    for (const at of this.checkpoints.keys()) if (at <= seq && (best === undefined || at > best)) best = at;
    return best;
  }

  /** Fold to `seq`, keeping a checkpoint at the last boundary passed on the way. */
  private foldTo(seq: number): void {
    const m = this.model!;
    const boundary = seq - (seq % CHECKPOINT_EVERY);
    if (boundary > m.seq && !this.checkpoints.has(boundary)) {
      advance(this.source.trace, this.source.run, m, boundary, this.ctx, this.decoder);
      this.keep(m);
    }
    advance(this.source.trace, this.source.run, m, seq, this.ctx, this.decoder);
  }

  private keep(m: Model): void {
    if (this.checkpoints.has(m.seq)) return;
    this.checkpoints.set(m.seq, encodeModel(m));
    if (this.checkpoints.size > CHECKPOINTS) this.checkpoints.delete(this.checkpoints.keys().next().value!);
  }
}
