/**
 * Long recordings show and bound themselves: the progress line's text, --max-bytes (a run cut
 * before its file passes the size, limited as by --max-events), and the size estimate that wants
 * --yes, bounded by either limit.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, test } from 'vitest';
import { compact, duration, progressText } from '../src/cli/progress.js';
import { MmtraceError } from '../src/errors.js';
import { checkSize, expectedEvents, FILE_BYTES_PER_EVENT, FILE_SIZE_ASK_BYTES } from '../src/record/file-size.js';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';

describe('the progress line', () => {
  const base = { label: 'record gup', unit: 'events' };

  it('with a known total: bar, percentage, count, rate and ETA', () => {
    const line = progressText({ ...base, value: 1_000_000, total: 4_000_000, seconds: 2 });
    expect(line).toBe('record gup [######------------------] 25% 1M/4M events, 500k events/s, ETA 6s');
  });

  it('with no total: the count and the rate only', () => {
    const line = progressText({ ...base, value: 1_500_000, seconds: 3 });
    expect(line).toBe('record gup 1.5M events, 500k events/s');
    expect(progressText({ ...base, value: 1_500_000, total: 0, seconds: 3 })).toBe(line);
  });

  it('waits a second before it gives a rate or an ETA', () => {
    expect(progressText({ ...base, value: 5000, total: 10_000, seconds: 0.5 })).toBe('record gup [############------------] 50% 5k/10k events');
  });

  it('stays within 100% when a run passes its estimate', () => {
    expect(progressText({ ...base, value: 12_000, total: 10_000, seconds: 4 })).toMatch(/\[#{24}\] 100% 12k\/10k events, 3k events\/s, ETA 0s$/);
  });

  it('writes counts in three figures and durations in the two largest units', () => {
    expect([compact(950), compact(12_345), compact(999_999), compact(2_500_000_000)]).toEqual(['950', '12.3k', '1M', '2.5G']);
    expect([duration(45), duration(185), duration(7300)]).toEqual(['45s', '3m05s', '2h01m']);
  });
});

describe('the size estimate', () => {
  const past = FILE_SIZE_ASK_BYTES / FILE_BYTES_PER_EVENT * 2;

  it('refuses a run estimated past the threshold, as a usage error naming every way out', () => {
    expect(() => checkSize('scale', past, 1, {}, false)).toThrow(MmtraceError);
    expect(() => checkSize('scale', past, 1, {}, false)).toThrow(/pass --yes .* --max-events or --max-bytes/);
  });

  it('is bounded by --max-events, by --max-bytes, and waived by --yes', () => {
    expect(() => checkSize('scale', past, 1, { maxEvents: 1000 }, false)).not.toThrow();
    expect(() => checkSize('scale', past, 1, { maxBytes: FILE_SIZE_ASK_BYTES / 2 }, false)).not.toThrow();
    expect(() => checkSize('scale', past, 1, {}, true)).not.toThrow();
  });

  it('counts every path of the recording', () => {
    const half = FILE_SIZE_ASK_BYTES / FILE_BYTES_PER_EVENT * 0.6;
    expect(() => checkSize('scale', half, 1, {}, false)).not.toThrow();
    expect(() => checkSize('scale', half, 2, {}, false)).toThrow(/pass --yes/);
  });

  it('gives the progress bar the smallest of the estimate and the limits', () => {
    expect(expectedEvents(5000, {})).toBe(5000);
    expect(expectedEvents(5000, { maxEvents: 300 })).toBe(300);
    expect(expectedEvents(undefined, { maxBytes: FILE_BYTES_PER_EVENT * 700 })).toBe(700);
    expect(expectedEvents(undefined, {})).toBeUndefined();
  });
});

describe('record --max-bytes', () => {
  const dir = tempDir();
  const workload = ['record', 'cmdline-poll', '--param', 'reads=1000', '--param', 'iterations=100'];

  it('cuts the run before the file passes the size; the run is limited, and says where', () => {
    const file = join(dir, 'bounded.db');
    const r = mmtrace([...workload, '--max-bytes=2M', `--out=${file}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/limited \(--max-bytes=2M: cut at \d+ events\)/);
    expect(statSync(file).size).toBeLessThanOrEqual(2_000_000);
    const [run] = mmtraceJson(['list', file]).runs;
    expect(run.status).toBe('limited');
    // within a batch or so of the room there was: not cut at the first guess
    expect(run.events).toBeGreaterThan(20_000);
    expect(run.limit).toBe(run.events - 1);
    // the cut run re-executes to the same events, as a --max-events run does
    const v = mmtrace(['replay', `${file}#gup`, '--until=end', '--verify', '--json']);
    expect(v.status, v.stderr).toBe(0);
  });

  it('leaves a run that fits alone', () => {
    const file = join(dir, 'fits.db');
    const r = mmtraceJson(['record', 'cmdline-poll', '--param', 'reads=5', '--max-bytes=2G', `--out=${file}`]);
    expect(r.runs[0].status).toBe('complete');
    expect(r.runs[0].limit).toBeNull();
  });

  it('refuses a file that already fills the size, and leaves it as it was', () => {
    const file = join(dir, 'full.db');
    expect(mmtrace([...workload, `--out=${file}`]).status).toBe(0);
    const before = statSync(file);
    const r = mmtrace([...workload, '--name=more', '--max-bytes=1M', `--out=${file}`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/already holds \d+ bytes, no fewer than --max-bytes=1000000/);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  });

  for (const bad of ['0', 'abc', '5X', '-1', '1.5', '2MB', '500K']) {
    test(`refuses --max-bytes=${bad} in one line, exit 2, no file`, () => {
      const file = join(dir, `bad-${bad}.db`);
      const r = mmtrace(['record', 'cmdline-poll', `--max-bytes=${bad}`, `--out=${file}`]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--max-bytes (takes a size|must be at least 1M)/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(file)).toBe(false);
    });
  }
});

describe('record on a pipe', () => {
  it('writes no progress: stderr stays empty', () => {
    const file = join(tempDir(), 'piped.db');
    // scale knows its size, so on a terminal this run would show a bar with an ETA
    const r = mmtrace(['record', 'scale', '--param', 'iterations=40', '--param', 'reads=80', `--out=${file}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/#gup: \d+ events/);
  });
});
