/** `mmtrace merge OUT IN... [--json]`: copy every run of the inputs into OUT (created if needed). */
import { mergeTraceFiles } from '../trace/merge.js';
import { println, printJson } from './output.js';

export async function mergeCommand(out: string, inputs: string[], o: { json?: boolean }): Promise<void> {
  const merged = await mergeTraceFiles(out, inputs);
  if (o.json) printJson({ file: out, runs: merged });
  else {
    for (const r of merged) println(`${out}#${r.name}: ${r.events} events, from ${r.from}`);
    if (merged.length === 0) println(`${out}: the inputs hold no runs`);
  }
}
