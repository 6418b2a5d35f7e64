/**
 * Worker thread entry of `mmtrace explore`: runs the jobs it is sent and posts each one's results
 * back (or the error). Started by pool.ts; ends when the pool terminates it.
 */
import { parentPort } from 'node:worker_threads';
import { runJob, type Job } from './jobs.js';

parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({ results: runJob(job) });
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error).stack ?? e) });
  }
});
