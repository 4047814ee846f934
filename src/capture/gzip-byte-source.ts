/**
 * A `ByteSource` that inflates a gzip `ByteSource` with node:zlib, streaming.
 *
 *   raw source --#pump: read rawChunkBytes, write--> Gunzip --'data'--> ChunkQueue --read()--> caller
 *
 * Backpressure is applied on the input side only: the pump stops feeding the inflater while the
 * queue is above its high water mark, and the inflater itself is never paused. A paused inflater
 * keeps output in its own buffer, and that output is lost if the stream errors; unpaused, every byte
 * inflated before damage is already in our queue when the error arrives.
 *
 * Damage (bad data, a stream cut short) is not fatal: the queue ends cleanly, `endCause` becomes
 * `gzip_corrupt`, and the caller gets every byte inflated before the damage. Only an I/O error of
 * the raw input is raised to readers.
 */
import { constants, createGunzip, type Gunzip } from 'node:zlib';
import { ChunkQueue } from './file-chunk-queue.ts';
import type { ByteSource } from './file-byte-source.ts';
import { SourceErrorCause } from './file-source-errors.ts';

/** Compressed bytes fed to the inflater per write. */
const RAW_CHUNK_BYTES = 1 << 20;
/** Inflated bytes queued before the pump stops feeding. */
const INFLATED_HIGH_WATER_BYTES = 8 << 20;
/**
 * Output chunk size of the inflater. When the data turns out damaged, Node drops the output of the
 * failing inflate call, so this bounds what is lost before the damage point (a cut stream loses
 * nothing: see #pump). 64 KiB costs ~5% of inflate speed against 256 KiB; zlib's 16 KiB ~20%.
 */
export const INFLATE_CHUNK_BYTES = 64 << 10;

export interface GzipSourceOptions {
  rawChunkBytes?: number;
  highWaterBytes?: number;
}

export class GzipByteSource implements ByteSource {
  readonly #raw: ByteSource;
  readonly #gunzip: Gunzip;
  readonly #queue: ChunkQueue;
  readonly #rawChunkBytes: number;
  readonly #highWaterBytes: number;
  readonly #pumpDone: Promise<void>;
  /** Set while the pump waits for the queue to drain. */
  #resumePump: (() => void) | null = null;
  #closed = false;
  endCause: SourceErrorCause | null = null;

  constructor(raw: ByteSource, options: GzipSourceOptions = {}) {
    this.#raw = raw;
    this.#rawChunkBytes = options.rawChunkBytes ?? RAW_CHUNK_BYTES;
    this.#highWaterBytes = options.highWaterBytes ?? INFLATED_HIGH_WATER_BYTES;
    this.#queue = new ChunkQueue(this.#highWaterBytes, () => {
      const r = this.#resumePump;
      this.#resumePump = null;
      r?.();
    });
    const g = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
    this.#gunzip = g;
    g.on('data', (chunk: Buffer) => {
      this.#queue.push(chunk);
    });
    g.on('end', () => {
      this.#queue.end();
    });
    g.on('error', () => {
      if (!this.#closed) this.endCause = SourceErrorCause.GzipCorrupt;
      this.#queue.end();
    });
    this.#pumpDone = this.#pump();
  }

  get rawBytesRead(): number {
    return this.#raw.rawBytesRead;
  }

  get rawBytesTotal(): number {
    return this.#raw.rawBytesTotal;
  }

  read(buf: Buffer, offset: number, length: number): Promise<number> {
    return this.#queue.read(buf, offset, length);
  }

  peek(n: number): Promise<Buffer> {
    return this.#queue.peek(n);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gunzip.destroy();
    this.#queue.end();
    const r = this.#resumePump;
    this.#resumePump = null;
    r?.();
    // Raw input first: a pump waiting on it (a stdin pipe still open) only returns once it is closed.
    await this.#raw.close();
    await this.#pumpDone;
  }

  /** True once close() ran or the inflater ended (cleanly or not): the pump has nothing left to do. */
  #stopping(): boolean {
    return this.#closed || this.#queue.ended;
  }

  /** Feeds the inflater from the raw source until the input ends, the inflater fails, or close(). */
  async #pump(): Promise<void> {
    const g = this.#gunzip;
    const q = this.#queue;
    try {
      for (;;) {
        if (this.#stopping()) return;
        if (q.size >= this.#highWaterBytes) {
          await new Promise<void>((resolve) => {
            this.#resumePump = resolve;
          });
          continue;
        }
        // Fresh buffer per write: the inflater keeps a reference until it has consumed it.
        const chunk = Buffer.allocUnsafe(this.#rawChunkBytes);
        const n = await this.#raw.read(chunk, 0, chunk.length);
        if (this.#stopping()) return;
        if (n === 0) {
          // Flush before end(): on a cut stream the final Z_FINISH call fails and its output would be
          // dropped; after a sync flush everything decodable is already out, and end() only reports
          // the damage ('unexpected end of file').
          await untilSettled(g, (done) => {
            g.flush(constants.Z_SYNC_FLUSH, done);
          });
          if (!this.#stopping()) g.end();
          return;
        }
        if (!g.write(chunk.subarray(0, n))) {
          await untilSettled(g, (done) => g.once('drain', done));
        }
      }
    } catch (e) {
      // The raw input failed: readers see the error after the bytes already inflated.
      q.end(e instanceof Error ? e : new Error(String(e)));
      g.destroy();
    }
  }
}

/** Waits for `arm`'s callback, or for the inflater to close (after an error or destroy()). */
function untilSettled(g: Gunzip, arm: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (g.destroyed) {
      resolve();
      return;
    }
    const done = (): void => {
      g.off('close', done);
      resolve();
    };
    g.once('close', done);
    arm(done);
  });
}
