/**
 * A child process of `mmtrace bench` (the rssMbAt figures): record the scale workload of about
 * EVENTS events into FILE and print `{"events": N, "rssMb": M}`, M being the peak resident set of
 * this process: the simulation, the recorder and its writer worker, and nothing of bench's own.
 *
 *   node dist/src/cli/bench-rss.js EVENTS FILE
 */
import { recordRuns } from '../record/record.js';
import { scaleParams } from './bench.js';

const [events, file] = process.argv.slice(2);
const recorded = await recordRuns({
  workload: 'scale', paths: ['gup'], variant: [], seed: 1, strategy: 'random', params: scaleParams(Number(events)), out: file!,
});
// resourceUsage().maxRSS is in kilobytes
process.stdout.write(`${JSON.stringify({ events: recorded.runs[0]!.events, rssMb: +(process.resourceUsage().maxRSS / 1024).toFixed(1) })}\n`);
