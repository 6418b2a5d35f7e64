/** Where in a module an error happened: the innermost frame of its stack in the user's own code. */
import { fileURLToPath } from 'node:url';

/** `at f (LOCATION:LINE:COL)` or `at LOCATION:LINE:COL`; LOCATION a path or a file: URL. */
const FRAME = /^\s*at (?:.*?\()?((?:file:\/\/)?\/[^():]*?):(\d+):\d+\)?$/;

/** mmtrace's own code: the folder above this one (dist/src/, or src/ when run from sources). */
const OWN_CODE = fileURLToPath(new URL('..', import.meta.url));

/** A file of the user's: not mmtrace's own code, not a package. */
export function isUserFile(file: string): boolean {
  return !file.startsWith(OWN_CODE) && !file.includes('/node_modules/');
}

/** The file of a stack frame's location, as a path. */
function framePath(location: string): string {
  return location.startsWith('file://') ? fileURLToPath(location) : location;
}

/**
 * `FILE:LINE` of the innermost frame of `error` in a file of the user's (a module, or a file it
 * imports), or null when none is. Stack lines of modules loaded through tsx carry their TypeScript
 * lines: tsx registers its source maps, and Node applies them to stacks.
 */
export function userFrame(error: unknown): string | null {
  const stack = error instanceof Error ? error.stack ?? '' : '';
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = framePath(m[1]!);
    if (isUserFile(file)) return `${file}:${m[2]}`;
  }
  return null;
}
