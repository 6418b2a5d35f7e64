/**
 * traced() (kernel/ftrace.ts): a traced call is call_enter, the body's events, call_exit, and the
 * body's return value, with the function on the task's emulated stack for exactly the body's
 * steps -- nested calls included, and a body that ends without an event of its own.
 */
import { describe, expect, it } from 'vitest';
import type { Gen } from '../src/sim/task.js';
import { traced } from '../src/linux/kernel/ftrace.js';
import { rcu_read_lock, rcu_read_unlock } from '../src/linux/kernel/rcu/tree.js';
import { current_task } from '../src/linux/kernel/sched.js';
import { runBoot } from './helpers/harness.js';

describe('a traced call', () => {
  it('brackets the body with call_enter/call_exit, keeps the stack, and returns the body\'s value', () => {
    const stacks: string[][] = [];
    const leaf = traced('test_leaf', function* (_obj: object, addr: number): Gen<{ id: number }> {
      stacks.push([...current_task().stack]);
      yield* rcu_read_lock();
      yield* rcu_read_unlock();
      return { id: addr + 1 };
    });
    const quiet = traced('test_quiet', function* (): Gen<boolean> {
      return true;
    });
    const outer = traced('test_outer', function* (addr: number): Gen<number> {
      const found = yield* leaf({}, addr);
      const ok = yield* quiet();
      stacks.push([...current_task().stack]);
      return ok ? found.id * 2 : -1;
    });
    let result = 0;
    const t = runBoot(function* (): Gen {
      result = yield* outer(0x1000);
      stacks.push([...current_task().stack]);
    });

    expect(result).toBe(0x1001 * 2);
    expect(stacks.map((s) => s.filter((f) => f.startsWith('test_')))).toEqual([['test_outer', 'test_leaf'], ['test_outer'], []]);
    const calls = t.events.filter((e) => e.kind === 'call_enter' || e.kind === 'call_exit' || e.kind.startsWith('rcu_read'))
      .filter((e) => !('fn' in e) || String(e.fn).startsWith('test_'))
      .map((e) => (e.kind === 'call_enter' ? `enter ${e.fn} ${e.arg}` : e.kind === 'call_exit' ? `exit ${e.fn} ${e.ret}` : e.kind));
    expect(calls).toEqual([
      `enter test_outer ${0x1000}`,
      `enter test_leaf ${0x1000}`,
      'rcu_read_lock',
      'rcu_read_unlock',
      `exit test_leaf ${0x1001}`,
      'enter test_quiet 0',
      'exit test_quiet 1',
      `exit test_outer ${0x2002}`,
    ]);
  });

  it('of a body that is not a generator function (it returns another call) is the same call', () => {
    const inner = traced('test_inner', function* (addr: number): Gen<number> {
      yield* rcu_read_lock();
      yield* rcu_read_unlock();
      return addr + 1;
    });
    const forwarding = traced('test_forwarding', (addr: number): Gen<number> => inner(addr));
    let result = 0;
    const t = runBoot(function* (): Gen {
      result = yield* forwarding(0x2000);
    });
    expect(result).toBe(0x2001);
    const calls = t.events.filter((e) => (e.kind === 'call_enter' || e.kind === 'call_exit') && String(e.fn).startsWith('test_'))
      .map((e) => (e.kind === 'call_enter' ? `enter ${e.fn}` : e.kind === 'call_exit' ? `exit ${e.fn} ${e.ret}` : ''));
    expect(calls).toEqual(['enter test_forwarding', 'enter test_inner', `exit test_inner ${0x2001}`, `exit test_forwarding ${0x2001}`]);
  });
});
