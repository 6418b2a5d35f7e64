/**
 * tlb_remove_table_one() (mm/mmu_gather.c): when the page that batches freed page tables cannot be
 * allocated (`--config tableBatchFail=rcu|sync|ipi`), MADV_DONTNEED's PT_RECLAIM frees the emptied
 * PTE table on its own, the way each kind of kernel does. dontneed-race order=1: the zap lands
 * between the reader's lockless PMD read and its PTL. Which walkers each mode is safe for.
 */
import { describe, expect, test } from 'vitest';
import type { TableBatchFail } from '../src/linux/kernel.js';
import { dontneedRace } from '../src/workloads/dontneed-race.js';
import { runTrace, type Trace } from './helpers/harness.js';

const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', ['irqOffWalk']]];

function run(path: 'gup' | 'fast', variant: string[], seed: number, tableBatchFail: TableBatchFail): Trace {
  const t = runTrace(dontneedRace, { path, variant, seed, params: { order: 1 }, config: { tableBatchFail } });
  expect(t.result.outcome).toBe('done');
  return t;
}

/** The zapper's own free of the PTE table (not a queuing), and the reader's PMD re-check under its PTL. */
function freeAndRecheck(t: Trace) {
  const free = t.of('pgtable_free', 'zapper', (e) => e.level === 'pte' && e.mode !== 'rcu_queued');
  const recheck = t.of('pmd_recheck', 'reader', (e) => !e.same);
  expect(recheck.length).toBeGreaterThanOrEqual(1);
  return { free, recheck: recheck[0]! };
}

const zeros = (t: Trace) => {
  const end = t.of('request_end', 'reader')[0]!;
  return [end.result, Array.from(end.data ?? []).slice(0, 4)];
};

describe('tableBatchFail: tlb_remove_table_one() under a lockless walker', () => {
  for (const seed of [1, 2]) {
    for (const [path, variant] of PATHS) {
      const label = `${path}${variant.length ? `+${variant.join('+')}` : ''} seed ${seed}`;

      test(`rcu (CONFIG_PT_RECLAIM): call_rcu per table; freed after the reader's RCU section (${label})`, () => {
        const t = run(path, variant, seed, 'rcu');
        const queued = t.of('pgtable_free', 'zapper', (e) => e.level === 'pte' && e.mode === 'rcu_queued');
        expect(queued).toHaveLength(1);
        expect(t.of('call_rcu', 'zapper', (e) => e.what === '__tlb_remove_table_one_rcu' && e.obj === queued[0]!.table)).toHaveLength(1);
        const freed = t.of('pgtable_free', undefined, (e) => e.table === queued[0]!.table && e.mode === 'rcu_freed');
        expect(freed).toHaveLength(1);
        expect(t.taskName(freed[0]!.tid)).toBe('rcu_gp');
        // The walker took the detached table's PTL and saw the PMD changed before the table went.
        expect(freed[0]!.seq).toBeGreaterThan(freeAndRecheck(t).recheck.seq);
        expect(t.of('use_after_free')).toHaveLength(0);
        expect(zeros(t)).toEqual([16, [0, 0, 0, 0]]);
      });

      test(`sync: synchronize_rcu() in the zap, then free: the zapper waits for the reader (${label})`, () => {
        const t = run(path, variant, seed, 'sync');
        const { free, recheck } = freeAndRecheck(t);
        expect(free.map((e) => e.mode)).toEqual(['rcu_freed']);
        // The zapper slept in synchronize_rcu() (outside the PTL and its own RCU section) until the
        // walker was done with the detached table.
        const waited = t.of('sched_block', 'zapper', (e) => e.wait === 'synchronize_rcu');
        expect(waited).toHaveLength(1);
        expect(waited[0]!.seq).toBeLessThan(recheck.seq);
        expect(free[0]!.seq).toBeGreaterThan(recheck.seq);
        expect(t.of('use_after_free')).toHaveLength(0);
        expect(zeros(t)).toEqual([16, [0, 0, 0, 0]]);
      });

      test(`ipi: the IPI, then free -- safe only for an IRQ-off walker (${label})`, () => {
        const t = run(path, variant, seed, 'ipi');
        const free = t.of('pgtable_free', 'zapper', (e) => e.level === 'pte' && e.mode !== 'rcu_queued');
        expect(free.map((e) => e.mode)).toEqual(['ipi_synced']);
        const ipi = t.of('ipi_sync', 'zapper');
        expect(ipi).toHaveLength(1);
        expect(ipi[0]!.seq).toBeLessThan(free[0]!.seq);
        if (variant.includes('irqOffWalk')) {
          // v2: the walk has IRQs off; the IPI waited for it to enable them, then the table went.
          expect(ipi[0]!.waited).toBe(1);
          const enable = t.of('local_irq_enable', 'reader').find((e) => e.seq > ipi[0]!.seq)!;
          expect(free[0]!.seq).toBeGreaterThan(enable.seq);
          expect(t.of('use_after_free')).toHaveLength(0);
          expect(zeros(t)).toEqual([16, [0, 0, 0, 0]]);
        } else {
          // An RCU-only walker (v1's folio_walk_start, GUP's follow_page_pte: pte_offset_map) does
          // not delay the IPI: the table is freed inside its RCU section, and it takes the PTL there.
          expect(ipi[0]!.waited).toBe(0);
          const uaf = t.of('use_after_free', 'reader');
          expect(uaf.length).toBeGreaterThanOrEqual(1);
          expect(uaf[0]!.what).toBe('PTL of a freed page table');
          expect(uaf[0]!.seq).toBeGreaterThan(free[0]!.seq);
        }
      });
    }
  }

  test('--config tableBatchFail takes one of its words; anything else is one line and exit 2', async () => {
    const { resolveConfig } = await import('../src/record/config.js');
    expect(resolveConfig({ tableBatchFail: 'ipi' }).tableBatchFail).toBe('ipi');
    expect(() => resolveConfig({ tableBatchFail: 'never' })).toThrow("config tableBatchFail is one of none, rcu, sync, ipi, got 'never'");
  });
});
