/** `mmtrace workloads`: what can be recorded. */
import { WORKLOADS } from '../workloads/index.js';
import { printJson, println } from './output.js';

export function workloadsCommand(o: { json?: boolean }): void {
  if (o.json) {
    printJson({
      workloads: WORKLOADS.map((w) => ({
        name: w.name,
        description: w.description,
        doc: `docs/semantics.md#${w.name}`,
        params: Object.fromEntries(Object.entries(w.params).map(([k, p]) => [k, { default: p.default, min: p.min ?? null, max: p.max ?? null, description: p.description }])),
      })),
    });
    return;
  }
  for (const w of WORKLOADS) {
    println(`${w.name}: ${w.description} (docs/semantics.md#${w.name})`);
    for (const [k, p] of Object.entries(w.params)) {
      const bounds = p.max === undefined ? '' : ` [${p.min ?? 0}..${p.max}]`;
      println(`    --param ${k}=${p.default}${bounds}  ${p.description}`);
    }
  }
}
