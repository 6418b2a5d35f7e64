/**
 * Worker thread entry of `mmtrace explore`: runs the search units it is sent (pool.ts starts it and
 * terminates it).
 */
import { runJob } from './jobs.js';
import { serveJobs } from './pool.js';

serveJobs(runJob);
