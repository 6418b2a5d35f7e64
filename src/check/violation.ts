/** What a checker reports: one violation, in kernel terms, with the events and stacks behind it. */

export const CHECKER_NAMES = ['lockdep', 'lock-context', 'refcount', 'use-after-free', 'mixed-vmas', 'foll-anon', 'aging', 'deadlock'] as const;
export type CheckerName = (typeof CHECKER_NAMES)[number];

/** `bug`: the kernel would misbehave; `behaviour`: a change from mainline a reviewer must weigh. */
export type Severity = 'bug' | 'behaviour';

/** One event behind a violation: where a task was and what it did. */
export interface Witness {
  seq: number;
  task: string;
  /** The task's emulated call stack then, outermost first. */
  stack: string[];
  what: string;
}

export interface Violation {
  checker: CheckerName;
  severity: Severity;
  /** One line, in kernel terms. */
  message: string;
  /** The events involved, in order. */
  seqs: number[];
  witnesses: Witness[];
  /** The request it is about (`monitor:3`), if any. */
  request: string | null;
}
