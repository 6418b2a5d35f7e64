/**
 * What a reader says about a run that is not complete: one sentence per state, the same in `list`,
 * `replay`, `diff` and the browser, so no reader shows a cut-short run as whole.
 */
import type { RunInfo } from './reader.js';

/** Is the run's log cut short of what the workload would have recorded (died, failed, or still going)? */
export function isCutShort(run: Pick<RunInfo, 'status'>): boolean {
  return run.status === 'incomplete' || run.status === 'failed' || run.status === 'recording';
}

/** `FILE#RUN is STATE: what that means for its events`, or null for a complete run. */
export function runStateNote(ref: string, run: Pick<RunInfo, 'status' | 'events' | 'limit' | 'error'>): string | null {
  switch (run.status) {
    case 'complete':
      return null;
    case 'limited':
      return `${ref} is limited: --max-events=${run.limit} stopped it before the workload finished; its ${run.events} events replay and verify`;
    case 'incomplete':
      return `${ref} is incomplete: its recording process died after ${run.events} committed events, which are kept; the rest were never written`;
    case 'failed':
      return `${ref} is failed: its recording stopped on an error after ${run.events} committed events, which are kept${run.error ? ` (${firstLine(run.error)})` : ''}`;
    case 'recording':
      return `${ref} is recording: another process is writing it; ${run.events} events are committed so far`;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}
