/**
 * Driving the browser's ink views under ink-testing-library as a person does: press a key, read
 * the frame it drew. ink draws the frame a key asks for after the key's handler returns (React
 * flushes it a turn later), so each key waits for the next frame, with a bound, instead of
 * sleeping a fixed time that a loaded machine can outlast.
 */
import type React from 'react';
import { render } from 'ink-testing-library';

const FRAME_TIMEOUT_MS = 10_000;

export type InkApp = ReturnType<typeof render>;

/**
 * Render at a terminal's size: ink-testing-library's stdout says 100 columns, and ink cuts every
 * line to what stdout says; give it the width under test, and have ink draw again.
 */
export function renderAt(tree: React.ReactElement, width: number): InkApp {
  const app = render(tree);
  Object.defineProperty(app.stdout, 'columns', { get: () => width });
  app.rerender(tree);
  return app;
}

/** Resolves once `condition` holds; fails after the bound, saying what did not happen. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + FRAME_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${FRAME_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Type each of `sequence` (a key, or a chunk as a terminal hands it over), waiting for its frame. */
export async function keys(app: InkApp, ...sequence: string[]): Promise<void> {
  for (const k of sequence) {
    const drawn = app.frames.length;
    app.stdin.write(k);
    await until(() => app.frames.length > drawn, `a frame after ${JSON.stringify(k)}`);
  }
}

/** The frame on screen, as lines. */
export const screenOf = (app: InkApp): string[] => app.lastFrame()!.split('\n');
