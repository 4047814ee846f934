/**
 * The bounded queue in front of one DeliveryTarget (sink-target.ts).
 *
 *   offer(record) ──► FIFO (≤ maxRecords, ≤ maxBytes) ──► delivery loop ──batch──► target.deliver
 *                                                          ▲ failure: same batch again after a
 *                                                            capped exponential backoff
 *
 * Live capture must never wait for a sink, so a full queue drops the newest record (counted in
 * `stats.dropped`). Reading a file may wait instead: with `dropWhenFull: false` an offer is always
 * taken and `waitForRoom()` resolves once the queue is back under its bounds, the backpressure the
 * pipeline awaits between input chunks.
 */
import type { DeliveryTarget, NamedSinkStats, SinkStats } from './sink-target.ts';

/**
 * A target that delivered the first `delivered` records of a batch before failing rejects with
 * this, so that only the rest is sent again (no duplicates at the destination).
 */
export class PartialDeliveryError extends Error {
  readonly delivered: number;
  constructor(delivered: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'PartialDeliveryError';
    this.delivered = delivered;
  }
}

export interface SinkQueueOptions {
  /** Records the queue may hold (default 10 000). */
  maxRecords?: number;
  /** Bytes of encoded records the queue may hold (default 64 MiB). */
  maxBytes?: number;
  /** Records per `deliver` call (default 256). */
  batchRecords?: number;
  /** First retry delay, doubled after every failure up to `retryMaxMs` (defaults 100 ms, 10 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Attempts per batch before it is dropped; 0 (default) retries until close. */
  maxAttempts?: number;
  /** false: never drop on a full queue, the producer awaits `waitForRoom()` (file input). */
  dropWhenFull?: boolean;
  /** Told about every failed attempt (for logs). */
  onError?: (e: unknown) => void;
}

export const DEFAULT_QUEUE_RECORDS = 10_000;
export const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024;
const DEFAULT_BATCH = 256;
/** Removed head slots are compacted away once there are this many. */
const COMPACT_AT = 1024;

export class SinkQueue {
  readonly target: DeliveryTarget;
  readonly stats: SinkStats = {
    delivered: 0,
    dropped: 0,
    errors: 0,
    queued: 0,
    queuedBytes: 0,
    spooled: 0,
  };
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #batch: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #maxAttempts: number;
  readonly #dropWhenFull: boolean;
  readonly #onError: ((e: unknown) => void) | undefined;
  #items: Buffer[] = [];
  #head = 0;
  #loop: Promise<void> | null = null;
  #roomWaiters: (() => void)[] = [];
  /** Wakes the loop from a backoff sleep early (on close). */
  #wake: (() => void) | null = null;
  #closing = false;
  #stopped = false;

  constructor(target: DeliveryTarget, opts: SinkQueueOptions = {}) {
    this.target = target;
    this.#maxRecords = opts.maxRecords ?? DEFAULT_QUEUE_RECORDS;
    this.#maxBytes = opts.maxBytes ?? DEFAULT_QUEUE_BYTES;
    this.#batch = opts.batchRecords ?? DEFAULT_BATCH;
    this.#retryBaseMs = opts.retryBaseMs ?? 100;
    this.#retryMaxMs = opts.retryMaxMs ?? 10_000;
    this.#maxAttempts = opts.maxAttempts ?? 0;
    this.#dropWhenFull = opts.dropWhenFull ?? true;
    this.#onError = opts.onError;
  }

  named(): NamedSinkStats {
    return { name: this.target.name, kind: this.target.kind, stats: { ...this.stats } };
  }

  /** Queues one encoded record; false when it was dropped (queue full, or closed). */
  offer(record: Buffer): boolean {
    const s = this.stats;
    if (this.#closing) {
      s.dropped++;
      return false;
    }
    if (this.#dropWhenFull && s.queued > 0 && !this.#hasRoomFor(record.length)) {
      s.dropped++;
      return false;
    }
    this.#items.push(record);
    s.queued++;
    s.queuedBytes += record.length;
    this.#loop ??= this.#run();
    return true;
  }

  /** Resolves once the queue is under its bounds (at once when it is, or when closed). */
  waitForRoom(): Promise<void> {
    if (this.#stopped || this.#hasRoomFor(0)) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /**
   * Delivers what it can within `flushTimeoutMs`, counts the rest as dropped, closes the target.
   * Later offers are dropped.
   */
  async close(flushTimeoutMs: number): Promise<void> {
    this.#closing = true;
    const loop = this.#loop;
    if (loop) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, flushTimeoutMs);
      });
      this.#wake?.(); // retry now rather than after a long backoff
      await Promise.race([loop, timedOut]);
      clearTimeout(timer);
    }
    this.#stopped = true;
    this.#wake?.();
    const s = this.stats;
    s.dropped += s.queued;
    s.queued = 0;
    s.queuedBytes = 0;
    this.#items = [];
    this.#head = 0;
    this.#notifyRoom();
    await this.target.close().catch((e: unknown) => this.#onError?.(e));
  }

  /** Read through a method: the loop checks it again after every await. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  #hasRoomFor(bytes: number): boolean {
    const s = this.stats;
    return s.queued < this.#maxRecords && s.queuedBytes + bytes <= this.#maxBytes;
  }

  async #run(): Promise<void> {
    let attempts = 0;
    while (!this.#stopped && this.stats.queued > 0) {
      const batch = this.#items.slice(this.#head, this.#head + this.#batch);
      try {
        await this.target.deliver(batch);
        if (this.#isStopped()) break;
        this.#remove(batch.length, 'delivered');
        attempts = 0;
      } catch (e) {
        if (this.#isStopped()) break;
        this.stats.errors++;
        this.#onError?.(e);
        attempts++;
        let done = 0;
        if (e instanceof PartialDeliveryError) {
          done = Math.min(Math.max(0, e.delivered), batch.length);
          if (done > 0) this.#remove(done, 'delivered');
        }
        if (this.#maxAttempts > 0 && attempts >= this.#maxAttempts) {
          this.#remove(batch.length - done, 'dropped');
          attempts = 0;
          continue;
        }
        const delay = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (attempts - 1));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#closing ? Math.min(delay, 50) : delay);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
    this.#loop = null;
  }

  #remove(n: number, as: 'delivered' | 'dropped'): void {
    const s = this.stats;
    for (let i = 0; i < n; i++) {
      s.queuedBytes -= this.#items[this.#head + i]!.length;
    }
    this.#head += n;
    s.queued -= n;
    s[as] += n;
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#notifyRoom();
  }

  #notifyRoom(): void {
    if (this.#roomWaiters.length === 0 || !(this.#stopped || this.#hasRoomFor(0))) return;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }
}
