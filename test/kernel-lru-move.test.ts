/**
 * lru_move_to_flagged_list(): the folio onto the list its flags name, with lru_lock held. A step of
 * one event, of none (the folio is where its flags say), or the multi-gen LRU's steps (a new folio
 * into a generation; an active one off its generation and into a young one). The workloads reach
 * the first only; these tests take each branch on purpose.
 */
import { describe, expect, test } from 'vitest';
import { spin_lock, spin_unlock } from '../src/linux/kernel/locking/spinlock.js';
import { type Folio, PG_active, folio_alloc, lru_move_to_flagged_list, lruvec_del_folio } from '../src/linux/mm/folio.js';
import { lru_lock } from '../src/linux/mm/swap.js';
import { sim } from '../src/sim/sim.js';
import type { Gen } from '../src/sim/task.js';
import { runBoot } from './helpers/harness.js';

/** Events each of the steps below made, and the folio's lru_move events as [from, to]. */
function moves(lruGen: boolean): { made: number[]; lruMoves: [string, string][] } {
  const made: number[] = [];
  let folio: Folio | undefined;
  const t = runBoot(function* (): Gen {
    folio = yield* folio_alloc(0, true);
    const f = folio;
    const counted = function* (step: () => Gen): Gen {
      const before = sim().seq;
      yield* step();
      made.push(sim().seq - before);
    };
    yield* spin_lock(lru_lock());
    yield* counted(() => lru_move_to_flagged_list(f)); // new: onto a list (a generation)
    yield* counted(() => lru_move_to_flagged_list(f)); // where its flags say: nothing
    f.flags |= PG_active;
    yield* counted(() => lru_move_to_flagged_list(f)); // activation
    yield* counted(() => lru_move_to_flagged_list(f)); // where its flags say again: nothing
    yield* counted(() => lruvec_del_folio(f)); // off its list
    yield* spin_unlock(lru_lock());
  }, { config: { lru_gen_enabled: lruGen } });
  expect(t.result.outcome).toBe('done');
  const lruMoves = t.of('lru_move', undefined, (e) => e.folio === folio!.id).map((e): [string, string] => [e.from, e.to]);
  return { made, lruMoves };
}

describe('lru_move_to_flagged_list', () => {
  test('classic LRU: one event a move, none when the folio is on its list already', () => {
    const { made, lruMoves } = moves(false);
    expect(made).toEqual([1, 0, 1, 0, 1]);
    expect(lruMoves).toEqual([['none', 'inactive_anon'], ['inactive_anon', 'active_anon'], ['active_anon', 'none']]);
  });

  test('multi-gen LRU: into a generation, nothing while inactive on it, off and back on for activation', () => {
    const { made, lruMoves } = moves(true);
    expect(made[1]).toBe(0);
    expect(made[3]).toBe(0);
    // a generation move is its flags (folio_flags) and its list (lru_move)
    expect(made[0]).toBe(2);
    expect(made[2]).toBe(4);
    expect(lruMoves.map(([from, to]) => [from === 'none' ? 'none' : 'gen', to === 'none' ? 'none' : 'gen'])).toEqual([
      ['none', 'gen'], ['gen', 'none'], ['none', 'gen'], ['gen', 'none'],
    ]);
  });
});
