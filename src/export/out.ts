/**
 * Where an export writes: a stream (stdout or a file) fed in chunks, waiting for it to drain, so a
 * run of millions of events goes out in constant memory whatever the reader's speed. Text formats
 * queue strings, binary ones (perfetto) bytes; the caller flushes between batches of events.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

type Chunk = string | Uint8Array;

export class Out {
  private pending: Chunk[] = [];
  private size = 0;

  constructor(private readonly stream: Writable) {}

  /** Queue text or bytes; call flush() at a safe point (between batches of events) to write them. */
  write(chunk: Chunk): void {
    this.pending.push(chunk);
    this.size += chunk.length;
  }

  /** Write what is queued, and wait while the stream's buffer is over its high-water mark. */
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const queued = this.pending;
    this.pending = [];
    this.size = 0;
    if (!this.stream.write(joined(queued))) await once(this.stream, 'drain');
  }
}

/** One write's worth: text joined as text, anything with bytes in it as one Buffer. */
function joined(chunks: Chunk[]): Chunk {
  if (chunks.every((c) => typeof c === 'string')) return chunks.join('');
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
}
