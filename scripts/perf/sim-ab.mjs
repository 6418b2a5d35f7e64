#!/usr/bin/env node
/**
 * Two builds' simulations compared in one process, alternating:
 *
 *   node scripts/perf/sim-ab.mjs DIR_A DIR_B [PAIRS] [EVENTS]
 *
 * DIR_A and DIR_B are checkouts with a built dist/ (DIR_B is often `.`). Both builds' modules are
 * loaded into this process (two module graphs, so two kernels and two schedulers), each is warmed
 * up, then PAIRS pairs (default 6) of EVENTS-event simulations (default 1,000,000) of the `scale`
 * workload on the gup path run A then B, B then A, and so on. Prints each simulation's nanoseconds
 * an event and, last, the medians and the median of the pairs' ratios B/A.
 *
 * Why: this 2-core machine's speed drifts by 10-40% from minute to minute, and two benches, even
 * alternating in processes of their own, meet different moments of it. Two simulations a second
 * apart in one process meet the same one. (The simulation only: for recording, reading and the
 * rest, `mmtrace bench --against=DIR --rounds=N`.)
 *
 * The build loaded second tends to come out ahead. Two copies of one build against each other gave
 * 1.025, 1.041, 0.997, 1.008, 1.069, 1.013 and 1.013 (12 pairs of 2M events each), a median of
 * 1.013. So run both orders and take the geometric mean of the two ratios, and do not read a
 * difference under about 3% from this alone. `node scripts/perf/ir-steady.mjs` counts instructions,
 * which resolves less than 1%.
 *
 * A measuring script, outside the project's layers: it imports the builds' dist files by path.
 */
import { scaleSimulation } from './scale-simulation.mjs';

const [dirA, dirB, pairsArg, eventsArg] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined) {
  process.stderr.write('usage: node scripts/perf/sim-ab.mjs DIR_A DIR_B [PAIRS] [EVENTS]\n');
  process.exit(2);
}
const pairs = Number(pairsArg ?? 6);
const events = Number(eventsArg ?? 1_000_000);
if (!(Number.isInteger(pairs) && pairs > 0 && Number.isInteger(events) && events > 0)) {
  process.stderr.write('sim-ab: PAIRS and EVENTS are positive integers\n');
  process.exit(2);
}

/** One build's simulation of `scale` for about `n` events, as a function returning ns an event. */
async function build(dir) {
  const simulate = await scaleSimulation(dir);
  return (n) => {
    const t0 = performance.now();
    const events = simulate(n);
    return ((performance.now() - t0) * 1e6) / events;
  };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const a = await build(dirA);
const b = await build(dirB);
// warm-up: each build's hot functions optimized before anything is timed
a(events / 2);
b(events / 2);

const nsA = [];
const nsB = [];
for (let i = 0; i < pairs; i++) {
  if (i % 2 === 0) {
    nsA.push(a(events));
    nsB.push(b(events));
  } else {
    nsB.push(b(events));
    nsA.push(a(events));
  }
  process.stdout.write(`pair ${i + 1}: A ${nsA[i].toFixed(1)} ns/event, B ${nsB[i].toFixed(1)} ns/event\n`);
}
const ratios = nsA.map((x, i) => x / nsB[i]);
process.stdout.write(
  `median: A ${median(nsA).toFixed(1)} ns/event, B ${median(nsB).toFixed(1)} ns/event; ` +
    `B's speed over A's, median of the pairs: ${median(ratios).toFixed(3)}\n`,
);
