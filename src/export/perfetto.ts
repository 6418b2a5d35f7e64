/**
 * Perfetto's native format: a Trace of TracePackets (protos/perfetto_trace.proto, encoded with
 * protobufjs), which Perfetto recommends over JSON. It carries the same timeline as the chrome
 * export (timeline.ts), record for record:
 *
 * - `M` process and thread names -> a process track and a thread track per task;
 * - `B`/`E` calls -> slice begin/end on the thread's track;
 * - `X` requests and waits -> a slice on a child track of the thread, one per kind ("request",
 *   "wait"): a TrackEvent has no duration, so each becomes a begin and an end, and on a track of
 *   their own they cannot interleave with the call slices around them;
 * - `b`/`e` lock holds -> a slice on a child track of the holder's thread, one per lock it holds
 *   ("mmap_lock #3"): holds of one task end in any order, which only separate tracks can show;
 * - `s`/`f` flows -> an instant on the thread's track carrying the flow id, or terminating it;
 * - `C` counters -> a counter track per counter.
 *
 * Event names, categories and argument names are interned on the one packet sequence. Time: a
 * virtual tick is 1000 ns (1 us, as in the chrome export); the first event, "mmtrace run" on a
 * track of that name, carries the run's metadata and says so.
 */
import protobuf from 'protobufjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunInfo, Trace } from '../trace/reader.js';
import { packageRoot } from '../version.js';
import type { Exporter } from './exporter.js';
import type { Out } from './out.js';
import { timeline, timelineMetadata, type TraceRecord } from './timeline.js';

/** The .proto subset, read once per process. */
let tracePacketType: protobuf.Type | undefined;

/**
 * perfetto.protos.TracePacket and Trace, from protos/perfetto_trace.proto. Field names stay as the
 * .proto spells them (snake_case), as Perfetto's documentation does.
 */
export function perfettoTypes(): { TracePacket: protobuf.Type; Trace: protobuf.Type } {
  const source = readFileSync(join(packageRoot(), 'protos', 'perfetto_trace.proto'), 'utf8');
  const { root } = protobuf.parse(source, { keepCase: true });
  return { TracePacket: root.lookupType('perfetto.protos.TracePacket'), Trace: root.lookupType('perfetto.protos.Trace') };
}

const NS_PER_TICK = 1000;
/** All packets are on one sequence: the interned names are valid across the whole trace. */
const SEQUENCE_ID = 1;
const SEQ_INCREMENTAL_STATE_CLEARED = 1;
const SEQ_NEEDS_INCREMENTAL_STATE = 2;
/** Trace.packet is field 1, length-delimited: each packet goes out as this tag, its size, itself. */
const PACKET_TAG = (1 << 3) | 2;

const TYPE_SLICE_BEGIN = 1;
const TYPE_SLICE_END = 2;
const TYPE_INSTANT = 3;
const TYPE_COUNTER = 4;

type Packet = Record<string, unknown>;
type InternedData = { event_names?: Interned[]; event_categories?: Interned[]; debug_annotation_names?: Interned[] };
type Interned = { iid: number; name: string };

/** Strings given small ids on first use; `fresh` holds those the next packet must define. */
class InternTable {
  private readonly ids = new Map<string, number>();
  fresh: Interned[] = [];

  iid(name: string): number {
    let iid = this.ids.get(name);
    if (iid === undefined) {
      iid = this.ids.size + 1;
      this.ids.set(name, iid);
      this.fresh.push({ iid, name });
    }
    return iid;
  }

  /** The definitions made since the last call. */
  take(): Interned[] | undefined {
    if (this.fresh.length === 0) return undefined;
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }
}

