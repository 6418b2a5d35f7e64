/**
 * perKernel(): a module's per-kernel singleton found by its slot. Each kernel has its own, created
 * once on first use, and the same object is what `subsystems` holds under its key.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, Kernel, perKernel } from '../src/linux/kernel.js';
import { Sim } from '../src/sim/sim.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { NULL_SINK } from '../src/trace/sink.js';

function newKernel(): Kernel {
  return new Kernel({ ...DEFAULT_CONFIG }, new Sim({ sink: NULL_SINK, strategy: new RandomStrategy(1) }));
}

describe('perKernel', () => {
  it('gives each kernel its own singleton, created once, the one subsystems holds by key', () => {
    let created = 0;
    const counter = perKernel('test-counter', () => ({ n: ++created }));
    const a = newKernel();
    const b = newKernel();
    const ofA = counter(a);
    expect(counter(a)).toBe(ofA);
    const ofB = counter(b);
    expect(ofB).not.toBe(ofA);
    expect([ofA.n, ofB.n, created]).toEqual([1, 2, 2]);
    expect(a.subsystems.get('test-counter')).toBe(ofA);
    expect(b.subsystems.get('test-counter')).toBe(ofB);
  });

  it('finds the running kernel without an argument, and one made by key first', () => {
    const k = newKernel();
    const made = k.subsystem('test-first', () => ({ by: 'key' }));
    const first = perKernel('test-first', () => ({ by: 'slot' }));
    expect(k.sim.inside(() => first())).toBe(made);
  });
});
