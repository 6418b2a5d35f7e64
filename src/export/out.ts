/**
 * Where an export writes: a stream (stdout or a file) fed in chunks, waiting for it to drain, so a
 * run of millions of events goes out in constant memory whatever the reader's speed.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Text is gathered to about this many characters before each write. */
const CHUNK_CHARS = 1 << 16;

export class Out {
  private pending: string[] = [];
  private size = 0;

  constructor(private readonly stream: Writable) {}

  /** Queue text; call flush() at a safe point (between batches of events) to write it. */
  write(text: string): void {
    this.pending.push(text);
    this.size += text.length;
  }

  /** Is enough queued that the caller should flush before going on? */
  get full(): boolean {
    return this.size >= CHUNK_CHARS;
  }

  /** Write what is queued, and wait while the stream's buffer is over its high-water mark. */
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.size = 0;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}
