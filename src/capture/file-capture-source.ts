/**
 * The run loop of an offline capture: reader windows through a record walker into the consumer.
 *
 *   loop: walker.walk(window) → onFrame × n → await drain() → reader.next() (tail + next chunk)
 *
 * Backpressure is the consumer's `drain()`, awaited after every window before more input is read.
 * Frames alias the window buffer, which the next read overwrites: consumers copy what they keep past
 * `drain()`.
 */
import { TapgateError } from '../errors.ts';
import type { CaptureInterface, FrameConsumer, SourceStats } from './frame.ts';
import { errText, type ByteSource } from './file-byte-source.ts';
import type { WindowReader } from './file-chunk-reader.ts';
import type { RecordWalker } from './file-record-walker.ts';
import { countSourceError } from './file-source-errors.ts';
import type { CaptureFileSource, CaptureFormat } from './open-capture.ts';

export class FileCaptureSource implements CaptureFileSource {
  readonly format: CaptureFormat;
  readonly compressed: boolean;
  readonly stats: SourceStats;
  readonly #name: string;
  readonly #src: ByteSource;
  readonly #reader: WindowReader;
  readonly #walker: RecordWalker;
  #started = false;

  constructor(init: {
    name: string;
    format: CaptureFormat;
    compressed: boolean;
    stats: SourceStats;
    src: ByteSource;
    reader: WindowReader;
    walker: RecordWalker;
  }) {
    this.#name = init.name;
    this.format = init.format;
    this.compressed = init.compressed;
    this.stats = init.stats;
    this.#src = init.src;
    this.#reader = init.reader;
    this.#walker = init.walker;
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.#walker.interfaces;
  }

  async run(consumer: FrameConsumer, signal?: AbortSignal): Promise<SourceStats> {
    if (this.#started) throw new TapgateError('TG_ERR_USAGE', `${this.#name}: run() called twice`);
    this.#started = true;
    const reader = this.#reader;
    const walker = this.#walker;
    const stats = this.stats;
    try {
      while (!stopped(walker, signal)) {
        reader.consume(walker.walk(reader.buf, reader.start, reader.end, consumer));
        stats.inputBytesRead = this.#src.rawBytesRead;
        await consumer.drain();
        if (stopped(walker, signal)) break;
        // A read can wait forever on a quiet pipe: the abort signal must end the wait too.
        const more = await untilAborted(this.#next(), signal);
        if (more === ABORTED) break;
        if (!more) {
          const cause = this.#src.endCause;
          if (cause !== null) {
            // Damaged compression: the cut record is part of that damage, not a second problem.
            countSourceError(stats, cause);
            walker.finish(0);
          } else {
            walker.finish(reader.end - reader.start + reader.skipRemaining);
          }
          break;
        }
      }
    } finally {
      stats.inputBytesRead = this.#src.rawBytesRead;
      await reader.close();
    }
    return stats;
  }

  close(): Promise<void> {
    if (this.#started) return Promise.resolve();
    this.#started = true;
    return this.#reader.close();
  }

  /** reader.next(), with I/O failures turned into TG_ERR_INPUT_OPEN naming the input. */
  async #next(): Promise<boolean> {
    try {
      return await this.#reader.next();
    } catch (e) {
      throw new TapgateError('TG_ERR_INPUT_OPEN', `error reading ${this.#name}: ${errText(e)}`, {
        cause: e,
      });
    }
  }
}

const ABORTED = Symbol('aborted');

/** Resolves with `p`, or with ABORTED as soon as `signal` fires (`p` is then left to settle alone). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | typeof ABORTED> {
  if (!signal) return p;
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      resolve(ABORTED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The walker gave up or the caller aborted. A function, so the compiler does not narrow these
 * between checks: both change while run() awaits.
 */
function stopped(walker: RecordWalker, signal: AbortSignal | undefined): boolean {
  return walker.done || signal?.aborted === true;
}
