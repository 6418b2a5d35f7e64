/**
 * A diff's second pass in a worker thread (pass.ts) gives the report of the pass on the calling
 * thread, byte for byte. Runs the built code: the worker's entry is dist/src/diff/pass-worker.js.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { ROOT, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

const dist = (module: string) => import(pathToFileURL(join(ROOT, 'dist', 'src', module)).href);

test('the worker pass and the inline pass give the same report', async () => {
  const file = join(tempDir(), 'race.db');
  await recordHere('cross-vma-race', ['--path=gup,fast', `--out=${file}`]);
  const { diffTraces } = await dist('diff/diff.js');
  const { Interner } = await dist('diff/tokens.js');
  const { runPass } = await dist('diff/pass.js');
  const { startPass, startPassEarly } = await dist('diff/pass-start.js');
  const { openTrace } = await dist('trace/reader.js');
  const trace = await openTrace(file);
  try {
    const [a, b] = [trace.resolveRun('gup'), trace.resolveRun('fast')];
    // The worker really runs (a failed worker falls back to the inline pass silently).
    const pending = startPass(trace.file, b, 0);
    expect(pending).not.toBeNull();
    const interner = new Interner();
    runPass(trace, a, interner);
    expect(await pending.take(interner, b.id)).not.toBeNull();

    const inline = JSON.stringify(await diffTraces(trace, a, trace, b, true, { workerMinEvents: Infinity }));
    const viaWorker = JSON.stringify(await diffTraces(trace, a, trace, b, true, { workerMinEvents: 0 }));
    expect(viaWorker).toBe(inline);
    // Started early from FILE#RUN alone (as the command does), before anything is open.
    const early = startPassEarly(`${file}#fast`);
    const viaEarly = JSON.stringify(await diffTraces(trace, a, trace, b, true, { workerMinEvents: 0, early }));
    expect(viaEarly).toBe(inline);
    // A worker that read another run than the one asked for is not taken.
    const other = startPassEarly(`${file}#gup`);
    expect(await other!.take(new Interner(), b.id)).toBeNull();
  } finally {
    trace.close();
  }
});

// A worker that dies without a reply (out of memory, a crash) must not hold the diff up: its 'exit'
// is seen at once and take() gives null, so the caller does the pass itself.
test('a worker that dies without a reply is noticed at once', async () => {
  const { PendingPass } = await dist('diff/pass-start.js');
  const { Interner } = await dist('diff/tokens.js');
  const { Worker } = await import('node:worker_threads');
  const dies = new Worker('process.exit(3)', { eval: true });
  expect(await new PendingPass(dies).take(new Interner(), 1)).toBeNull();
  const outOfMemory = new Worker('const keep = []; for (;;) keep.push(new Array(1e6).fill(1));', {
    eval: true, resourceLimits: { maxOldGenerationSizeMb: 16 },
  });
  expect(await new PendingPass(outOfMemory).take(new Interner(), 1)).toBeNull();
});

// Progress for the CLI's bar: non-decreasing counts of both runs' events, ending at their sum,
// with the second run's pass inline or in the worker.
test('diffTraces reports its progress over both runs', async () => {
  const file = join(tempDir(), 'race.db');
  await recordHere('cross-vma-race', ['--path=gup,fast', `--out=${file}`]);
  const { diffTraces } = await dist('diff/diff.js');
  const { openTrace } = await dist('trace/reader.js');
  const trace = await openTrace(file);
  try {
    const [a, b] = [trace.resolveRun('gup'), trace.resolveRun('fast')];
    for (const workerMinEvents of [Infinity, 0]) {
      const seen: [number, number][] = [];
      await diffTraces(trace, a, trace, b, false, { workerMinEvents, onProgress: (done: number, total: number) => seen.push([done, total]) });
      expect(seen.every(([, total]) => total === a.events + b.events)).toBe(true);
      expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((x, y) => x - y));
      expect(seen.at(-1)![0]).toBe(a.events + b.events);
      if (workerMinEvents === Infinity) expect(seen.map(([done]) => done)).toContain(a.events); // the inline pass of A, then B
    }
  } finally {
    trace.close();
  }
});

// A worker starts cold (boot, modules, its own JIT): on two cores it cost more than the overlap
// gained, so there the diff does both passes on one thread unless told otherwise.
test('a diff uses a worker thread only with a core to spare for it', async () => {
  const { workerMinEventsFor, WORKER_MIN_EVENTS } = await dist('diff/pass-start.js');
  expect(workerMinEventsFor(1)).toBe(Infinity);
  expect(workerMinEventsFor(2)).toBe(Infinity);
  expect(workerMinEventsFor(3)).toBe(WORKER_MIN_EVENTS);
  expect(workerMinEventsFor(16)).toBe(WORKER_MIN_EVENTS);
});
