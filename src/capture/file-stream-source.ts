/**
 * A `ByteSource` over a Node `Readable` (stdin, a pipe): 'data' chunks go into a bounded
 * `ChunkQueue`; the stream is paused while the queue is full and resumed when reads drain it.
 */
import type { Readable } from 'node:stream';
import { ChunkQueue } from './file-chunk-queue.ts';
import type { ByteSource } from './file-byte-source.ts';

/** Queue bound before the stream is paused. */
const STREAM_HIGH_WATER_BYTES = 8 << 20;

export class StreamByteSource implements ByteSource {
  readonly #stream: Readable;
  readonly #queue: ChunkQueue;
  #closed = false;
  rawBytesRead = 0;
  readonly rawBytesTotal = 0;
  readonly endCause = null;

  readonly #onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.rawBytesRead += buf.length;
    if (!this.#queue.push(buf)) this.#stream.pause();
  };
  readonly #onEnd = (): void => {
    this.#queue.end();
  };
  readonly #onError = (err: Error): void => {
    this.#queue.end(err);
  };

  constructor(stream: Readable, highWaterBytes = STREAM_HIGH_WATER_BYTES) {
    this.#stream = stream;
    this.#queue = new ChunkQueue(highWaterBytes, () => stream.resume());
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('error', this.#onError);
    stream.resume();
  }

  read(buf: Buffer, offset: number, length: number): Promise<number> {
    return this.#queue.read(buf, offset, length);
  }

  peek(n: number): Promise<Buffer> {
    return this.#queue.peek(n);
  }

  /** Detaches from the stream and destroys it, so a half-read stdin does not keep the process alive. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stream.off('data', this.#onData);
      this.#stream.off('end', this.#onEnd);
      this.#stream.off('error', this.#onError);
      // Keep a late 'error' from becoming an uncaught exception once our listener is gone.
      this.#stream.on('error', () => undefined);
      this.#stream.destroy();
      this.#queue.end();
    }
    return Promise.resolve();
  }
}
