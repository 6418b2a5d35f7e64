/**
 * The mm each request in flight reads: the one whose mmap_lock it asked for (the GUP path), or
 * whose VMA it read-locked (the fast path), most recently. A copy's bytes come from that mm, so
 * this is how a copy is tied to the VMA it read (VmaMap.at(mm, addr)).
 */
import type { TraceEvent } from '../trace/vocab/index.js';
import type { Reducer } from './reducer.js';
import type { VmaMap } from './vma-map.js';

export class RequestTargets implements Reducer {
  readonly kinds = ['request_begin', 'request_end', 'mmap_lock_start_locking', 'vma_start_read', 'vma_start_read_locked'] as const;
  private readonly inRequest = new Set<number>();
  private readonly target = new Map<number, number>();

  /** `vmas`, fed before this reducer, names a locked VMA's mm. */
  constructor(private readonly vmas: VmaMap) {}

  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'request_begin':
        this.inRequest.add(e.tid);
        this.target.delete(e.tid);
        break;
      case 'request_end':
        this.inRequest.delete(e.tid);
        this.target.delete(e.tid);
        break;
      case 'mmap_lock_start_locking':
        this.reads(e.tid, e.mm);
        break;
      case 'vma_start_read':
        if (e.result === 'ok') this.reads(e.tid, this.vmas.mmOf(e.vma));
        break;
      case 'vma_start_read_locked':
        this.reads(e.tid, this.vmas.mmOf(e.vma));
        break;
    }
  }

  /** The mm the task's request reads now, if it has shown one. */
  of(tid: number): number | undefined {
    return this.target.get(tid);
  }

  private reads(tid: number, mm: number | undefined): void {
    if (this.inRequest.has(tid) && mm !== undefined) this.target.set(tid, mm);
  }
}
