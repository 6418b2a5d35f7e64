/**
 * one_event() and no_event(): a kernel function that makes exactly one event (or, on a path, none)
 * returns the running task's LeafStep rather than being a generator. Its caller's `yield*` must see what the generator
 *   function* () { ...; yield emit.x(...); return v }
 * gives: the staged event ends the step (a preemption point, stamped with the task's tid), and the
 * value comes back when the task next runs, even when other tasks ran the same leaf in between.
 */
import { describe, expect, it } from 'vitest';
import { no_event, one_event, Sim } from '../src/sim/sim.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import type { Gen } from '../src/sim/task.js';
import { emit, kindByName } from '../src/trace/vocab/index.js';
import type { EventSink } from '../src/trace/sink.js';

const RCU_READ_LOCK = kindByName('rcu_read_lock')!.kind;

/** A leaf of one event: stages rcu_read_lock(nesting: n) and returns n * 10. */
function leaf(n: number): Gen<number> {
  emit.rcu_read_lock({ nesting: n });
  return one_event(n * 10);
}

/** The generator the leaf stands for. */
function* leafAsGenerator(n: number): Gen<number> {
  yield emit.rcu_read_lock({ nesting: n });
  return n * 10;
}

interface Stamped { tid: number; kind: number; a: number }

function run(seed: number, call: (n: number) => Gen<number>): { events: Stamped[]; got: Record<string, number[]> } {
  const events: Stamped[] = [];
  const sink: EventSink = { event: (_s, _t, tid, kind, a) => void events.push({ tid, kind, a }), name() {}, task() {} };
  const sim = new Sim({ sink, strategy: new RandomStrategy(seed) });
  const got: Record<string, number[]> = {};
  for (const who of ['a', 'b', 'c']) {
    got[who] = [];
    const base = who.charCodeAt(0) * 100;
    sim.spawn(who, function* () {
      for (let i = 0; i < 20; i++) got[who]!.push(yield* call(base + i));
    });
  }
  expect(sim.run().outcome).toBe('done');
  return { events: events.filter((e) => e.kind === RCU_READ_LOCK), got };
}

describe('one_event(): a one-event kernel step without a generator', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: every task gets its own value back, the events and the schedule are the generator's`, () => {
      const leaves = run(seed, leaf);
      const generators = run(seed, leafAsGenerator);
      expect(leaves).toEqual(generators);
      // each task's values, in order, although the tasks interleave inside the leaf
      for (const who of ['a', 'b', 'c']) {
        const base = who.charCodeAt(0) * 100;
        expect(leaves.got[who]).toEqual(Array.from({ length: 20 }, (_, i) => (base + i) * 10));
      }
      const tids = leaves.events.map((e) => e.tid);
      const switches = tids.filter((t, i) => i > 0 && t !== tids[i - 1]).length;
      expect(switches).toBeGreaterThan(5);
    });
  }
});

/** A step of none or one event: even n returns at once with n * 10, odd n stages rcu_read_lock first. */
function maybeLeaf(n: number): Gen<number> {
  if (n % 2 === 0) return no_event(n * 10);
  return leaf(n);
}

/** The generator it stands for. */
function* maybeLeafAsGenerator(n: number): Gen<number> {
  if (n % 2 === 0) return n * 10;
  return yield* leafAsGenerator(n);
}

/** Two steps in a row that make no event, then a leaf: the values of all three, one event. */
function* twoNothingsThenLeaf(n: number): Gen<number> {
  const a = yield* no_event(n);
  const b = yield* maybeLeaf(n * 2);
  return a + b + (yield* leaf(n));
}

function* twoNothingsThenLeafAsGenerator(n: number): Gen<number> {
  const a = n;
  const b = yield* maybeLeafAsGenerator(n * 2);
  return a + b + (yield* leafAsGenerator(n));
}

describe('no_event(): a kernel step that returns without an event, without a generator', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: the events, the schedule and every task's values are the generator's`, () => {
      const steps = run(seed, maybeLeaf);
      expect(steps).toEqual(run(seed, maybeLeafAsGenerator));
      // only the odd calls made an event
      expect(steps.events).toHaveLength(3 * 10);
      for (const who of ['a', 'b', 'c']) {
        const base = who.charCodeAt(0) * 100;
        expect(steps.got[who]).toEqual(Array.from({ length: 20 }, (_, i) => (base + i) * 10));
      }
      expect(run(seed, twoNothingsThenLeaf)).toEqual(run(seed, twoNothingsThenLeafAsGenerator));
    });
  }
});

describe('a one-event kernel call made without yield*: an error naming the lost event, not a log without it', () => {
  function runOne(body: () => Gen): () => void {
    const sim = new Sim({ sink: { event() {}, name() {}, task() {} }, strategy: new RandomStrategy(1) });
    sim.spawn('t', body);
    return () => void sim.run();
  }

  it('the event that ended the step replaced it', () => {
    expect(runOne(function* () {
      void leaf(1);
      yield emit.rcu_read_unlock({ nesting: 0 });
    })).toThrow(/staged a rcu_read_lock event that was never yielded \(a rcu_read_unlock event ended the step\): call it with yield\*/);
  });

  it('another leaf staged its own over it', () => {
    expect(runOne(function* () {
      void leaf(1);
      yield* leaf(2);
    })).toThrow(/staged a rcu_read_lock event that was never yielded \(another kernel call staged its own\)/);
  });

  it('a leaf without an event returned through the step it had', () => {
    expect(runOne(function* () {
      void leaf(1);
      yield* no_event(2);
    })).toThrow(/never yielded \(another kernel call returned through this step\)/);
  });

  it('the task returned with it staged', () => {
    expect(runOne(function* () {
      yield* leaf(1);
      void leaf(2);
    })).toThrow(/never yielded \(a task_exit event ended the step\)/);
  });

  it('every step taken: no error, whatever the mix', () => {
    expect(runOne(function* () {
      yield* leaf(1);
      yield* no_event(2);
      yield* maybeLeaf(4);
      yield* leafAsGenerator(4);
      yield* leaf(5);
    })).not.toThrow();
  });
});
