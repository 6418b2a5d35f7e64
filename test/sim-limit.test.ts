/**
 * The event limit (Sim maxEvents, `record --max-events` and `--max-bytes`): a run cut at N events
 * has exactly N + 1, the last its event_limit event -- also when the limit falls where the clock
 * would move on to a sleeper's wake-up, whose timer event would otherwise come past it.
 */
import { describe, expect, it } from 'vitest';
import { name, Sim, sim } from '../src/sim/sim.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import type { Gen } from '../src/sim/task.js';
import { emit, kindByName } from '../src/trace/vocab/index.js';

const EVENT_LIMIT = kindByName('event_limit')!.kind;
const NAP = name('test: nap');

describe('the event limit', () => {
  it('a run cut at N events has N + 1, whatever the next event would have been (a task step, a timer)', () => {
    for (let limit = 1; limit <= 40; limit++) {
      const kinds: number[] = [];
      const s = new Sim({ sink: { event: (_q, _t, _tid, kind) => void kinds.push(kind), name() {}, task() {} }, strategy: new RandomStrategy(1), maxEvents: limit });
      // One task that sleeps after every event: at many limits nothing is runnable, and the next
      // event would be the sleeper's timer.
      s.spawn('napper', function* (): Gen {
        for (;;) {
          yield emit.rcu_read_lock({ nesting: 1 });
          yield* sim().sleep(5, NAP);
        }
      });
      const r = s.run();
      expect(r.outcome, `limit ${limit}`).toBe('limit');
      expect(r.events, `limit ${limit}`).toBe(limit + 1);
      expect(kinds.at(-1)).toBe(EVENT_LIMIT);
      expect(kinds.filter((k) => k === EVENT_LIMIT)).toHaveLength(1);
    }
  });
});
