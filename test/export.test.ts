/**
 * `mmtrace export`: a run as Chrome Trace Event JSON (checked against the format's rules and
 * against the run's own figures) and as NDJSON (one object per event, fields and codes by name).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { TraceRecord } from '../src/export/timeline.js';
import { CLI, mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

const dir = tempDir();
const file = join(dir, 'stuck.db');
let records: TraceRecord[];

beforeAll(async () => {
  await recordHere('stuck-writer', [`--out=${file}`]);
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

/** A decoded TracePacket, 64-bit fields as numbers and enums by name. */
interface Packet {
  timestamp?: number;
  sequence_flags?: number;
  track_descriptor?: {
    uuid: number; parent_uuid?: number; name?: string;
    process?: { pid: number; process_name?: string }; thread?: { pid: number; tid: number; thread_name?: string }; counter?: object;
  };
  track_event?: {
    type: string; track_uuid: number; name_iid?: number; category_iids?: number[]; counter_value?: number;
    flow_ids?: number[]; terminating_flow_ids?: number[]; debug_annotations?: { name_iid: number; int_value?: number; string_value?: string }[];
  };
  interned_data?: Record<'event_names' | 'event_categories' | 'debug_annotation_names', { iid: number; name: string }[] | undefined>;
}

describe('perfetto (protobuf TracePackets)', () => {
  let packets: Packet[];
  /** Interned names, by iid. */
  const names = new Map<number, string>();
  const argNames = new Map<number, string>();
  const tracks = new Map<number, NonNullable<Packet['track_descriptor']>>();
  const events: (NonNullable<Packet['track_event']> & { ts: number; name?: string })[] = [];

  beforeAll(async () => {
    const out = join(dir, 'stuck.pftrace');
    const r = mmtrace(['export', file, '--format=perfetto', `--out=${out}`]);
    expect(r.status, r.stderr).toBe(0);
    const { perfettoTypes } = await import('../src/export/perfetto.js');
    const { Trace } = perfettoTypes();
    const decoded = Trace.toObject(Trace.decode(readFileSync(out)), { longs: Number, enums: String, defaults: false });
    packets = decoded['packet'] as Packet[];
    for (const p of packets) {
      for (const n of p.interned_data?.event_names ?? []) names.set(n.iid, n.name);
      for (const n of p.interned_data?.debug_annotation_names ?? []) argNames.set(n.iid, n.name);
      if (p.track_descriptor) tracks.set(p.track_descriptor.uuid, p.track_descriptor);
      if (p.track_event) {
        const e = p.track_event;
        expect(tracks.has(e.track_uuid), 'track described before its first event').toBe(true);
        if (e.name_iid !== undefined) expect(names.has(e.name_iid), 'name interned before use').toBe(true);
        events.push({ ...e, ts: p.timestamp!, name: e.name_iid === undefined ? undefined : names.get(e.name_iid) });
      }
    }
  });

  test('one sequence: the first packet clears incremental state, the others need it', () => {
    expect(packets[0]!.sequence_flags).toBe(1);
    expect(packets.slice(1).every((p) => p.sequence_flags === 2)).toBe(true);
    const run = events[0]!;
    expect(run.name).toBe('mmtrace run');
    const args = Object.fromEntries(run.debug_annotations!.map((a) => [argNames.get(a.name_iid), a.string_value ?? a.int_value]));
    expect(args).toMatchObject({ workload: 'stuck-writer', path: 'gup', run: 'gup' });
    expect(args['time']).toMatch(/1 virtual tick = 1 us/);
  });

  test('the same processes and threads as the chrome export, tick = 1000 ns', () => {
    const threads = [...tracks.values()].filter((t) => t.thread).map((t) => [t.thread!.pid, t.thread!.tid, t.thread!.thread_name]);
    const chromeThreads = records.filter((r) => r.ph === 'M' && r.name === 'thread_name').map((r) => [r.pid, r.tid, r.args!['name']]);
    expect(threads).toEqual(chromeThreads);
    const processes = [...tracks.values()].filter((t) => t.process).map((t) => [t.process!.pid, t.process!.process_name]);
    expect(processes).toEqual(records.filter((r) => r.ph === 'M' && r.name === 'process_name').map((r) => [r.pid, r.args!['name']]));
    const lastTick = Math.max(...records.map((r) => r.ts + (r.dur ?? 0)));
    expect(Math.max(...events.map((e) => e.ts))).toBe(lastTick * 1000);
  });

  test('slices: calls on the thread, requests, waits and holds on its child tracks, each track nested', () => {
    const threadOf = new Map([...tracks.values()].filter((t) => t.thread).map((t) => [t.uuid, t.thread!.tid]));
    const begins = events.filter((e) => e.type === 'TYPE_SLICE_BEGIN');
    const onThreads = begins.filter((e) => threadOf.has(e.track_uuid));
    expect(onThreads.length).toBe(records.filter((r) => r.ph === 'B').length);
    const childName = (e: { track_uuid: number }) => tracks.get(e.track_uuid)!.name!;
    const requests = begins.filter((e) => childName(e) === 'request');
    expect(requests.map((e) => e.name)).toEqual(['cmdline #1', 'cmdline #2', 'cmdline #3', 'cmdline #4']);
    expect(begins.filter((e) => childName(e) === 'wait').length).toBe(records.filter((r) => r.cat === 'wait').length);
    const holds = begins.filter((e) => /^[a-z_]+ #\d+$/.test(childName(e) ?? ''));
    expect(holds.length).toBe(records.filter((r) => r.ph === 'b').length);
    expect(holds.some((e) => e.name === 'mmap_lock write')).toBe(true);
    // As a reader sorts them: by time, file order breaking ties; every track's slices nest.
    const sorted = events.map((e, i) => ({ e, i })).sort((x, y) => x.e.ts - y.e.ts || x.i - y.i).map((x) => x.e);
    const depth = new Map<number, number>();
    for (const e of sorted) {
      if (e.type === 'TYPE_SLICE_BEGIN') depth.set(e.track_uuid, (depth.get(e.track_uuid) ?? 0) + 1);
      if (e.type === 'TYPE_SLICE_END') {
        const d = (depth.get(e.track_uuid) ?? 0) - 1;
        expect(d, `end without begin on ${tracks.get(e.track_uuid)!.name ?? e.track_uuid}`).toBeGreaterThanOrEqual(0);
        depth.set(e.track_uuid, d);
      }
    }
    expect([...depth.values()].every((d) => d === 0)).toBe(true);
  });

  test('flows and counters: the chrome export\'s, id for id and value for value', () => {
    const starts = events.filter((e) => e.flow_ids).map((e) => e.flow_ids![0]);
    const ends = events.filter((e) => e.terminating_flow_ids).map((e) => e.terminating_flow_ids![0]);
    expect(starts).toEqual(records.filter((r) => r.ph === 's').map((r) => r.id));
    expect(ends).toEqual(records.filter((r) => r.ph === 'f').map((r) => r.id));
    const counters = events.filter((e) => e.type === 'TYPE_COUNTER').map((e) => [tracks.get(e.track_uuid)!.name, e.counter_value ?? 0]);
    expect(counters).toEqual(records.filter((r) => r.ph === 'C').map((r) => [r.name, Object.values(r.args!)[0]]));
    expect(counters.some(([name, n]) => /^mmap_lock #\d+ waiters$/.test(String(name)) && n === 1)).toBe(true);
  });

  test('binary is not written to a terminal', () => {
    const r = spawnSync('script', ['-qc', `node ${CLI} export ${file} --format=perfetto`, '/dev/null'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('mmtrace: --format=perfetto is binary: give --out=FILE.pftrace or redirect stdout');
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
    expect(r.stderr.trim()).toBe("mmtrace: --format must be one of chrome, perfetto, ndjson, got 'svg'");
    expect(existsSync(out)).toBe(false);
  });

  test('an export that fails leaves no partial file behind', () => {
    const outDir = tempDir();
    const r = mmtrace(['export', join(outDir, 'missing.db'), `--out=${join(outDir, 'x.json')}`]);
    expect(r.status).toBe(2);
    expect(readdirSync(outDir)).toEqual([]);
  });
});
