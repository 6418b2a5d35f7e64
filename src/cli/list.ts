/** `mmtrace list FILE`: the runs in a trace file. */
import { configChanges } from '../record/config.js';
import { openTrace } from '../trace/reader.js';
import { runStateNote } from '../trace/run-state.js';
import { printJson, println, table } from './output.js';

export async function listCommand(file: string, o: { json?: boolean }): Promise<void> {
  const trace = await openTrace(file);
  try {
    const runs = trace.listRuns();
    if (o.json) {
      printJson({
        runs: runs.map((r) => ({
          name: r.name, id: r.id, workload: r.workload, path: r.path, variant: r.variant, seed: r.seed,
          status: r.status, limit: r.limit, events: r.events, finalHash: r.finalHash,
          config: configChanges(r.config), error: r.error,
        })),
      });
      return;
    }
    for (const r of runs) {
      const note = runStateNote(`${file}#${r.name}`, r);
      if (note) process.stderr.write(`mmtrace: ${note}\n`);
    }
    println(table(
      ['id', 'name', 'workload', 'path', 'variant', 'config', 'seed', 'strategy', 'status', 'events', 'finalHash'],
      runs.map((r) => [
        r.id, r.name, r.workload, r.path, r.variant.join(',') || '-', configChanges(r.config).join(',') || '-',
        r.seed, r.strategy, r.status === 'limited' ? `limited (--max-events=${r.limit})` : r.status, r.events, r.finalHash,
      ]),
    ));
  } finally {
    trace.close();
  }
}
