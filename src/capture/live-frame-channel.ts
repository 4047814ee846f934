/**
 * The worker's end of the frame channel: admitted frames are packed into a fixed pool of batch
 * buffers that travel to the main thread (transferred, not copied) and come back once written.
 *
 *   write(frame) ─► FrameBatchWriter ──full / flush()──► post(batch) ══► main ══► giveBack(batch)
 *                        ▲                                                          │
 *                        └──────────────────── pool of free buffers ◄───────────────┘
 *
 * `write` is synchronous (it runs inside the flow stage), so it must never find the pool empty:
 * before a unit of input (a ring block, an input batch) the worker awaits `reserve(bytes)`, which
 * guarantees room for that much input. A batch record is never larger than the ring or batch
 * record it came from, so the reservation holds for the whole unit.
 */
import type { FrameView } from './frame.ts';
import type { FrameSink } from '../flow/flow-stage.ts';
import { FrameBatchWriter } from './frame-batch.ts';

export class FrameChannelSink implements FrameSink {
  readonly #writer: FrameBatchWriter;
  readonly #free: ArrayBuffer[] = [];
  readonly #post: (batch: ArrayBuffer) => void;
  #waiter: (() => void) | null = null;
  #hasBuffer = true;
  /** Frames that found no room (a reservation bug); counted, never silent. */
  framesUnsent = 0;
  batchesSent = 0;

  /** `batches` buffers of `batchBytes` each; one is in the writer from the start. */
  constructor(batchBytes: number, batches: number, post: (batch: ArrayBuffer) => void) {
    this.#writer = new FrameBatchWriter(batchBytes);
    for (let i = 1; i < batches; i++) this.#free.push(new ArrayBuffer(batchBytes));
    this.#post = post;
  }

  write(frame: FrameView): void {
    if (
      !this.#hasBuffer ||
      !this.#writer.append(
        frame.iface.id,
        frame.tsSec,
        frame.tsNsec,
        frame.data,
        frame.offset,
        frame.capLen,
        frame.origLen,
      )
    ) {
      this.framesUnsent++;
    }
  }

  drain(): void {
    // Backpressure is applied through reserve() before each unit of input.
  }

  /** Resolves when the current batch can take `bytes` more of input. */
  async reserve(bytes: number): Promise<void> {
    if (this.#hasBuffer && this.#writer.freeBytes >= bytes) return;
    this.flush();
    while (!this.#hasBuffer) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** Sends the current batch when it holds frames and starts a new one from the pool. */
  flush(): void {
    if (!this.#hasBuffer || this.#writer.frames === 0) return;
    const batch = this.#writer.take();
    if (batch) {
      this.batchesSent++;
      this.#post(batch);
    }
    this.#nextBuffer();
  }

  /** A batch buffer is back from the main thread. */
  giveBack(batch: ArrayBuffer): void {
    this.#free.push(batch);
    if (!this.#hasBuffer) this.#nextBuffer();
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  #nextBuffer(): void {
    const buf = this.#free.pop();
    this.#hasBuffer = buf !== undefined;
    if (buf) this.#writer.reuse(buf);
  }
}
