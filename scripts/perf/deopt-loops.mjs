#!/usr/bin/env node
/**
 * Functions that V8 deoptimizes again and again while the simulation runs:
 *
 *   node scripts/perf/deopt-loops.mjs [DIR] [--events=N] [--min=K]
 *
 * DIR is a checkout with a built dist/ (default `.`). Every workload of the library is simulated,
 * on both access paths with seed after seed, until it has made about N events (default 1M), in a
 * child process under `node --trace-deopt`. A function whose optimized code was thrown away K times
 * (default 6) or more at one place, for one reason, is in a loop: V8 optimizes it again on the same
 * assumption, and the same value breaks it again. Prints a line per loop and exits 1 if there is
 * one, 0 if there is none, 2 on bad input.
 *
 * Why: such a loop costs little on the main thread while the compiler runs on another core, but
 * the recording's writer needs that core, and instruction counts (ir-steady.mjs, which runs the
 * compiler on the main thread) then read 25% high. One was found when `emit` became a fast object
 * and its emitters were inlined: an event's argument read back from a field V8 keeps as a double
 * (docs/performance.md, "Emitters as constants").
 *
 * A measuring script, outside the project's layers: it imports the build's dist files by path.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PATHS = ['gup', 'fast'];

/** The child: simulate `workload` until about `events` events, under --trace-deopt (its stdout). */
async function child(dir, workloadName, events) {
  const src = (file) => import(pathToFileURL(resolve(dir, 'dist/src', file)).href);
  const { findWorkload, resolveParams } = await src('workloads/index.js');
  const { runWorkload } = await src('workloads/runner.js');
  const { RandomStrategy } = await src('sim/strategy.js');
  const { NULL_SINK } = await src('trace/sink.js');
  const workload = findWorkload(workloadName);
  const params = resolveParams(workload, {});
  let made = 0;
  for (let seed = 1; made < events; seed++) {
    for (const path of PATHS) {
      const run = { workload, params, path, variant: [], seed, strategy: new RandomStrategy(seed), sink: NULL_SINK, requestLog: false };
      made += runWorkload(run).events;
    }
  }
}

/** `bailout (kind: K, reason: R): begin. deoptimizing 0x.. <JSFunction NAME (sfi = ..)>, .., bytecode offset N,` */
const BAILOUT = /bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing \S+ <JSFunction ([^ >]*)[^>]*>.*?bytecode offset (\d+)/;

/** The places one workload's run deoptimized `min` times or more: [what, count]. */
function loopsOf(dir, workloadName, events, min) {
  const self = fileURLToPath(import.meta.url);
  const args = ['--trace-deopt', self, '--child', dir, workloadName, String(events)];
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = new Map();
    let rest = '';
    let err = '';
    p.stdout.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const m = BAILOUT.exec(line);
        if (!m) continue;
        const what = `${m[3] || '(anonymous)'} (${m[2]}, ${m[1]}) at bytecode offset ${m[4]}`;
        counts.set(what, (counts.get(what) ?? 0) + 1);
      }
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      if (code !== 0) fail(new Error(`${workloadName}: the run failed (exit ${code}): ${err.trim().split('\n').pop()}`));
      else done([...counts].filter(([, n]) => n >= min).sort((a, b) => b[1] - a[1]));
    });
  });
}

function refuse(message) {
  process.stderr.write(`deopt-loops: ${message}\n`);
  process.exit(2);
}

/** `--name=N` as a positive integer, or the default. */
function intOption(options, name, fallback) {
  const given = options.find((o) => o.startsWith(`--${name}=`));
  if (given === undefined) return fallback;
  const n = Number(given.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1) refuse(`--${name} takes a positive integer, not ${given.slice(name.length + 3)}`);
  return n;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1], argv[2], Number(argv[3]));
} else {
  const options = argv.filter((a) => a.startsWith('--'));
  const unknown = options.find((o) => !/^--(events|min)=/.test(o));
  if (unknown !== undefined) refuse(`unknown option ${unknown} (usage: node scripts/perf/deopt-loops.mjs [DIR] [--events=N] [--min=K])`);
  const dirs = argv.filter((a) => !a.startsWith('--'));
  if (dirs.length > 1) refuse('one build at a time (usage: node scripts/perf/deopt-loops.mjs [DIR] [--events=N] [--min=K])');
  const dir = dirs[0] ?? '.';
  const events = intOption(options, 'events', 1_000_000);
  const min = intOption(options, 'min', 6);
  if (!existsSync(resolve(dir, 'dist/src/workloads/runner.js'))) refuse(`${dir} has no built dist/ (npm run build there first)`);
  const { WORKLOADS } = await import(pathToFileURL(resolve(dir, 'dist/src/workloads/index.js')).href);
  const names = WORKLOADS.map((w) => w.name);
  let loops = 0;
  // two workloads at a time: one a core
  for (let i = 0; i < names.length; i += 2) {
    const batch = names.slice(i, i + 2);
    const results = await Promise.all(batch.map((n) => loopsOf(dir, n, events, min).catch((e) => refuse(e.message))));
    batch.forEach((n, j) => {
      for (const [what, count] of results[j]) {
        process.stdout.write(`${n}: ${what}: ${count} times\n`);
        loops++;
      }
    });
  }
  process.stderr.write(loops === 0 ? `no function deoptimized ${min} times or more in ${names.length} workloads\n` : '');
  process.exit(loops === 0 ? 0 : 1);
}
