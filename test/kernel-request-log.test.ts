/**
 * The kernel's request log (kernel/request.ts): kept for re-execution, whose model lists every
 * request, and left out of a recording, whose trace file keeps the requests; leaving it out changes
 * no event.
 */
import { describe, expect, it } from 'vitest';
import { requests } from '../src/linux/kernel/request.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { findWorkload, resolveParams } from '../src/workloads/index.js';
import { runWorkload } from '../src/workloads/runner.js';
import { MemorySink } from './helpers/harness.js';

function run(requestLog: boolean | undefined) {
  const w = findWorkload('cmdline-poll')!;
  const sink = new MemorySink();
  const r = runWorkload({
    workload: w, params: resolveParams(w, { reads: '12' }), path: 'gup', variant: [], seed: 4, strategy: new RandomStrategy(4),
    sink, ...(requestLog === undefined ? {} : { requestLog }),
  });
  return { r, events: sink.events };
}

describe('the request log of a kernel', () => {
  it('is kept by default, one entry per request_begin, each ended with its request_end result', () => {
    const { r, events } = run(undefined);
    const log = requests(r.kernel);
    const ends = events.filter((e) => e.kind === 'request_end');
    expect(log.length).toBe(events.filter((e) => e.kind === 'request_begin').length);
    expect(log.length).toBe(12);
    expect(Array.from({ length: log.length }, (_, i) => log.at(i).result)).toEqual(ends.map((e) => e.result));
  });

  it('is not kept with requestLog: false, and the events are the same without it', () => {
    const kept = run(true);
    const left = run(false);
    expect(() => requests(left.r.kernel)).toThrow(/keeps no request log/);
    expect(left.events).toEqual(kept.events);
  });
});
