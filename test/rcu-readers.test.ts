/**
 * RCU's readers (kernel/rcu/tree.ts): a task stays listed between its sections (so an outermost
 * rcu_read_lock and rcu_read_unlock do not add and remove it each), and a grace period
 * waits for exactly the tasks inside a section when it starts, in the order their sections began.
 * Tasks that exited outside any section leave the list when a grace period starts.
 */
import { describe, expect, it } from 'vitest';
import { name, sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { rcu, rcu_read_lock, rcu_read_lock_held, rcu_read_unlock, synchronize_rcu } from '../src/linux/kernel/rcu/tree.js';
import { runBoot } from './helpers/harness.js';
import { spawnOutsider } from './helpers/tasks.js';

const W_HOLD = name('test: inside rcu_read_lock');

describe('RCU readers', () => {
  it('a grace period waits for the readers inside a section only; exited tasks leave the list', () => {
    const seen: Record<string, unknown> = {};
    const trace = runBoot(function* (): Gen {
      const inside = new Completion();
      for (const n of ['brief-1', 'brief-2']) {
        spawnOutsider(n, function* () {
          yield* rcu_read_lock();
          yield* rcu_read_unlock();
        });
      }
      spawnOutsider('holder', function* () {
        yield* rcu_read_lock();
        yield* rcu_read_lock();
        seen['held'] = rcu_read_lock_held();
        yield* complete_all(inside);
        yield* sim().sleep(50_000, W_HOLD);
        yield* rcu_read_unlock();
        seen['nested unlock: still held'] = rcu_read_lock_held();
        yield* rcu_read_unlock();
        seen['outside'] = rcu_read_lock_held();
      });
      spawnOutsider('sync', function* () {
        yield* wait_for_completion(inside);
        yield* sim().sleep(10_000, W_HOLD); // the brief readers are done by now
        seen['entries before'] = rcu().readers.length;
        yield* synchronize_rcu();
        seen['entries after'] = rcu().readers.map((t) => t.name);
      });
    }, { seed: 1 });
    expect(trace.result.outcome).toBe('done');
    const gpStarts = trace.of('rcu_gp_start');
    expect(gpStarts.map((e) => e.readers)).toEqual([1]); // the holder only
    expect(seen).toEqual({
      'held': true, 'nested unlock: still held': true, 'outside': false,
      'entries before': 3, 'entries after': ['holder'],
    });
  });
});
