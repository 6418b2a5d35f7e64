/**
 * The facts pass (src/diff/facts.ts) on ad-hoc workloads recorded to a log: what it attributes to a
 * request, and what it must not.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runFacts } from '../src/diff/facts.js';
import { DEFAULT_CONFIG } from '../src/linux/kernel.js';
import { Completion, complete_all, wait_for_completion } from '../src/linux/kernel/completion.js';
import { user_access } from '../src/linux/arch/x86/mm/fault.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, sys_mmap } from '../src/linux/mm/mmap.js';
import { PAGE_SIZE } from '../src/linux/mm/mm_types.js';
import type { ObservedEvent } from '../src/sim/directed.js';
import { RandomStrategy } from '../src/sim/strategy.js';
import { openTrace } from '../src/trace/reader.js';
import { Recorder } from '../src/trace/recorder.js';
import { outsider, remote_read, spawn_process, thread } from '../src/workloads/lib.js';
import { runWorkload } from '../src/workloads/runner.js';
import type { Workload } from '../src/workloads/workload.js';
import { TARGET_ARGV, TARGET_ENVP } from '../src/workloads/cmdline-poll.js';
import { tempDir } from './helpers/cli.js';
import { FALLBACK_AREA, fallbackRemap } from './helpers/fallback-remap.js';
import type { Variant } from '../src/linux/variants.js';

const AREA = 0x10000000;

/**
 * cross-vma-race's shape with the writer in another process: the reader's fast-path read spans the
 * target's A and B, and between its copies from A and from B a bystander process maps a VMA of its
 * own at the same address. The target's address space never changes during the read.
 */
const bystander: Workload = {
  name: 'bystander',
  description: 'a read spanning two VMAs while another process changes its own VMAs',
  params: {},
  schedule() {
    const copiedFromA = (e: ObservedEvent) => e.task === 'reader' && e.kind === 'copy' && e.addr >= AREA && e.addr < AREA + PAGE_SIZE;
    const otherDone = (e: ObservedEvent) => e.task === 'other' && e.kind === 'task_exit';
    return [{ task: 'other', until: copiedFromA }, { task: 'reader', after: copiedFromA, until: otherDone }];
  },
  *boot() {
    const target = yield* spawn_process('target', TARGET_ARGV, TARGET_ENVP);
    const other = yield* spawn_process('bystander', TARGET_ARGV, TARGET_ENVP);
    const ready = new Completion();
    thread(target, 'setup', function* () {
      // Different flags: A and B stay two VMAs.
      yield* sys_mmap(target.mm, { addr: AREA, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* sys_mmap(target.mm, { addr: AREA + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ | PROT_WRITE | PROT_EXEC, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
      yield* user_access(target.mm, AREA, new Uint8Array(PAGE_SIZE).fill(0x41), true);
      yield* user_access(target.mm, AREA + PAGE_SIZE, new Uint8Array(PAGE_SIZE).fill(0x42), true);
      yield* complete_all(ready);
    });
    thread(other, 'other', function* () {
      yield* wait_for_completion(ready);
      yield* sys_mmap(other.mm, { addr: AREA + PAGE_SIZE, len: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
    });
    outsider('reader', function* () {
      yield* wait_for_completion(ready);
      yield* remote_read(target, AREA + PAGE_SIZE - 8, 16);
    });
  },
};

async function recordFacts(workload: Workload, path: 'gup' | 'fast', variant: Variant[] = []) {
  const file = join(tempDir(), `${workload.name}-${path}.db`);
  const rec = await Recorder.open(file);
  rec.beginRun({ name: path, workload: workload.name, params: {}, path, variant, seed: 1, strategy: 'random', config: { ...DEFAULT_CONFIG }, codeVersion: 'test' });
  runWorkload({ workload, params: {}, path, variant, seed: 1, strategy: new RandomStrategy(1), config: DEFAULT_CONFIG, sink: rec });
  rec.finish('complete');
  rec.close();
  const trace = await openTrace(file);
  try {
    return runFacts(trace, trace.resolveRun(path));
  } finally {
    trace.close();
  }
}

describe('facts: a VMA change is a hazard only in the mm the request reads', () => {
  test('another process mapping a VMA between v1\'s two copies is not a mixed-VMA read', async () => {
    const facts = await recordFacts(bystander, 'fast');
    const read = facts.requests.get('reader:1')!;
    // The premise: one call, two copies (A then B) on the fast path, with the bystander's mmap
    // (vma_create, attach) between them, in its own mm.
    expect(read.copies.map((c) => [c.addr, c.len])).toEqual([[AREA + PAGE_SIZE - 8, 8], [AREA + PAGE_SIZE, 8]]);
    expect(read.copies.map((c) => c.vma && [c.vma.start, c.vma.file])).toEqual([[AREA, null], [AREA + PAGE_SIZE, null]]);
    expect(read.data).toEqual(Uint8Array.from([...Array(8).fill(0x41), ...Array(8).fill(0x42)]));
    expect(read.vmaChangesBetweenCopies).toBe(0);
  });
});

describe('facts: redoWhole drops the fast part of a read it redoes', () => {
  test('the copies before a fast_path_discard are not the request\'s, nor the VMA changes between them', async () => {
    const split = (await recordFacts(fallbackRemap, 'fast', ['singleVmaOnly'])).requests.get('reader:1')!;
    const whole = (await recordFacts(fallbackRemap, 'fast', ['singleVmaOnly', 'redoWhole'])).requests.get('reader:1')!;
    // Without it: the fast path's page of the old VMA, then the mmap_lock path's page of the new one.
    expect(split.copies.map((c) => c.addr)).toEqual([FALLBACK_AREA, FALLBACK_AREA + PAGE_SIZE]);
    expect(split.vmaChangesBetweenCopies).toBeGreaterThan(0);
    expect(split.data).toEqual(Uint8Array.from([...Array(PAGE_SIZE).fill(0x4f), ...Array(PAGE_SIZE).fill(0x4e)]));
    // With it: both pages copied again under mmap_lock, after the change; the first copy is gone.
    expect(whole.copies.map((c) => c.addr)).toEqual([FALLBACK_AREA, FALLBACK_AREA + PAGE_SIZE]);
    expect(whole.vmaChangesBetweenCopies).toBe(0);
    expect(whole.data).toEqual(new Uint8Array(2 * PAGE_SIZE).fill(0x4e));
  });
});
