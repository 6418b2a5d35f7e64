/**
 * Worker thread entry of `mmtrace explore`: runs the jobs it is sent and posts each one's results
 * back (or the error). Started by pool.ts; ends when the pool terminates it.
 */
import { parentPort } from 'node:worker_threads';
import { isMmtraceError } from '../errors.js';
import { runJob, type Job } from './jobs.js';

parentPort!.on('message', async (job: Job) => {
  try {
    parentPort!.postMessage({ results: await runJob(job) });
  } catch (e) {
    // A user's error (a module that fails) goes back as itself, to be told in one line.
    if (isMmtraceError(e)) parentPort!.postMessage({ mmtrace: { code: e.code, message: e.message, exitCode: e.exitCode } });
    else parentPort!.postMessage({ error: String((e as Error).stack ?? e) });
  }
});
