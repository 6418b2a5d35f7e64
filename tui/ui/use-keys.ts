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

export function useKeys(target: KeyTarget): void {
  const { exit } = useApp();
  const [, redraw] = useState(0);
  useInput((input, key) => {
    for (const [i, k] of splitKeys(input, key)) {
      if (target.key(i, k) === 'quit') return exit();
    }
    redraw((n) => n + 1);
  });
}
