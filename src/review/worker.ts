/** Worker thread entry of `mmtrace review`: records and diffs the scenarios it is sent. */
import { serveJobs } from '../explore/pool.js';
import { reviewScenario } from './scenario.js';

serveJobs(reviewScenario);
