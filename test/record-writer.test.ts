/**
 * Which thread writes a recording: the writer worker, unless the recording is known to be small
 * (the workload's estimate of its events, bounded by --max-events, over every path, below
 * WORKER_FROM_EVENTS), where starting the worker costs more than writing on the simulation's thread.
 * Either way the runs read back the same.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordRuns } from '../src/record/record.js';
import { openTrace } from '../src/trace/reader.js';
import { tempDir } from './helpers/cli.js';

const dir = tempDir();
const base = { workload: 'scale', variant: [] as string[], seed: 1, strategy: 'random' };

describe('the writer of a recording', () => {
  it('is this thread for a small recording, or one --max-events bounds', async () => {
    const small = await recordRuns({ ...base, paths: ['gup'], params: { iterations: '10', reads: '20' }, out: join(dir, 'small.db') });
    expect(small.writer).toBe('sync');
    const bounded = await recordRuns({ ...base, paths: ['gup'], params: { iterations: '1000' }, maxEvents: 5000, out: join(dir, 'bounded.db') });
    expect([bounded.writer, bounded.runs[0]!.events]).toEqual(['sync', 5001]); // and its event_limit event
  });

  it('is the worker for a recording bounded by --max-bytes, however small (where it is cut depends on the writer)', async () => {
    const r = await recordRuns({ ...base, paths: ['gup'], params: { iterations: '10', reads: '20' }, maxBytes: 8_000_000, out: join(dir, 'bytes.db') });
    expect(r.writer).toBe('worker');
  });

  it('is the worker once the runs add up to more, and both write the same run', async () => {
    // about 150k events a run: one run in process, two (gup and fast) with the worker
    const params = { iterations: '60', reads: '120' };
    const one = await recordRuns({ ...base, paths: ['gup'], params, out: join(dir, 'one.db') });
    const two = await recordRuns({ ...base, paths: ['gup', 'fast'], params, out: join(dir, 'two.db') });
    expect([one.writer, two.writer]).toEqual(['sync', 'worker']);
    expect(two.runs[0]!.finalHash).toBe(one.runs[0]!.finalHash);
    const a = await openTrace(join(dir, 'one.db'));
    const b = await openTrace(join(dir, 'two.db'));
    expect(b.run(two.runs[0]!.id).events).toBe(a.run(one.runs[0]!.id).events);
    // each run's requests, counted without reading them, as the file holds them
    expect(one.runs[0]!.requests).toBe(a.requests(one.runs[0]!.id).length);
    expect(two.runs.map((r) => r.requests)).toEqual(two.runs.map((r) => b.requests(r.id).length));
    expect(one.runs[0]!.requests).toBeGreaterThan(100);
    a.close();
    b.close();
  });
});
