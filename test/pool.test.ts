/**
 * The job pools explore and review run on: a shared pool runs jobs on this thread while it is free
 * and on its workers otherwise; every result comes back for its own job; a worker whose thread has
 * exited leaves the pool; explore's default threads leave a core to V8's own threads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { defaultExploreThreads } from '../src/explore/explore.js';
import { startPool } from '../src/explore/pool.js';
import { tempDir } from './helpers/cli.js';

interface Done {
  job: number;
  where: string;
}

/** A worker entry that answers each job with where it ran (the reply shape serveJobs posts). */
function echoWorker(): URL {
  const file = join(tempDir(), 'echo-worker.mjs');
  writeFileSync(file, `import { parentPort, threadId } from 'node:worker_threads';
parentPort.on('message', (job) => {
  const until = Date.now() + 5;
  while (Date.now() < until) { /* a job takes a few milliseconds */ }
  parentPort.postMessage({ result: { job, where: 'worker ' + threadId } });
});
`);
  return pathToFileURL(file);
}

/** The echo worker, except that a job of -1 makes its thread exit (as a crash or running out of memory would). */
function mortalWorker(): URL {
  const file = join(tempDir(), 'mortal-worker.mjs');
  writeFileSync(file, `import { parentPort, threadId } from 'node:worker_threads';
parentPort.on('message', (job) => {
  if (job === -1) process.exit(3);
  parentPort.postMessage({ result: { job, where: 'worker ' + threadId } });
});
`);
  return pathToFileURL(file);
}

/** `threads` loops taking jobs in turn, as explore's runJobs does. */
async function runAll(run: (job: number) => Promise<Done>, jobs: number, threads: number): Promise<Done[]> {
  const results: Done[] = [];
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < jobs) {
      const j = next++;
      results[j] = await run(j);
    }
  };
  await Promise.all(Array.from({ length: threads }, loop));
  return results;
}

describe('a pool shared between this thread and workers', () => {
  test('runs jobs on this thread and on every worker, each result for its own job', { timeout: 30_000 }, async () => {
    const here = async (job: number): Promise<Done> => {
      // a job here lets the workers' replies in between its steps, as explore's units do
      for (let step = 0; step < 3; step++) await new Promise<void>((resolve) => setImmediate(resolve));
      return { job, where: 'here' };
    };
    const pool = startPool<number, Done>(echoWorker(), 3, () => Promise.reject(new Error('not the inline handle')), { here });
    try {
      expect(pool.threads).toBe(3);
      const results = await runAll((j) => pool.run(j), 60, pool.threads);
      expect(results.map((r) => r.job)).toEqual([...Array(60).keys()]);
      const where = new Set(results.map((r) => r.where));
      expect(where.has('here')).toBe(true);
      // two workers besides this thread, each given some of the jobs
      expect([...where].filter((w) => w.startsWith('worker ')).length).toBe(2);
    } finally {
      await pool.close();
    }
  });

  test('without `here`, threads are all workers; with one thread, the handle runs inline', { timeout: 30_000 }, async () => {
    const workers = startPool<number, Done>(echoWorker(), 2, () => Promise.reject(new Error('not inline')));
    try {
      expect(workers.threads).toBe(2);
      const results = await runAll((j) => workers.run(j), 10, 2);
      expect(results.every((r) => r.where.startsWith('worker '))).toBe(true);
    } finally {
      await workers.close();
    }
    const inline = startPool<number, Done>(echoWorker(), 1, async (job) => ({ job, where: 'inline' }), { here: () => Promise.reject(new Error('not here')) });
    expect(inline.threads).toBe(1);
    expect(await inline.run(7)).toEqual({ job: 7, where: 'inline' });
  });
});

describe('a worker whose thread exits', () => {
  test('fails its job, is never given another, and with the last one gone every job fails at once', { timeout: 30_000 }, async () => {
    const pool = startPool<number, Done>(mortalWorker(), 2, () => Promise.reject(new Error('not inline')));
    try {
      await expect(pool.run(-1)).rejects.toThrow('a worker thread exited (code 3)');
      // the jobs after it all go to the worker that is left (a job sent to the dead one never settles)
      const results = await runAll((j) => pool.run(j), 10, 2);
      expect(results.map((r) => r.job)).toEqual([...Array(10).keys()]);
      expect(new Set(results.map((r) => r.where)).size).toBe(1);
      await expect(pool.run(-1)).rejects.toThrow('a worker thread exited (code 3)');
      await expect(pool.run(1)).rejects.toThrow('every worker thread of the pool has exited');
    } finally {
      await pool.close();
    }
  });
});

describe('explore runs on every core but one by default', () => {
  test('at least one thread; one fewer than the cores', () => {
    expect([1, 2, 3, 8].map((cores) => defaultExploreThreads(cores))).toEqual([1, 1, 2, 7]);
  });
});
