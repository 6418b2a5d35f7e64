/**
 * The aggregates (src/reduce/aggregates.ts) and the dispatch that feeds every reducer
 * (src/reduce/dispatch.ts), against the log read plainly: each event decoded on its own and
 * counted here, so a kind the Aggregator's per-kind table misses, or an event the dispatch does
 * not hand over, shows as a difference.
 */
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { Aggregator, aggregateRun } from '../src/reduce/aggregates.js';
import { readRun } from '../src/reduce/read-run.js';
import { Dispatch } from '../src/reduce/dispatch.js';
import { reducerOf, type ColumnReducer } from '../src/reduce/reducer.js';
import { makeBlock, openTrace, rowOfBlock } from '../src/trace/reader.js';
import { Decoder, kindByName, type TraceEvent } from '../src/trace/vocab/index.js';
import { tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

/** Every event of a run, each decoded into an object of its own. */
async function eventsOf(file: string, name: string): Promise<TraceEvent[]> {
  const trace = await openTrace(file);
  try {
    const run = trace.resolveRun(name);
    const decoder = new Decoder(trace.names(run.id));
    const out: TraceEvent[] = [];
    for (const b of trace.eventBlocks(run.id)) for (let i = 0; i < b.count; i++) out.push(decoder.decode(rowOfBlock(b, i)));
    return out;
  } finally {
    trace.close();
  }
}

const count = (map: Record<string, number>, key: string, by = 1) => {
  map[key] = (map[key] ?? 0) + by;
};

describe('aggregates of a recorded run', () => {
  test('count what the log holds: events by kind, lock acquisitions, page-table reads, folio references, bytes copied; the run ends at its last event\'s tick', async () => {
    const file = join(tempDir(), 'cmdline-poll.db');
    await recordHere('cmdline-poll', ['--path=gup,fast', `--out=${file}`]);
    for (const name of ['gup', 'fast']) {
      const events = await eventsOf(file, name);
      const byKind: Record<string, number> = {};
      const locks: Record<string, number> = {};
      const contended: Record<string, number> = {};
      const levels: Record<string, number> = {};
      let [gets, puts, bytes] = [0, 0, 0];
      for (const e of events) {
        count(byKind, e.kind);
        if (e.kind === 'rwsem_acquire') count(locks, `${e.class}/${e.mode}`);
        if (e.kind === 'rwsem_acquire' && e.how === 'woken') count(contended, `${e.class}/${e.mode}`);
        if (e.kind === 'spin_lock') count(locks, `${e.class}/spin`);
        if (e.kind === 'spin_lock' && e.waited) count(contended, `${e.class}/spin`);
        if (e.kind === 'vma_start_read') count(locks, e.result === 'ok' ? 'vma/read' : 'vma/read-failed');
        if (e.kind === 'vma_start_write') count(locks, 'vma/write');
        if (e.kind === 'vma_start_write' && e.waited) count(contended, 'vma/write');
        if (e.kind === 'pgtable_read') count(levels, e.level);
        if (e.kind === 'folio_get' || e.kind === 'folio_try_get') gets++;
        if (e.kind === 'folio_put') puts++;
        if (e.kind === 'copy') bytes += e.len;
      }
      const trace = await openTrace(file);
      const agg = aggregateRun(trace, trace.resolveRun(name));
      trace.close();
      expect(agg.events).toBe(events.length);
      expect(agg.byKind).toEqual(byKind);
      expect(Object.keys(agg.byKind)).toEqual(Object.keys(byKind)); // in the order kinds first appear
      expect(agg.lockAcquisitions).toEqual(locks);
      expect(agg.lockContended).toEqual(contended);
      expect(agg.pgtableReads).toEqual(levels);
      expect([agg.folioGets, agg.folioPuts, agg.bytesCopied]).toEqual([gets, puts, bytes]);
      expect(agg.ticks).toBe(events.at(-1)!.tick);
      expect(agg.ticks).toBeGreaterThan(0);
    }
  });

  test('readRun hands each reducer its kinds, in order, with the reducers before it already fed', async () => {
    const file = join(tempDir(), 'cross-vma-race.db');
    await recordHere('cross-vma-race', [`--out=${file}`]);
    const events = await eventsOf(file, 'gup');
    const trace = await openTrace(file);
    try {
      const seen: string[] = [];
      const copies: number[] = [];
      const all = { event: (e: TraceEvent) => seen.push(`${e.seq}:${e.kind}`) };
      // fed after `all`: the last event `all` saw is this copy
      const copiesAfterAll = reducerOf({ copy: (e) => copies.push(seen.at(-1) === `${e.seq}:copy` ? e.seq : -e.seq) });
      readRun(trace, trace.resolveRun('gup'), [all, copiesAfterAll]);
      expect(seen).toEqual(events.map((e) => `${e.seq}:${e.kind}`));
      const copySeqs = events.filter((e) => e.kind === 'copy').map((e) => e.seq);
      expect(copySeqs.length).toBeGreaterThan(0);
      expect(copies).toEqual(copySeqs);
    } finally {
      trace.close();
    }
  });

  test('a column reducer is handed every event undecoded, after the decoding reducers of the same event; a kind only it reads is never decoded', async () => {
    const file = join(tempDir(), 'cross-vma-race.db');
    await recordHere('cross-vma-race', [`--out=${file}`]);
    const events = await eventsOf(file, 'gup');
    const trace = await openTrace(file);
    const decoded = vi.spyOn(Decoder.prototype, 'viewAt');
    try {
      const seen: string[] = [];
      const columns: ColumnReducer = {
        column: (b, i, code) => seen.push(`${b.firstSeq + i}:${b.tid[i]}:${code}:${b.a[i]}`),
      };
      const copies = reducerOf({ copy: (e) => seen.push(`copy ${e.seq}`) });
      // listed first, fed last
      readRun(trace, trace.resolveRun('gup'), [columns, copies]);
      const asStored = (e: TraceEvent) => {
        const def = kindByName(e.kind)!;
        const a = (e as unknown as Record<string, unknown>)[def.fields[0]!];
        const type = def.types[0];
        const stored = typeof type === 'object' && type.kind === 'enum' ? type.codes[a as string]
          : type === 'bool' ? Number(a) : type === 'name' ? trace.names(trace.resolveRun('gup').id).indexOf(a as string) : a ?? 0;
        return `${e.seq}:${e.tid}:${def.kind}:${String(stored)}`;
      };
      expect(seen).toEqual(events.flatMap((e) => (e.kind === 'copy' ? [`copy ${e.seq}`, asStored(e)] : [asStored(e)])));
      expect(decoded).toHaveBeenCalledTimes(events.filter((e) => e.kind === 'copy').length);
    } finally {
      decoded.mockRestore();
      trace.close();
    }
  });

  test('kinds this build does not know count together as `unknown`, every event of them', () => {
    const aggregator = new Aggregator({ names: [''], taskNames: new Map() });
    const block = makeBlock(4);
    [200, 200, 200, 250].forEach((code, i) => {
      block.kind[i] = code;
      block.tick[i] = 10 * (i + 1);
    });
    block.count = 4;
    for (let i = 0; i < 4; i++) aggregator.column(block, i, block.kind[i]!);
    const agg = aggregator.result();
    expect(agg.events).toBe(4);
    expect(agg.byKind).toEqual({ unknown: 4 });
    expect(agg.ticks).toBe(40);
  });

  test('online (Dispatch.event), a column reducer gets each event as event 0 of a block of one', () => {
    const got: number[][] = [];
    const dispatch = new Dispatch([{ column: (b, i, code) => got.push([b.firstSeq + i, b.tick[i]!, b.tid[i]!, code, b.a[i]!, b.b[i]!, b.c[i]!, b.d[i]!, b.data.get(i)?.length ?? -1]) }], ['']);
    const copy = kindByName('copy')!.kind;
    dispatch.event(7, 120, 3, copy, 0x7000, 8, 1, 99, undefined);
    dispatch.event(8, 130, 4, copy, 0x8000, 16, 2, 98, new Uint8Array(5));
    expect(got).toEqual([[7, 120, 3, copy, 0x7000, 8, 1, 99, -1], [8, 130, 4, copy, 0x8000, 16, 2, 98, 5]]);
    expect(dispatch.wants(copy)).toBe(true);
  });

  test('each kind goes to its reducers in their order, once each, and through reducerOf\'s own fold of it', () => {
    const calls: string[] = [];
    const rcu = kindByName('rcu_read_lock')!.kind;
    const copy = kindByName('copy')!.kind;
    const dispatch = new Dispatch([
      // a kind named twice, and one this build does not know, add nothing
      { kinds: ['rcu_read_lock', 'rcu_read_lock', 'no_such_kind' as 'copy'], event: (e) => calls.push(`first ${e.kind}`) },
      reducerOf({ rcu_read_lock: (e) => calls.push(`second ${e.kind} ${e.nesting}`) }),
      { event: (e) => calls.push(`every ${e.kind}`) },
    ], ['']);
    dispatch.event(1, 1, 1, rcu, 2, 0, 0, 0, undefined);
    dispatch.event(2, 2, 1, copy, 0x7000, 8, 1, 99, undefined);
    expect(calls).toEqual(['first rcu_read_lock', 'second rcu_read_lock 2', 'every rcu_read_lock', 'every copy']);
  });
});
