/**
 * A bounded queue of pushed chunks read as a byte stream: the meeting point between a producer that
 * pushes (a stream's 'data' events, a gzip inflater) and a `ByteSource` reader that pulls.
 *
 * State: `#chunks[#first..]` hold `#size` unread bytes, the first of them starting at `#firstOff`.
 * The producer learns about backpressure from `push()`'s return value (false: at or above the high
 * water mark, stop) and is told to go on by `onLow` once a read brings the queue under the low water
 * mark. `end(err)` marks the end of input; pending and later reads see the queued bytes first, then
 * 0 (clean end) or the error.
 */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  #first = 0;
  #firstOff = 0;
  #size = 0;
  #ended = false;
  #error: Error | null = null;
  /** True while the producer was told to stop and has not been resumed. */
  #stopped = false;
  /** Resolves the single pending reader waiting for bytes or the end. */
  #wake: (() => void) | null = null;
  readonly #highWaterBytes: number;
  readonly #lowWaterBytes: number;
  readonly #onLow: () => void;

  constructor(highWaterBytes: number, onLow: () => void) {
    this.#highWaterBytes = highWaterBytes;
    this.#lowWaterBytes = highWaterBytes >>> 1;
    this.#onLow = onLow;
  }

  /** Bytes queued and not yet read. */
  get size(): number {
    return this.#size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Queues `chunk` (kept, not copied). Returns false when the producer should stop for now. */
  push(chunk: Buffer): boolean {
    if (this.#ended) return false;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      this.#wakeReader();
    }
    if (this.#size >= this.#highWaterBytes) this.#stopped = true;
    return !this.#stopped;
  }

  /** No more input; `error` (if any) is raised to readers after the queued bytes. */
  end(error: Error | null = null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#wakeReader();
  }

  /** Copies up to `length` queued bytes; waits while the queue is empty and not ended. */
  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    while (this.#size === 0) {
      if (this.#ended) {
        if (this.#error !== null) throw this.#error;
        return 0;
      }
      await this.#waitForBytes();
    }
    let done = 0;
    while (done < length && this.#size > 0) {
      const c = this.#chunks[this.#first] as Buffer;
      const n = c.copy(
        buf,
        offset + done,
        this.#firstOff,
        Math.min(c.length, this.#firstOff + length - done),
      );
      done += n;
      this.#size -= n;
      this.#firstOff += n;
      if (this.#firstOff === c.length) this.#dropFirst();
    }
    if (this.#stopped && this.#size <= this.#lowWaterBytes && !this.#ended) {
      this.#stopped = false;
      this.#onLow();
    }
    return done;
  }

  /** The next `n` bytes (copied, fewer at the end) without consuming them. */
  async peek(n: number): Promise<Buffer> {
    while (this.#size < n && !this.#ended) {
      // A peek larger than the high water mark must not deadlock a stopped producer.
      if (this.#stopped) {
        this.#stopped = false;
        this.#onLow();
      }
      await this.#waitForBytes();
    }
    if (this.#size === 0 && this.#error !== null) throw this.#error;
    const out = Buffer.alloc(Math.min(n, this.#size));
    let done = 0;
    for (let i = this.#first, off = this.#firstOff; done < out.length; i++, off = 0) {
      const c = this.#chunks[i] as Buffer;
      done += c.copy(out, done, off, Math.min(c.length, off + out.length - done));
    }
    return out;
  }

  #dropFirst(): void {
    this.#first++;
    this.#firstOff = 0;
    // Compact now and then instead of shift() per chunk.
    if (this.#first >= 64 || this.#first === this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }

  #waitForBytes(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #wakeReader(): void {
    const w = this.#wake;
    if (w !== null) {
      this.#wake = null;
      w();
    }
  }
}
