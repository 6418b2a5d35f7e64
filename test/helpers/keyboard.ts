/**
 * A keyboard for `runTui` in a test: ink reads stdin in raw mode through 'readable' and read();
 * `type` hands it keys, and `raw` says whether the browser has the terminal in raw mode.
 */
import { EventEmitter } from 'node:events';

export class Keyboard extends EventEmitter {
  readonly isTTY = true;
  raw = false;
  private data: string | null = null;

  type(keys: string): void {
    this.data = keys;
    this.emit('readable');
  }

  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };

  setRawMode(on: boolean): void {
    this.raw = on;
  }

  setEncoding(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}
