/** `mmtrace workloads`: what can be recorded. */
import { WORKLOADS } from '../workloads/index.js';
import { printJson, println } from './output.js';

export function workloadsCommand(o: { json?: boolean }): void {
  if (o.json) {
    printJson({
      workloads: WORKLOADS.map((w) => ({
        name: w.name,
        description: w.description,
        params: Object.fromEntries(Object.entries(w.params).map(([k, p]) => [k, { default: p.default, description: p.description }])),
      })),
    });
    return;
  }
  for (const w of WORKLOADS) {
    println(`${w.name}: ${w.description}`);
    for (const [k, p] of Object.entries(w.params)) println(`    --param ${k}=${p.default}  ${p.description}`);
  }
}
