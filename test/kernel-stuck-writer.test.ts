/**
 * The stuck-writer workload (kernel-spec §12.5, §1.2, §8.1): a target thread replaces a populated
 * mapping with mmap(MAP_FIXED), whose internal unmap zaps every page with mmap_lock held for write.
 * A monitor reading /proc/PID/cmdline meanwhile sleeps in mmap_read_lock_killable until the writer
 * unlocks: its wait is at least as long as the zap. The reads still return the full argv.
 */
import { describe, expect, it } from 'vitest';
import { TARGET_ARGV } from '../src/workloads/cmdline-poll.js';
import { stuckWriter } from '../src/workloads/stuck-writer.js';
import { runTrace } from './helpers/harness.js';
import { cmdlineBytes } from './helpers/tasks.js';

const PAGES = stuckWriter.params.pages!.default as number;
const READS = stuckWriter.params.reads!.default as number;

describe('stuck-writer: monitors wait out a long mmap write hold (kernel-spec §12.5)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`§12.5 a cmdline read blocks in rwsem_down_read for the whole zap, woken by the writer's unlock (seed ${seed})`, () => {
      const t = runTrace(stuckWriter, { seed });
      expect(t.result.outcome).toBe('done');
      const writer = t.tid('writer');
      const monitor = t.tid('monitor');

      // The writer's second mmap (MAP_FIXED over the populated range): its write-lock hold.
      const mmaps = t.of('syscall_begin', writer, (e) => e.nr === 'mmap');
      expect(mmaps).toHaveLength(2);
      const remap = mmaps[1]!;
      const acquired = t.next('mmap_lock_acquire_returned', remap.seq, writer, (e) => e.write && e.success)!;
      const released = t.next('mmap_lock_released', acquired.seq, writer, (e) => e.write)!;
      expect(acquired).toBeDefined();
      expect(released).toBeDefined();
      // No downgrade in between: the internal unmap keeps the write lock (§4.1).
      expect(t.of('mmap_lock_acquire_returned', writer, (e) => e.seq > acquired.seq && e.seq < released.seq)).toHaveLength(0);

      // Every populated page is zapped inside the hold.
      const zapped = t.of('pgtable_set', writer, (e) => e.seq > acquired.seq && e.seq < released.seq && t.isZap(e));
      expect(zapped).toHaveLength(PAGES);

      // Monitor waits for mmap_lock during the hold.
      const sem = t.of('rwsem_acquire', writer, (e) => e.seq > remap.seq && e.mode === 'write')[0]!.sem;
      const blocks = t.of('sched_block', monitor, (e) =>
        e.on === sem && e.wait === 'rwsem_down_read' && e.seq > acquired.seq && e.seq < released.seq);
      expect(blocks.length).toBeGreaterThanOrEqual(1);
      for (const block of blocks) {
        // It is woken by the writer, and only after the writer's mmap_lock_released(write): the
        // writer's up_write grants the lock to the queued reader(s) and wakes them (rwsem_wake).
        const wake = t.next('rwsem_wake', block.seq, undefined, (e) => e.sem === sem && e.woken?.includes(monitor) === true)!;
        expect(wake.tid).toBe(writer);
        expect(wake.mode).toBe('read'); // granted for read
        expect(wake.seq).toBeGreaterThan(released.seq);
        // It gets the lock only then (handed off on up_write).
        const got = t.next('rwsem_acquire', block.seq, monitor, (e) => e.sem === sem)!;
        expect([got.mode, got.how]).toEqual(['read', 'woken']);
        expect(got.seq).toBeGreaterThan(wake.seq);
        // It waited longer than the zap of PAGES pages (each a step of the virtual clock).
        const waited = wake.tick - block.tick;
        expect(waited).toBeGreaterThan(PAGES);
        expect(waited).toBeGreaterThanOrEqual(zapped[zapped.length - 1]!.tick - Math.max(block.tick, zapped[0]!.tick));
      }
      // Blocked via mmap_read_lock_killable in __access_remote_vm: start_locking(read) precedes the block.
      const start = t.of('mmap_lock_start_locking', monitor, (e) => !e.write && e.seq < blocks[0]!.seq);
      expect(start.length).toBeGreaterThan(0);

      // Every request returns the full argv.
      const want = cmdlineBytes(TARGET_ARGV);
      const ends = t.of('request_end', monitor);
      expect(ends).toHaveLength(READS);
      for (const e of ends) {
        expect(e.result).toBe(want.length);
        expect(e.data).toEqual(want);
      }
      expect(t.of('warn')).toHaveLength(0);
      expect(t.of('use_after_free')).toHaveLength(0);
    });
  }
});
