/**
 * Process exit during a remote read (kernel-spec §1.1 mm_users, §4.1 exit_mmap): the reader's
 * reference keeps exit_mmap from running under it, and the last mmput -- the reader's -- runs it.
 */
import { describe, expect, test } from 'vitest';
import { processExit } from '../src/workloads/process-exit.js';
import { checkEveryEvent } from './helpers/fold-check.js';
import { runTrace } from './helpers/harness.js';

describe('§4.1 the target exits while a monitor reads its cmdline', () => {
  for (const seed of [1, 2, 3]) {
    for (const [path, variant] of [['gup', []], ['fast', []], ['fast', ['singleVmaOnly', 'checkFollAnon', 'touch']]] as const) {
      test(`${path}${variant.length ? '+fixes' : ''} seed ${seed}`, () => {
        const t = runTrace(processExit, { path, variant: [...variant], seed });
        expect(t.result.outcome).toBe('done');
        // Before and during the exit: argv; after it: the task has no mm, 0 bytes.
        expect(t.requests('monitor').map((r) => r.result)).toEqual([48, 48, 0, 0]);
        // exit_mmap ran once, in the monitor (its mmput was the last reference), after the target left.
        const exits = t.of('call_enter', undefined, (e) => e.fn === 'exit_mmap');
        expect(exits.map((e) => e.tid)).toEqual([t.tid('monitor')]);
        expect(exits[0]!.seq).toBeGreaterThan(t.of('task_exit', 'main')[0]!.seq);
        // Everything the process had is gone: its VMAs freed, its page tables freed after a grace
        // period, no folio left mapped, and nothing read after free.
        const created = t.of('vma_create').length;
        expect(t.of('vma_free').length).toBe(created);
        expect(t.of('pgtable_free', undefined, (e) => e.mode === 'rcu_queued').length).toBeGreaterThan(0);
        expect(t.of('use_after_free')).toHaveLength(0);
        expect(t.of('warn')).toHaveLength(0);
        expect(checkEveryEvent(processExit, { path, variant: [...variant], seed }).firstMismatch).toBeNull();
      });
    }
  }
});
