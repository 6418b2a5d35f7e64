/**
 * How whole a run is -- complete, limited, incomplete, failed -- is said the same way by every reader:
 * record, list, replay and diff (README, "How whole a run is"). A run cut by --max-events verifies
 * up to its last event; a run that failed on a full disk is not shown as whole.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { RunHeader } from '../src/trace/recorder.js';
import { recordUntilDiskFull } from './helpers/disk-full.js';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';

const dir = tempDir();

describe('a run cut by --max-events is limited, everywhere', () => {
  const file = join(dir, 'limited.db');

  test('record and list say limited, with the limit', () => {
    const rec = mmtrace(['record', 'cmdline-poll', '--max-events=100', `--out=${file}`]);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stdout).toMatch(/#gup: 101 events, .* limited \(--max-events=100\)$/m);
    const listed = mmtraceJson(['list', file]).runs[0];
    expect(listed).toMatchObject({ status: 'limited', limit: 100, events: 101 });
    const text = mmtrace(['list', file]);
    expect(text.stdout).toMatch(/limited \(--max-events=100\)\s+101/);
    expect(text.stderr).toMatch(/#gup is limited: --max-events=100 stopped it before the workload finished/);
  });

  test('it verifies to its last event, and re-execution prints what projection prints', () => {
    const verify = mmtrace(['replay', file, '--verify', '--until=end']);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stderr).toMatch(/re-executed and verified 101 events/);
    const projected = mmtrace(['replay', file, '--until=end', '--json']);
    const reexec = mmtrace(['replay', file, '--until=end', '--engine=reexec', '--json']);
    expect(reexec.status, reexec.stdout).toBe(0);
    expect(reexec.stdout).toBe(projected.stdout);
    const doc = JSON.parse(projected.stdout);
    expect(doc).toMatchObject({ status: 'limited', incomplete: false, events: 101 });
    expect(doc.at.kind).toBe('event_limit');
    expect(mmtrace(['replay', file]).stdout).toMatch(/event 101 of 101 \(limited run\)/);
  });

  test('diff warns that it compares a limited run', () => {
    expect(mmtrace(['record', 'cmdline-poll', '--name=whole', `--out=${file}`]).status).toBe(0);
    const d = mmtrace(['diff', `${file}#gup`, `${file}#whole`, '--json']);
    expect(JSON.parse(d.stdout).warnings).toContainEqual(expect.stringMatching(/^gup is limited: --max-events=100/));
    expect(mmtrace(['diff', `${file}#gup`, `${file}#whole`]).stderr).toMatch(/warning: gup is limited/);
  });
});

describe('a run that failed on a full disk is not shown as whole', () => {
  test('list, replay and diff all say failed, and replay calls it incomplete', async () => {
    const file = join(dir, 'full.db');
    const header: RunHeader = {
      name: 'gup', workload: 'cmdline-poll', params: {}, path: 'gup', variant: [], seed: 1, strategy: 'random',
      config: {}, codeVersion: 'test',
    };
    const err = await recordUntilDiskFull(file, header);
    expect(String(err)).toMatch(/disk full/);

    const listed = mmtraceJson(['list', file]).runs[0];
    expect(listed.status).toBe('failed');
    expect(listed.events).toBeGreaterThan(0);
    expect(mmtrace(['list', file]).stderr).toMatch(/#gup is failed: its recording stopped on an error after \d+ committed events, which are kept \(.*disk full/);

    const replay = mmtrace(['replay', file, '--json']);
    expect(replay.status, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ status: 'failed', incomplete: true, events: listed.events });
    expect(replay.stderr).toMatch(/is failed: its recording stopped on an error/);
    expect(mmtrace(['replay', file]).stdout).toMatch(new RegExp(`event ${listed.events} of ${listed.events} \\(failed run\\)`));

    const d = mmtrace(['diff', `${file}#gup`, `${file}#gup`, '--json']);
    expect(JSON.parse(d.stdout).warnings).toContainEqual(expect.stringMatching(/^gup is failed: /));
  });
});
