/** `mmtrace list FILE`: the runs in a trace file. */
import { openTrace } from '../trace/reader.js';
import { printJson, println, table } from './output.js';

export async function listCommand(file: string, o: { json?: boolean }): Promise<void> {
  const trace = await openTrace(file);
  try {
    const runs = trace.listRuns();
    if (o.json) {
      printJson({
        runs: runs.map((r) => ({
          name: r.name, id: r.id, workload: r.workload, path: r.path, variant: r.variant, seed: r.seed,
          status: r.status, events: r.events, finalHash: r.finalHash,
        })),
      });
      return;
    }
    for (const r of runs) {
      if (r.status === 'incomplete') {
        process.stderr.write(`mmtrace: ${file}#${r.name} is incomplete: its recording stopped after ${r.events} committed events\n`);
      }
    }
    println(table(
      ['id', 'name', 'workload', 'path', 'variant', 'seed', 'strategy', 'status', 'events', 'finalHash'],
      runs.map((r) => [r.id, r.name, r.workload, r.path, r.variant.join(',') || '-', r.seed, r.strategy, r.status, r.events, r.finalHash]),
    ));
  } finally {
    trace.close();
  }
}
