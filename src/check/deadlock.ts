/**
 * deadlock / starvation: every live task blocked (the model notices it and stops the run: a
 * `deadlock` event listing who waits on what), or a request that waits longer than a bound in one
 * go (CheckOptions.starvationTicks), e.g. a reader stuck behind a writer that never lets go. A task
 * with no request in flight waiting long is not starving: kernel threads idle that way.
 */
import { reducerOf, type Reducer } from '../reduce/reducer.js';
import type { CheckContext } from './context.js';

export function deadlock(ctx: CheckContext): Reducer {
  const starved = new Set<number>();
  ctx.waits.onWaitEnd((w) => {
    const request = ctx.requestOf(w.tid);
    if (request === null || w.ticks <= ctx.options.starvationTicks || starved.has(w.tid)) return;
    starved.add(w.tid);
    ctx.report({
      checker: 'deadlock', severity: 'bug', request, seqs: [],
      message: `${request} waited ${w.ticks} ticks on ${w.wait} (bound ${ctx.options.starvationTicks}): starvation`,
      witnesses: [],
    });
  });
  return reducerOf({
    deadlock(e) {
      const waits = (e.tasks ?? []).map((t) => `${ctx.task(t.tid)} on ${ctx.names.names[t.wait] ?? t.wait} (${t.on})`);
      ctx.report({
        checker: 'deadlock', severity: 'bug', request: null, seqs: [e.seq],
        message: `every live task is blocked (${e.blocked}): ${waits.join(', ')}`,
        witnesses: (e.tasks ?? []).map((t) => ctx.witness(e.seq, t.tid, `blocked on ${ctx.names.names[t.wait] ?? t.wait}`)),
      });
    },
  });
}