/** A record's args as debug annotations: numbers, text and booleans as they are, anything else as JSON. */
function annotationValue(v: unknown): Record<string, unknown> {
  if (typeof v === 'number') return Number.isInteger(v) ? { int_value: v } : { double_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  return { string_value: JSON.stringify(v) };
}

export function perfettoExport(trace: Trace, run: RunInfo, out: Out): Exporter {
  tracePacketType ??= perfettoTypes().TracePacket;
  const TracePacket = tracePacketType;
  const names = new InternTable();
  const categories = new InternTable();
  const argNames = new InternTable();
  let nextUuid = 1;
  let firstPacket = true;

  const write = (packet: Packet) => {
    packet['trusted_packet_sequence_id'] = SEQUENCE_ID;
    packet['sequence_flags'] = firstPacket ? SEQ_INCREMENTAL_STATE_CLEARED : SEQ_NEEDS_INCREMENTAL_STATE;
    firstPacket = false;
    const w = protobuf.Writer.create().uint32(PACKET_TAG).fork();
    TracePacket.encode(packet, w);
    out.write(w.ldelim().finish());
  };
  const describe = (track: Packet): number => {
    const uuid = nextUuid++;
    write({ track_descriptor: { uuid, ...track } });
    return uuid;
  };
  /** A track event at `ts` ticks, with whatever it interns defined in the same packet. */
  const event = (ts: number, trackEvent: Packet) => {
    const packet: Packet = { timestamp: ts * NS_PER_TICK, track_event: trackEvent };
    const interned: InternedData = {};
    const eventNames = names.take();
    const eventCategories = categories.take();
    const annotationNames = argNames.take();
    if (eventNames) interned.event_names = eventNames;
    if (eventCategories) interned.event_categories = eventCategories;
    if (annotationNames) interned.debug_annotation_names = annotationNames;
    if (eventNames || eventCategories || annotationNames) packet['interned_data'] = interned;
    write(packet);
  };
  const named = (r: { name: string; cat?: string; args?: Record<string, unknown> }): Packet => {
    const fields: Packet = { name_iid: names.iid(r.name) };
    if (r.cat) fields['category_iids'] = r.cat.split(',').map((c) => categories.iid(c));
    const args = Object.entries(r.args ?? {}).filter(([, v]) => v !== undefined && v !== null);
    if (args.length > 0) fields['debug_annotations'] = args.map(([k, v]) => ({ name_iid: argNames.iid(k), ...annotationValue(v) }));
    return fields;
  };

  // Tracks, each described once, the first time a record needs it.
  const processTracks = new Map<number, number>();
  const threadTracks = new Map<number, number>();
  const childTracks = new Map<string, number>();
  const counterTracks = new Map<string, number>();
  /** Async hold id -> the track its begin went on (its end carries no lock). */
  const holdTracks = new Map<number, number>();

  const processTrack = (pid: number, name?: string) => {
    let uuid = processTracks.get(pid);
    if (uuid === undefined) processTracks.set(pid, (uuid = describe({ process: { pid, process_name: name } })));
    return uuid;
  };
  const threadTrack = (pid: number, tid: number, name?: string) => {
    let uuid = threadTracks.get(tid);
    if (uuid === undefined) threadTracks.set(tid, (uuid = describe({ thread: { pid, tid, thread_name: name } })));
    return uuid;
  };
  const childTrack = (r: TraceRecord, name: string) => {
    const key = `${r.tid}/${name}`;
    let uuid = childTracks.get(key);
    if (uuid === undefined) childTracks.set(key, (uuid = describe({ parent_uuid: threadTrack(r.pid, r.tid), name })));
    return uuid;
  };
  const counterTrack = (name: string) => {
    let uuid = counterTracks.get(name);
    if (uuid === undefined) counterTracks.set(name, (uuid = describe({ name, counter: {} })));
    return uuid;
  };

  const slice = (r: TraceRecord, track: number, from: number, to: number) => {
    event(from, { type: TYPE_SLICE_BEGIN, track_uuid: track, ...named(r) });
    event(to, { type: TYPE_SLICE_END, track_uuid: track });
  };
  const holdTrack = (r: TraceRecord) => {
    const lockClass = r.cat!.split(',')[1];
    return childTrack(r, `${lockClass} #${r.args!['lock']}`);
  };

  const put = (r: TraceRecord) => {
    switch (r.ph) {
      case 'M':
        if (r.name === 'process_name') processTrack(r.pid, String(r.args!['name']));
        else threadTrack(r.pid, r.tid, String(r.args!['name']));
        return;
      case 'B':
        return event(r.ts, { type: TYPE_SLICE_BEGIN, track_uuid: threadTrack(r.pid, r.tid), ...named(r) });
      case 'E':
        return event(r.ts, { type: TYPE_SLICE_END, track_uuid: threadTrack(r.pid, r.tid), ...named({ name: r.name, args: r.args }) });
      case 'X':
        return slice(r, childTrack(r, r.cat!), r.ts, r.ts + r.dur!);
      case 'b': {
        const track = holdTrack(r);
        holdTracks.set(r.id!, track);
        return event(r.ts, { type: TYPE_SLICE_BEGIN, track_uuid: track, ...named(r) });
      }
      case 'e': {
        const track = holdTracks.get(r.id!);
        holdTracks.delete(r.id!);
        if (track !== undefined) event(r.ts, { type: TYPE_SLICE_END, track_uuid: track });
        return;
      }
      case 's':
        return event(r.ts, { type: TYPE_INSTANT, track_uuid: threadTrack(r.pid, r.tid), flow_ids: [r.id], ...named(r) });
      case 'f':
        return event(r.ts, { type: TYPE_INSTANT, track_uuid: threadTrack(r.pid, r.tid), terminating_flow_ids: [r.id], ...named(r) });
      case 'C':
        return event(r.ts, { type: TYPE_COUNTER, track_uuid: counterTrack(r.name), counter_value: Object.values(r.args!)[0] });
    }
  };

  const { mmtrace, time } = timelineMetadata(trace, run);
  const runTrack = describe({ name: 'mmtrace run' });
  event(0, { type: TYPE_INSTANT, track_uuid: runTrack, ...named({ name: 'mmtrace run', args: { ...mmtrace, time } }) });
  return { reducers: timeline(trace, run, put), finish() {} };
}
