/**
 * The terminal as ink draws on it, with each frame reduced to the lines that changed.
 *
 * Why: a frame as tall as the terminal makes ink 6.8 clear the whole screen and write every line
 * again, on every frame (its "fullscreen" path: ESC[2J ESC[3J ESC[H, then the frame). Inside a
 * synchronized update that is invisible on terminals that honour one, but elsewhere (tmux 3.3, the
 * Linux console, many ssh clients) the screen is blank for a moment on every key: a flicker while
 * scrolling. It also sends the whole screen over ssh for each key. ink's own incremental mode does
 * not help: it moves the cursor back by the frame's lines from below a trailing newline, which in a
 * full screen lands one row low.
 *
 * So ink writes to this stream instead of the terminal. A whole-screen frame is compared with the
 * one before it, line by line, and only the lines that differ are written, each at its row (an
 * absolute cursor position, so nothing depends on where the cursor was), then erased to the end.
 * Anything else ink writes (its first frame, cursor and synchronized-update escapes) goes through
 * as it is. After a resize, or a frame of another height, the next frame is written whole.
 */

/** What ink writes before a whole-screen frame: clear the screen and the scrollback, cursor home. */
export const WHOLE_SCREEN = '\x1b[2J\x1b[3J\x1b[H';
const ERASE_TO_END_OF_LINE = '\x1b[K';
const atRow = (row: number) => `\x1b[${row + 1};1H`;

/** The escapes that draw `next` over `previous` (both a frame's lines, the same count). */
export function changedLines(previous: readonly string[], next: readonly string[]): string {
  let out = '';
  for (let row = 0; row < next.length; row++) {
    if (next[row] !== previous[row]) out += atRow(row) + next[row] + ERASE_TO_END_OF_LINE;
  }
  return out;
}

/**
 * A stand-in for `terminal` to hand to ink: every property is the terminal's (size, isTTY, resize
 * events), but whole-screen frames are written as their changed lines.
 */
export function changedLinesOnly(terminal: NodeJS.WriteStream): NodeJS.WriteStream {
  let shown: string[] | null = null;
  terminal.on('resize', () => (shown = null));
  const write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    if (typeof chunk !== 'string' || !chunk.startsWith(WHOLE_SCREEN)) {
      return (terminal.write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }
    const lines = chunk.slice(WHOLE_SCREEN.length).split('\n');
    const sameShape = shown !== null && shown.length === lines.length;
    const out = sameShape ? changedLines(shown!, lines) : chunk;
    shown = lines;
    return (terminal.write as (...args: unknown[]) => boolean)(out, ...rest);
  };
  return new Proxy(terminal, {
    get(target, property) {
      if (property === 'write') return write;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
