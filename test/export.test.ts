/**
 * `mmtrace export`: a run as Chrome Trace Event JSON (checked against the format's rules and
 * against the run's own figures) and as NDJSON (one object per event, fields and codes by name).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TraceRecord } from '../src/export/chrome.js';
import { CLI, mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';

const dir = tempDir();
const file = join(dir, 'stuck.db');
let records: TraceRecord[];

beforeAll(() => {
  mmtraceJson(['record', 'stuck-writer', `--out=${file}`]);
  const out = join(dir, 'stuck.json');
  const r = mmtrace(['export', file, `--out=${out}`]);
  expect(r.status, r.stderr).toBe(0);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { otherData: { time: string }; traceEvents: TraceRecord[] };
  expect(doc.otherData.time).toMatch(/1 virtual tick = 1 us/);
  records = doc.traceEvents;
});

describe('chrome (Trace Event Format)', () => {
  test('every record follows the format: phases, times, ids', () => {
    expect(records.length).toBeGreaterThan(1000);
    for (const r of records) {
      expect(['B', 'E', 'X', 'b', 'e', 's', 'f', 'C', 'M']).toContain(r.ph);
      expect(Number.isInteger(r.pid) && Number.isInteger(r.tid)).toBe(true);
      expect(r.ts).toBeGreaterThanOrEqual(0);
      if (r.ph === 'X') expect(r.dur).toBeGreaterThanOrEqual(0);
      if ('bsfe'.includes(r.ph)) expect(Number.isInteger(r.id)).toBe(true);
    }
  });

  test('B/E slices nest per thread, async holds pair up, every flow end has its start', () => {
    const stacks = new Map<string, string[]>();
    const openHolds = new Map<number, TraceRecord>();
    const flowStarts = new Map<number, TraceRecord>();
    for (const r of records) {
      const thread = `${r.pid}/${r.tid}`;
      if (r.ph === 'B') stacks.set(thread, [...(stacks.get(thread) ?? []), r.name]);
      if (r.ph === 'E') {
        const stack = stacks.get(thread) ?? [];
        expect(stack.at(-1), `E ${r.name} on ${thread}`).toBe(r.name);
        stack.pop();
      }
      if (r.ph === 'b') openHolds.set(r.id!, r);
      if (r.ph === 'e') {
        const b = openHolds.get(r.id!);
        expect(b?.name).toBe(r.name);
        expect(r.ts).toBeGreaterThanOrEqual(b!.ts);
        openHolds.delete(r.id!);
      }
      if (r.ph === 's') flowStarts.set(r.id!, r);
      if (r.ph === 'f') {
        expect(flowStarts.has(r.id!), `flow ${r.id}`).toBe(true);
        expect(r.ts).toBeGreaterThanOrEqual(flowStarts.get(r.id!)!.ts);
      }
    }
    for (const [thread, stack] of stacks) expect(stack, thread).toEqual([]);
    expect(openHolds.size).toBe(0);
  });

  test('one named thread per task, the target\'s tasks in the process of its mm', () => {
    const threads = records.filter((r) => r.ph === 'M' && r.name === 'thread_name').map((r) => r.args!['name']);
    expect(threads.sort()).toEqual(['init', 'monitor', 'rcu_gp', 'writer']);
    const processOf = (task: string) => records.find((r) => r.name === 'thread_name' && r.args!['name'] === task)!.pid;
    const state = mmtraceJson(['replay', file]).state;
    expect(processOf('writer')).toBe(state.mms[0].pid);
    expect(processOf('monitor')).not.toBe(state.mms[0].pid);
  });

  test('requests, waits, holds, flows and counters say what the run says', () => {
    const monitor = records.find((r) => r.name === 'thread_name' && r.args!['name'] === 'monitor')!.tid;
    const requests = records.filter((r) => r.cat === 'request');
    expect(requests.map((r) => r.name)).toEqual(['cmdline #1', 'cmdline #2', 'cmdline #3', 'cmdline #4']);
    expect(requests.every((r) => r.tid === monitor && r.args!['result'] === 48)).toBe(true);
    // The monitor's wait for mmap_lock behind the writer: the same ticks the diff reports.
    const lockWait = records.find((r) => r.cat === 'wait' && r.tid === monitor && r.name === 'wait: rwsem_down_read')!;
    const diff = mmtrace(['diff', `${file}`, `${file}`, '--json']);
    const p99 = JSON.parse(diff.stdout).aggregates['request-wait/monitor/p99'].a;
    expect(lockWait.dur).toBe(p99);
    // The writer's mmap_lock hold, as an async slice on the mmap_lock track.
    expect(records.some((r) => r.ph === 'b' && r.name === 'mmap_lock write' && r.cat === 'lock,mmap_lock')).toBe(true);
    // The writer's up_write wakes the monitor: a flow from writer to monitor.
    const wake = records.find((r) => r.ph === 's' && r.name === 'wake: mmap_lock')!;
    expect(records.find((r) => r.ph === 'f' && r.id === wake.id)!.tid).toBe(monitor);
    // mmap_lock waiters rise to 1 and fall back to 0.
    const waiters = records.filter((r) => r.ph === 'C' && /^mmap_lock #\d+ waiters$/.test(r.name)).map((r) => r.args!['waiters']);
    expect(waiters).toContain(1);
    expect(waiters.at(-1)).toBe(0);
    expect(records.some((r) => r.ph === 'C' && /^folio \d+ refcount$/.test(r.name))).toBe(true);
  });
});

describe('ndjson', () => {
  test('one object per event, in order, fields and codes by name, bytes in hex', () => {
    const r = mmtrace(['export', file, '--format=ndjson']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const run = mmtraceJson(['list', file]).runs[0];
    expect(lines).toHaveLength(run.events);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const acquire = lines.find((l) => l.kind === 'rwsem_acquire' && l.task === 'writer');
    expect(acquire).toMatchObject({ class: 'mmap_lock', mode: 'write' });
    expect(['fast', 'steal', 'woken', 'downgrade']).toContain(acquire.how);
    const end = lines.find((l) => l.kind === 'request_end');
    expect(end.data).toMatch(/^([0-9a-f]{2})+$/);
    expect(Buffer.from(end.data, 'hex').toString('latin1')).toContain('/usr/bin/target');
    expect(lines.filter((l) => l.tid === 0).every((l) => l.task === 'sim')).toBe(true);
  });

  test('piped into head, it ends quietly', () => {
    const r = spawnSync('sh', ['-c', `node ${CLI} export ${file} --format=ndjson | head -2; echo "status=$?"`], { encoding: 'utf8' });
    expect(r.stdout.split('\n')).toHaveLength(4);
    expect(r.stderr).toBe('');
  });
});

describe('bad input', () => {
  test('an unknown format: one line, exit 2, no file written', () => {
    const out = join(tempDir(), 'x.json');
    const r = mmtrace(['export', file, '--format=svg', `--out=${out}`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("mmtrace: --format must be one of chrome, ndjson, got 'svg'");
    expect(existsSync(out)).toBe(false);
  });

  test('an export that fails leaves no partial file behind', () => {
    const outDir = tempDir();
    const r = mmtrace(['export', join(outDir, 'missing.db'), `--out=${join(outDir, 'x.json')}`]);
    expect(r.status).toBe(2);
    expect(readdirSync(outDir)).toEqual([]);
  });
});
