/**
 * Frames (sim/frame.ts; `framed()` makes any generator function's calls frames): the scheduler resumes a task's innermost frame directly, and the chain above
 * it is resumed only when the frame finishes. The task must not be able to tell: the same events in
 * the same schedule, the same values, and exceptions caught by the same callers as with plain
 * generators.
 */
import { describe, expect, it } from 'vitest';
import { framed } from '../src/sim/frame.js';
import { one_event, Sim } from '../src/sim/sim.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { asGeneratorFunction, type Gen } from '../src/sim/task.js';
import type { EventSink } from '../src/trace/sink.js';
import { emit } from '../src/trace/vocab/index.js';

/** An iterator that counts how often it is resumed, around another. */
class Counted<T> implements Gen<T> {
  resumes = 0;
  constructor(private readonly inner: Gen<T>) {}
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorResult<0, T> {
    this.resumes++;
    return this.inner.next();
  }
  return(value: T): IteratorResult<0, T> {
    return this.inner.return(value);
  }
  throw(e: unknown): IteratorResult<0, T> {
    return this.inner.throw(e);
  }
}

type Call = <T>(body: Gen<T>) => Gen<T>;
const asFrame: Call = (body) => framed(() => body)();
const asGenerator: Call = (body) => body;

/** A one-event leaf (sim.ts one_event): its rcu_read_lock event shows `n`, and it returns `n`. */
function one_event_of(n: number): Gen<number> {
  emit.rcu_read_lock({ nesting: n });
  return one_event(n);
}

function* events(n: number, tag: number): Gen {
  for (let i = 0; i < n; i++) yield emit.rcu_read_lock({ nesting: tag + i });
}

/** A path of nested calls: values returned through them, one that ends without an event, and one that throws. */
function* path(call: Call, tag: number, log: string[]): Gen<number> {
  const inner = function* (k: number): Gen<number> {
    yield* events(k, tag);
    return k * 2;
  };
  const quiet = function* (): Gen<string> {
    return 'quiet';
  };
  const failing = function* (): Gen {
    yield* events(2, tag);
    throw new Error(`failed ${tag}`);
  };
  const outer = function* (): Gen<number> {
    const a = yield* call(inner(3));
    log.push(yield* call(quiet()));
    try {
      yield* call(failing());
    } catch (e) {
      log.push((e as Error).message);
      yield* events(1, tag + 100);
    } finally {
      log.push('finally');
    }
    return a + (yield* call(inner(2)));
  };
  return yield* call(outer());
}

interface Seen { tid: number; a: number }

function run(seed: number, call: Call): { events: Seen[]; logs: Record<string, string[]> } {
  const seen: Seen[] = [];
  const sink: EventSink = { event: (_s, _t, tid, _k, a) => void seen.push({ tid, a }), name() {}, task() {} };
  const sim = new Sim({ sink, strategy: new RandomStrategy(seed) });
  const logs: Record<string, string[]> = {};
  for (const who of [1, 2, 3]) {
    const log: string[] = (logs[who] = []);
    sim.spawn(`t${who}`, function* () {
      for (let i = 0; i < 5; i++) log.push(String(yield* path(call, who * 1000 + i * 10, log)));
    });
  }
  expect(sim.run().outcome).toBe('done');
  return { events: seen, logs };
}

