/**
 * One build's simulation of the `scale` workload, for the measuring scripts beside this file: the
 * bench's parameters (about 2000 events an iteration), the gup path, seed 1, a sink that keeps
 * nothing. A measuring script, outside the project's layers: it imports the build's dist files by
 * path.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The `scale` parameters the bench uses for about `n` events. */
export function scaleParams(n) {
  const iterations = Math.max(10, Math.round(n / 2000));
  return { iterations: String(iterations), reads: String(iterations * 2) };
}

/** The build in `dir` (a checkout with a built dist/) as a function: simulate about `n` events, return how many. */
export async function scaleSimulation(dir) {
  const src = (file) => import(pathToFileURL(resolve(dir, 'dist/src', file)).href);
  const { findWorkload, resolveParams } = await src('workloads/index.js');
  const { runWorkload } = await src('workloads/runner.js');
  const { RandomStrategy } = await src('sim/strategy.js');
  const { NULL_SINK } = await src('trace/sink.js');
  const workload = findWorkload('scale');
  return (n) => runWorkload({
    workload, params: resolveParams(workload, scaleParams(n)), path: 'gup', variant: [], seed: 1,
    strategy: new RandomStrategy(1), sink: NULL_SINK, requestLog: false,
  }).events;
}
