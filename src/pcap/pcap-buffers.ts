/**
 * Memory of the pcap output: record batches (large preallocated buffers that records are encoded
 * into) and the write budget that bounds the bytes handed to writers but not yet on disk.
 *
 * A batch belongs to exactly one file at a time: the rotating stream fills it, hands it to that
 * file's writer (`submit`), and the writer gives it back to the pool once its bytes are on disk
 * (plain) or compressed (gzip). Batches are reused, so encoding allocates nothing per packet.
 */

/** A buffer being filled with whole pcap records, plus its DataView and fill level. */
export class RecordBatch {
  readonly buf: Buffer;
  readonly view: DataView;
  used = 0;

  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafeSlow(bytes);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }
}

/**
 * Free list of standard-size batches. Oversized batches (a record bigger than the standard size,
 * possible with huge snaplens) are allocated on demand and not kept.
 */
export class BatchPool {
  readonly batchBytes: number;
  readonly #maxFree: number;
  readonly #free: RecordBatch[] = [];

  constructor(batchBytes: number, maxFree: number) {
    this.batchBytes = batchBytes;
    this.#maxFree = maxFree;
  }

  /** An empty batch with room for at least `minBytes`. */
  take(minBytes: number): RecordBatch {
    if (minBytes > this.batchBytes) return new RecordBatch(minBytes);
    const b = this.#free.pop() ?? new RecordBatch(this.batchBytes);
    b.used = 0;
    return b;
  }

  give(b: RecordBatch): void {
    if (b.buf.length === this.batchBytes && this.#free.length < this.#maxFree) {
      b.used = 0;
      this.#free.push(b);
    }
  }
}

/**
 * Bytes submitted to writers and not yet written (uncompressed input waiting for or inside
 * deflate, compressed output waiting for the disk). `drain()` waits while the total is above
 * `highWaterBytes`, resuming below half of it; above `hardLimitBytes` the output drops frames
 * instead of buffering more (counted), for callers that do not await `drain()`.
 */
export class WriteBudget {
  readonly highWaterBytes: number;
  readonly hardLimitBytes: number;
  /** Where the gauge lives (the output's stats object). */
  readonly #counters: { bufferedBytes: number; drainWaits: number };
  #waiters: (() => void)[] = [];

  constructor(highWaterBytes: number, counters: { bufferedBytes: number; drainWaits: number }) {
    this.highWaterBytes = highWaterBytes;
    this.hardLimitBytes = highWaterBytes * 4;
    this.#counters = counters;
  }

  get bufferedBytes(): number {
    return this.#counters.bufferedBytes;
  }

  add(n: number): void {
    this.#counters.bufferedBytes += n;
  }

  release(n: number): void {
    const c = this.#counters;
    c.bufferedBytes -= n;
    if (this.#waiters.length > 0 && c.bufferedBytes <= this.highWaterBytes / 2) {
      const ws = this.#waiters;
      this.#waiters = [];
      for (const w of ws) w();
    }
  }

  get overHardLimit(): boolean {
    return this.#counters.bufferedBytes > this.hardLimitBytes;
  }

  /** Resolves at once below the high-water mark, else once below half of it. */
  wait(): Promise<void> {
    if (this.#counters.bufferedBytes <= this.highWaterBytes) return Promise.resolve();
    this.#counters.drainWaits++;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
