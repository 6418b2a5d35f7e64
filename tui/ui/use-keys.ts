/**
 * The views' key loop: each key of a chunk goes to the view's state (Browser, DiffBrowser), and the
 * frame is drawn again; a key that says quit ends the app.
 */
import { useApp, useInput } from 'ink';
import { useState } from 'react';
import { splitKeys, type Key } from '../data/browser.js';

export interface KeyTarget {
  key(input: string, key: Key): 'quit' | void;
}

/**
 * End the app with an error thrown outside React's rendering (a key handler, a timer): thrown
 * there, it would kill the process on the alternate screen, in raw mode, with a stack trace; ended
 * this way, `runTui` gives the terminal back and the command reports it in one line.
 */
export function useFail(): (e: unknown) => void {
  const { exit } = useApp();
  return (e) => exit(e instanceof Error ? e : new Error(String(e)));
}

export function useKeys(target: KeyTarget): void {
  const { exit } = useApp();
  const fail = useFail();
  const [, redraw] = useState(0);
  useInput((input, key) => {
    try {
      for (const [i, k] of splitKeys(input, key)) {
        if (target.key(i, k) === 'quit') return exit();
      }
    } catch (e) {
      return fail(e);
    }
    redraw((n) => n + 1);
  });
}
