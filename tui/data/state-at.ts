/**
 * The state at the cursor, from the projection engine: the document `replay` prints, at the
 * cursor's event and just before it, so the panel can mark what the event changed.
 *
 * One model is kept and folded forward as the cursor moves forward (a page down folds a page of
 * events); a move backward, or a jump far ahead, projects again from the nearest stored snapshot.
 */
import { toDoc } from '../../src/replay/doc.js';
import type { Model } from '../../src/replay/model-types.js';
import { advance, project, runContext } from '../../src/replay/projection.js';
import type { StateDoc } from '../../src/replay/state.js';
import { SNAPSHOT_EVERY } from '../../src/replay/snapshot.js';
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
  for (const r of doc.requests) out.set(`request:${r.id}`, JSON.stringify(r));
  return out;
}

/** The keys whose item differs between two documents (appeared, went, or changed). */
export function changedKeys(before: StateDoc | null, after: StateDoc): Set<string> {
  const a = before ? itemsByKey(before) : new Map<string, string>();
  const b = itemsByKey(after);
  const out = new Set<string>();
  for (const [k, v] of b) if (a.get(k) !== v) out.add(k);
  for (const k of a.keys()) if (!b.has(k)) out.add(k);
  return out;
}

export class StateAt {
  private model: Model | null = null;
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
    this.ctx = runContext(this.source.trace, this.source.run.id);
    this.decoder = new Decoder(this.ctx.names);
  }

  /** The state at event `seq` (1..count). */
  at(seq: number): StateAtCursor {
    if (this.last?.seq === seq) return this.last;
    this.moveTo(seq - 1);
    const before = seq > 1 ? toDoc(this.model!) : null;
    this.moveTo(seq);
    const doc = toDoc(this.model!);
    this.last = { seq, doc, before, changed: changedKeys(before, doc) };
    return this.last;
  }

  /** Bring the model to event `seq`: fold forward when that is cheaper than a projection. */
  private moveTo(seq: number): void {
    const m = this.model;
    const foldable = m !== null && m.seq <= seq && seq - m.seq <= SNAPSHOT_EVERY;
    if (foldable) {
      advance(this.source.trace, this.source.run, m, seq, this.ctx, this.decoder);
      return;
    }
    this.model = project(this.source.trace, this.source.run, seq).model;
  }
}
