/**
 * The projection's fold: one decoded event applied to the model. Each family's folds live in
 * folds/<family>.ts, one function per kind that changes state; this module joins them into one
 * table by kind name and stamps the event's place (seq, tick, task) on the model.
 */
import { kindByName, type KindName, type TraceEvent } from '../trace/vocab/index.js';
import { callFolds } from './folds/call.js';
import { checkFolds } from './folds/check.js';
import { copyFolds } from './folds/copy.js';
import { folioFolds } from './folds/folio.js';
import { lockFolds } from './folds/lock.js';
import { pagetableFolds } from './folds/pagetable.js';
import { requestFolds } from './folds/request.js';
import { schedFolds } from './folds/sched.js';
import { vmaFolds } from './folds/vma.js';
import type { Folds, FoldFn, Model, RunContext } from './model-types.js';

const FOLDS: Folds = {
  ...schedFolds, ...lockFolds, ...pagetableFolds, ...folioFolds, ...copyFolds, ...vmaFolds, ...callFolds,
  ...requestFolds, ...checkFolds,
};

/** The folds by kind code: the projection's per-event lookup is an array index, not a name lookup. */
const FOLDS_BY_CODE: (FoldFn<KindName> | undefined)[] = [];
for (const [name, apply] of Object.entries(FOLDS)) FOLDS_BY_CODE[kindByName(name)!.kind] = apply as FoldFn<KindName>;

/**
 * Apply one event, of kind `code` (the row's). A kind with no fold (a walk step, a copy to the
 * caller) changes only seq, tick and task.
 */
export function fold(m: Model, ctx: RunContext, e: TraceEvent, code: number): void {
  m.seq = e.seq;
  m.tick = e.tick;
  m.lastTid = e.tid;
  const apply = FOLDS_BY_CODE[code];
  apply?.(m, e as never, ctx);
}

/** Does an event of this kind change the model (has it a fold)? What "the event that set it" means. */
export function changesState(kind: string): boolean {
  return Object.hasOwn(FOLDS, kind);
}
