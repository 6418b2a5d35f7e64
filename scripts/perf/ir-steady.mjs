#!/usr/bin/env node
/**
 * Instructions a simulated event costs, counted by cachegrind, the same in every run:
 *
 *   node scripts/perf/ir-steady.mjs DIR [DIR...]
 *
 * Each DIR is a checkout with a built dist/ (often `.`). For each, the `scale` workload on the gup
 * path is simulated twice under `valgrind --tool=cachegrind`, each time after a 1M-event warm-up:
 * about 0.5M events, then about 1.5M. The difference of the two runs' instruction counts over the
 * difference of their events is what one event costs once the code is optimized; start-up, module
 * loading, the warm-up and most of the compiler's work cancel out. Prints a line per DIR.
 *
 * Why: a change of 1-3% does not show in timings on this 2-core machine, whose speed drifts by 5%
 * between two runs of the same build (docs/performance.md, "The system profiler's view"). An
 * instruction count does not drift, once node runs as one thread with fixed seeds: `--predictable`
 * and `--single-threaded` (no concurrent compiler or collector), `--hash-seed` (V8's hash tables
 * otherwise collide differently in every process) and `--random-seed`. Two runs of one checkout then
 * differ by 0.01% back to back (1.4% without the seeds), but the same code in two checkouts, or
 * counted an hour apart, by up to 0.6%: read less than 1% as no difference. Instructions are not
 * time either: a megamorphic load and a cache miss cost more than their count, so a change this
 * finds should still be timed (scripts/perf/sim-ab.mjs, or `mmtrace bench --rounds=N --against=DIR`).
 *
 * Needs valgrind. Each run takes about a minute; the DIRs' runs go two at a time.
 *
 * A measuring script, outside the project's layers: it imports the builds' dist files by path.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaleSimulation } from './scale-simulation.mjs';

const WARM_UP = 1_000_000;
const SMALL = 500_000;
const LARGE = 1_500_000;
const NODE_FLAGS = ['--predictable', '--single-threaded', '--hash-seed=1', '--random-seed=1'];

/** The child: warm up, then simulate about `n` events of `scale`; prints the events simulated. */
async function child(dir, n) {
  const simulate = await scaleSimulation(dir);
  simulate(WARM_UP);
  process.stdout.write(`${simulate(n)}\n`);
}

/** One run under cachegrind: its instructions and the events it simulated. */
function counted(dir, n) {
  const self = fileURLToPath(import.meta.url);
  const args = ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, ...NODE_FLAGS, self, '--child', dir, String(n)];
  return new Promise((done, fail) => {
    const p = spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(err);
      const events = Number(out.trim());
      if (code !== 0 || !refs || !Number.isInteger(events)) {
        fail(new Error(`${dir}: the run under cachegrind failed (exit ${code}): ${err.trim().split('\n').pop()}`));
        return;
      }
      done({ instructions: Number(refs[1].replaceAll(',', '')), events });
    });
  });
}

async function perEvent(dir) {
  const small = await counted(dir, SMALL);
  const large = await counted(dir, LARGE);
  return (large.instructions - small.instructions) / (large.events - small.events);
}

function refuse(message) {
  process.stderr.write(`ir-steady: ${message}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1], Number(argv[2]));
} else {
  if (argv.length === 0) refuse('usage: node scripts/perf/ir-steady.mjs DIR [DIR...]');
  for (const dir of argv) {
    if (!existsSync(resolve(dir, 'dist/src/workloads/runner.js'))) refuse(`${dir} has no built dist/ (npm run build there first)`);
  }
  if (spawnSync('valgrind', ['--version']).status !== 0) refuse('valgrind is not installed (apt-get install valgrind)');
  // two builds at a time: one a core
  for (let i = 0; i < argv.length; i += 2) {
    const batch = argv.slice(i, i + 2);
    const results = await Promise.all(batch.map((dir) => perEvent(dir).catch((e) => refuse(e.message))));
    batch.forEach((dir, j) => process.stdout.write(`${dir}: ${results[j].toFixed(1)} instructions an event\n`));
  }
}
