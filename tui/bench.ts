/**
 * The browser's figures for `mmtrace bench` (tuiFirstFrameMs, tuiKeyToFrameMs, tuiRssMb), measured
 * in a process of their own so the resident set is the browser's alone: `node dist/tui/bench.js
 * FILE#RUN EVENTS [ROUNDS]` opens the run view on an in-memory terminal of 200x50, presses keys,
 * and prints one JSON line.
 *
 *   firstFrameMs   from opening the file to the first frame written
 *   keyToFrameMs   median, over several rounds, of key written -> next frame written, for a page
 *                  down, a jump with `:`, a search and its `n`, and "where from" (`o`) with its
 *                  way back (Ctrl-o); byKey: the median of each of these kinds of key
 *   rssMb          the process's peak resident set after all of it
 */
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { runTui } from './main.js';

const MODE_SWITCH = /^(\x1b\[\?\d+[hl])+$/;

class MemoryTerminal extends EventEmitter {
  readonly isTTY = true;
  columns = 200;
  rows = 50;
  /** When each write came, mode switches left out. */
  readonly writes: number[] = [];
  private waiting: { count: number; resolve: () => void } | null = null;

  write = (chunk: string): boolean => {
    // a mode switch alone (ink's begin of a synchronized update, the cursor hidden) is not a frame
    if (MODE_SWITCH.test(chunk)) return true;
    this.writes.push(performance.now());
    if (this.waiting && this.writes.length >= this.waiting.count) {
      this.waiting.resolve();
      this.waiting = null;
    }
    return true;
  };

  /** Resolves once `count` writes have come (at once if they have). */
  writesDone(count: number): Promise<void> {
    if (this.writes.length >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = { count, resolve }));
  }
}

class MemoryKeyboard extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;

  type(keys: string): void {
    this.data = keys;
    this.emit('readable');
    this.emit('data', keys);
  }

  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };

  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface TuiFigures {
  firstFrameMs: number;
  keyToFrameMs: number;
  rssMb: number;
  /** The median key to frame of each kind of key, to see which costs most. */
  byKey: Record<string, number>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** NaN (null in the JSON) when nothing was timed: ROUNDS 0 times the first frame alone. */
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

/** Open `ref` in the run view on a memory terminal and time it. `events`: the run's event count. */
export async function measureTui(ref: string, events: number, rounds = 5): Promise<TuiFigures> {
  const stdout = new MemoryTerminal();
  const stdin = new MemoryKeyboard();
  const t0 = performance.now();
  const done = runTui([ref], { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream });
  await stdout.writesDone(2); // the alternate screen, then the first frame
  const firstFrameMs = stdout.writes[1]! - t0;
  const times: number[] = [];
  const byKey: Record<string, number[]> = {};
  const press = async (kind: string, keys: string) => {
    await pause(50); // past ink's frame throttle, so the frame is drawn on the key
    const before = stdout.writes.length;
    const t = performance.now();
    stdin.type(keys);
    await stdout.writesDone(before + 1);
    const ms = stdout.writes[before]! - t;
    times.push(ms);
    (byKey[kind] ??= []).push(ms);
  };
  for (let i = 0; i < rounds; i++) {
    const seq = 1 + Math.floor(((i + 1) * events) / (rounds + 1));
    await press('pageDown', '\u001B[6~');
    await press('jump', `:${seq}\r`);
    await press('search', '/kind=folio_put\r');
    await press('next', 'n');
    await press('whereFrom', 'o');
    await press('back', '\u000F'); // Ctrl-o
  }
  await pause(50);
  stdin.type('q');
  await done;
  const kinds = Object.fromEntries(Object.entries(byKey).map(([kind, ms]) => [kind, +median(ms).toFixed(1)]));
  return { firstFrameMs: Math.round(firstFrameMs), keyToFrameMs: +median(times).toFixed(1), rssMb: Math.round(process.resourceUsage().maxRSS / 1024), byKey: kinds };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [ref, events, rounds] = process.argv.slice(2);
  const figures = await measureTui(ref!, Number(events), rounds === undefined ? undefined : Number(rounds));
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
