/**
 * One definition of a wait (src/reduce/wait-clock.ts), so one figure everywhere: the per-task
 * waitTicks that replay prints at the end of a run are the wait-ticks the diff reports for it, and
 * the totals of the SQL view waits_v (`mmtrace query`).
 * Timed sleeps (cmdline-poll's think time) are not waits, in either.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mmtrace, mmtraceJson, tempDir } from './helpers/cli.js';
import { recordHere } from './helpers/record.js';

const dir = tempDir();

interface ReplayTask {
  name: string;
  waitTicks: number;
}

/** Task name -> ticks waited, from replay's state at the last event; tasks that never waited left out. */
function replayWaits(file: string, run: string): Record<string, number> {
  const r = mmtraceJson<{ state: { tasks: ReplayTask[] } }>(['replay', `${file}#${run}`]);
  const waits: Record<string, number> = {};
  for (const t of r.state.tasks) if (t.waitTicks > 0) waits[t.name] = t.waitTicks;
  return waits;
}

/** Task name -> ticks waited, from the diff's aggregates (`wait-ticks/NAME`), for side a or b. */
function diffWaits(aggregates: Record<string, { a: number; b: number }>, side: 'a' | 'b'): Record<string, number> {
  const waits: Record<string, number> = {};
  for (const [key, row] of Object.entries(aggregates)) {
    const name = /^wait-ticks\/(.+)$/.exec(key)?.[1];
    if (name && row[side] > 0) waits[name] = row[side];
  }
  return waits;
}

/** Task name -> ticks waited, from SQL over the file (waits_v); tasks that never waited left out. */
function sqlWaits(file: string, run: string): Record<string, number> {
  const { rows } = mmtraceJson<{ rows: { task: string; ticks: number }[] }>(['query', file,
    `select task, total(ticks) as ticks from waits_v where run = '${run}' group by task having ticks > 0`]);
  return Object.fromEntries(rows.map((r) => [r.task, r.ticks]));
}

describe('replay, diff and SQL count the same waits', () => {
  for (const workload of ['stuck-writer', 'cmdline-poll', 'mixed']) {
    it(workload, async () => {
      const file = join(dir, `${workload}.db`);
      await recordHere(workload, ['--path=gup,fast', `--out=${file}`]);
      // The paths differ (exit 1); the report is on stdout all the same.
      const diff = mmtrace(['diff', `${file}#gup`, `${file}#fast`, '--json']);
      expect(diff.status, diff.stderr).toBeLessThan(2);
      const report = JSON.parse(diff.stdout) as { aggregates: Record<string, { a: number; b: number }> };
      const gup = replayWaits(file, 'gup');
      const fast = replayWaits(file, 'fast');
      expect(diffWaits(report.aggregates, 'a')).toEqual(gup);
      expect(diffWaits(report.aggregates, 'b')).toEqual(fast);
      expect(sqlWaits(file, 'gup')).toEqual(gup);
      expect(sqlWaits(file, 'fast')).toEqual(fast);
      if (workload === 'stuck-writer') {
        // The monitor queues behind the writer's mmap_lock on the gup path: a real wait, not zero.
        expect(gup['monitor']).toBeGreaterThan(0);
      }
      if (workload === 'cmdline-poll') {
        // On the fast path the monitor only sleeps between reads (it never queues for mmap_lock):
        // a sleep is not a wait, so it has none, where the gup path's monitor waited for the lock.
        expect(fast['monitor']).toBeUndefined();
        expect(gup['monitor']).toBeGreaterThan(0);
      }
    });
  }
});