describe('a frame', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: the events, the schedule, the values and the caught exceptions are the generators'`, () => {
      const framed = run(seed, asFrame);
      expect(framed).toEqual(run(seed, asGenerator));
      expect(framed.logs['1']!.slice(0, 4)).toEqual(['quiet', 'failed 1000', 'finally', '10']);
      const tids = framed.events.map((e) => e.tid);
      expect(tids.filter((t, i) => i > 0 && t !== tids[i - 1]).length).toBeGreaterThan(10);
    });
  }

  it('is resumed by the scheduler: the frames above it are not resumed for its events', () => {
    const sim = new Sim({ sink: { event() {}, name() {}, task() {} }, strategy: new RandomStrategy(1) });
    let above: Counted<void> | undefined;
    sim.spawn('t', function* () {
      above = new Counted(framed(events)(50, 0));
      yield* above;
    });
    sim.run();
    // the first step (through the chain) and the step that collects the return: not one per event
    expect(above!.resumes).toBe(2);
  });

  it('steps its body with the generators\' own next(), whatever next the body object shows', () => {
    const sim = new Sim({ sink: { event() {}, name() {}, task() {} }, strategy: new RandomStrategy(1) });
    let got = 0;
    const body = function* (): Gen<number> {
      yield* events(3, 0);
      return 7;
    };
    // A site that resumes many functions' bodies must not look next() up on each (task.ts,
    // generatorStep): the one body's generators would find here is never called.
    Object.defineProperty(body.prototype, 'next', { value: () => { throw new Error('looked up'); } });
    sim.spawn('t', function* () {
      got = yield* framed(body)();
    });
    expect(sim.run().outcome).toBe('done');
    expect(got).toBe(7);
  });

  it('of a function that is not a generator function runs what it returns: a leaf\'s step, another frame', () => {
    const seen: number[] = [];
    const sim = new Sim({ sink: { event: (_s, _t, _tid, _k, a) => void seen.push(a), name() {}, task() {} }, strategy: new RandomStrategy(1) });
    const inner = framed(function* (n: number): Gen<number> {
      yield* events(n, 10);
      return n;
    });
    const returnsFrame = framed((n: number) => inner(n));
    const returnsLeaf = framed((n: number) => one_event_of(n));
    const got: number[] = [];
    sim.spawn('t', function* () {
      got.push(yield* returnsFrame(2));
      got.push(yield* returnsLeaf(30));
    });
    expect(sim.run().outcome).toBe('done');
    expect(got).toEqual([2, 30]);
    expect(seen.slice(1, -1)).toEqual([10, 11, 30]);
  });

  it('of a generator function runs its generators as they are: no wrapper', () => {
    const gen = function* (): Gen {};
    const notGen = (): Gen => gen();
    expect(asGeneratorFunction(gen)).toBe(gen);
    expect(asGeneratorFunction(notGen)).not.toBe(notGen);
    expect(Object.getPrototypeOf(asGeneratorFunction(notGen))).toBe(Object.getPrototypeOf(gen));
  });

  it('that ends without an event returns through its caller, and never waits on the task\'s frames', () => {
    const sim = new Sim({ sink: { event() {}, name() {}, task() {} }, strategy: new RandomStrategy(1) });
    const got: string[] = [];
    const task = sim.spawn('t', function* () {
      got.push(yield* framed(function* (): Gen<string> { return 'at once'; })());
      got.push(`frames ${task.frames.length}`);
      yield emit.rcu_read_lock({ nesting: 1 });
    });
    sim.run();
    expect(got).toEqual(['at once', 'frames 0']);
  });

  it('closed by its caller, closes the calls it is in: every finally runs, and nothing of them runs on', () => {
    const seen: number[] = [];
    const sim = new Sim({ sink: { event: (_s, _t, _tid, _k, a) => void seen.push(a), name() {}, task() {} }, strategy: new RandomStrategy(1) });
    const log: string[] = [];
    const inner = framed(function* (): Gen {
      try {
        yield* events(3, 100);
      } finally {
        log.push('inner finally');
      }
    });
    const outer = framed(function* (): Gen {
      try {
        yield* inner();
        yield* events(3, 200);
      } finally {
        log.push('outer finally');
      }
    });
    const task = sim.spawn('t', function* () {
      const call = outer();
      call.next(); // to inner's first event
      call.return(undefined);
      yield* events(2, 900);
    });
    expect(sim.run().outcome).toBe('done');
    expect(log).toEqual(['inner finally', 'outer finally']);
    // inner's first event was staged outside a step of the task's own, and is overwritten: none of 1xx, 2xx
    expect(seen.filter((a) => a >= 100 && a < 1000)).toEqual([900, 901]);
    expect(task.frames).toEqual([]);
  });

  it('finishing under a call that was stepped without yield* and dropped: an error, not a run that spins', () => {
    const sim = new Sim({ sink: { event() {}, name() {}, task() {} }, strategy: new RandomStrategy(1) });
    const dropped = framed(function* (): Gen {
      yield* events(3, 100);
    });
    const outer = framed(function* (): Gen<number> {
      yield* events(1, 200);
      void dropped().next();
      return 1;
    });
    sim.spawn('t', function* () {
      yield* outer();
    });
    expect(() => sim.run()).toThrow(/stepped without yield\* and dropped/);
  });
});
