/**
 * kernel-spec §12.13 (IPI vs RCU), with §4.2 (tlb_remove_table_sync_one is an IPI broadcast, not an
 * RCU grace period), §4.3 (anon collapse_huge_page order) and §7.2 (v2: the walk runs with IRQs off).
 * khugepaged collapses B while the reader walks A, a different VMA of the same mm.
 */
import { describe, expect, test } from 'vitest';
import { _PAGE_PSE } from '../src/linux/arch/x86/include/pgtable_types.js';
import { mms } from '../src/linux/mm/mm_types.js';
import { IPI_B, ipiVsRcu, pmd_value } from '../src/workloads/thp.js';
import { runTrace, type Trace } from './helpers/harness.js';

const SEEDS = [1, 2, 3];
const PATHS: ['gup' | 'fast', string[]][] = [['gup', []], ['fast', []], ['fast', ['irqOffWalk']]];

function run(path: 'gup' | 'fast', variant: string[], seed: number): Trace {
  const t = runTrace(ipiVsRcu, { path, variant, seed });
  expect(t.result.outcome).toBe('done');
  expect(t.of('warn')).toHaveLength(0);
  expect(t.of('use_after_free')).toHaveLength(0);
  return t;
}

describe('§12.13 tlb_remove_table_sync_one() waits for IRQ-off walkers only', () => {
  for (const seed of SEEDS) {
    for (const [path, variant] of PATHS) {
      test(`${path}${variant.length ? `+${variant.join('+')}` : ''} seed ${seed}`, () => {
        const t = run(path, variant, seed);
        // The read of A is unaffected: 64 bytes of 'A'.
        const [req] = t.requests('reader');
        expect(req!.result).toBe(64);
        expect(Array.from(req!.data).every((b) => b === 0x41)).toBe(true);
        // §4.3: K cleared B's PMD (pmdp_collapse_flush) before the IPI, installed a THP after it,
        // having write-locked B (not A) and copied B's two small pages.
        const ipi = t.of('ipi_sync', 'khugepaged');
        expect(ipi).toHaveLength(1);
        const cleared = t.of('pgtable_set', 'khugepaged', (e) => e.addr === IPI_B && e.value === 0)[0]!;
        expect(cleared.seq).toBeLessThan(ipi[0]!.seq);
        expect(t.of('folio_copy_page', 'khugepaged').map((e) => e.index)).toEqual([0, 1]);
        expect(t.of('folio_copy_page', 'khugepaged')[0]!.seq).toBeGreaterThan(ipi[0]!.seq);
        const mm = [...mms(t.result.kernel).values()].find((m) => m.mm_mt.load(IPI_B))!;
        expect(pmd_value(mm, IPI_B, t.result.kernel) & _PAGE_PSE).toBe(_PAGE_PSE);
        expect(t.of('pgtable_deposit', 'khugepaged', (e) => e.op === 'deposit')).toHaveLength(1);
        if (path === 'gup') {
          // GUP holds mmap_lock for read across the whole read: K's mmap_write_lock waits for it,
          // so the IPI comes after the read and has nobody to wait for.
          const released = t.of('mmap_lock_released', 'reader')[0]!;
          expect(t.of('mmap_lock_acquire_returned', 'khugepaged', (e) => e.write)[0]!.seq).toBeGreaterThan(released.seq);
          expect(ipi[0]!.waited).toBe(0);
          return;
        }
        // The fast path holds no mmap_lock and only A's VMA lock: K runs during the read.
        expect(ipi[0]!.seq).toBeLessThan(req!.end);
        if (variant.includes('irqOffWalk')) {
          // v2: the reader had IRQs off: the IPI waited for it -- K slept until its local_irq_enable.
          expect(ipi[0]!.waited).toBe(1);
          const block = t.next('sched_block', ipi[0]!.seq, 'khugepaged')!;
          expect(block.wait).toBe('smp_call_function');
          const enable = t.next('local_irq_enable', ipi[0]!.seq, 'reader')!;
          const wake = t.next('sched_wakeup', enable.seq, 'reader', (e) => e.target === t.tid('khugepaged'))!;
          expect(wake).toBeDefined();
          // Nothing of K between sending the IPI and the reader enabling IRQs but its sleep.
          expect(t.between(ipi[0]!.seq, wake.seq).filter((e) => e.tid === t.tid('khugepaged')).map((e) => e.kind)).toEqual(['sched_block']);
        } else {
          // v1: an RCU-only walker: the IPI completed at once although the reader was inside an
          // RCU read-side section -- it is not a grace period -- and K went on copying meanwhile.
          expect(ipi[0]!.waited).toBe(0);
          expect(t.of('sched_block', 'khugepaged', (e) => e.wait === 'smp_call_function')).toHaveLength(0);
          const unlock = t.next('rcu_read_unlock', ipi[0]!.seq, 'reader')!;
          expect(t.of('folio_copy_page', 'khugepaged')[0]!.seq).toBeLessThan(unlock.seq);
          expect(t.of('local_irq_disable', 'reader')).toHaveLength(0);
        }
      });
    }
  }
});
