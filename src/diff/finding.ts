/** Which run a finding is about. */
export type Side = 'a' | 'b' | 'both';

/**
 * One thing the diff has to say about two runs. It lives in its own module
 * because the final-state comparison (final.ts) produces findings too and
 * diff.ts imports it: both depend on this type, neither on the other.
 */
export interface Finding {
  kind: string;
  severity: 'behaviour' | 'info';
  run: Side;
  request: string | null;
  message: string;
}

