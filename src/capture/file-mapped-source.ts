/**
 * A capture file read through a read-only memory mapping (native addon), walked in place.
 *
 * The plain-file path copies every byte from the page cache into a Node buffer, and that copy
 * was the largest single cost of reading a file. With the file mapped, `MappedChunkReader` hands
 * the walker windows of the mapping itself. The file is contiguous, so a record that straddles a
 * window boundary needs no carrying: the next window simply starts where the walker stopped.
 *
 * Used for non-empty regular files that are not gzip when the addon is available; everything else
 * (stdin, FIFOs, gzip, no addon) takes the read() path. Frames alias the mapping, as they alias the
 * read buffer on the other path: copy what you keep. Pages behind the window are dropped from the
 * process as the walk moves on (they stay readable), so RSS does not grow with the file; the addon
 * does that, and maps the pages ahead of the window, on a thread of its own (mapped-file.cc).
 *
 * Nothing on this path waits for I/O, so `next()` yields to the event loop once per window:
 * without that, the pcap writer's completions, its early syncs, timers and signals would all wait
 * until the whole file was walked (or the write budget filled up).
 */
import type { ByteSource } from './file-byte-source.ts';
import type { WindowReader } from './file-chunk-reader.ts';
import { nativeAddon, type NativeAddon } from './native-addon.ts';

export class MappedFileSource implements ByteSource {
  /** The whole file. Released by the garbage collector once nothing references it. */
  readonly mapping: Buffer;
  readonly #addon: NativeAddon;
  rawBytesRead = 0;
  readonly rawBytesTotal: number;
  readonly endCause = null;
  #pos = 0;

  private constructor(addon: NativeAddon, mapping: Buffer) {
    this.#addon = addon;
    this.mapping = mapping;
    this.rawBytesTotal = mapping.length;
  }

  /** Maps `path`, or returns null when mapping does not apply (no addon, not a regular file). */
  static tryOpen(path: string): MappedFileSource | null {
    const addon = nativeAddon();
    if (addon === null) return null;
    let mapping: Buffer | null;
    try {
      mapping = addon.mapFile(path);
    } catch {
      return null; // the read() path reports the error with the usual message
    }
    return mapping === null ? null : new MappedFileSource(addon, mapping);
  }

  /**
   * Sequential reads copy out of the mapping (used when the file is gzip). What was copied is done
   * with, so it is released as on the walk path: RSS stays flat here too.
   */
  read(buf: Buffer, offset: number, length: number): Promise<number> {
    const n = this.mapping.copy(
      buf,
      offset,
      this.#pos,
      Math.min(this.#pos + length, this.mapping.length),
    );
    this.#pos += n;
    this.rawBytesRead = this.#pos;
    this.release(this.#pos);
    return Promise.resolve(n);
  }

  /**
   * Pages below `upTo` are done with: drop them so RSS does not grow with the file, and map the
   * ones after it ahead of the walk (asynchronously, in the addon). `upTo` never decreases.
   */
  release(upTo: number): void {
    this.#addon.releaseMapped(this.mapping, upTo);
  }

  peek(n: number): Promise<Buffer> {
    return Promise.resolve(this.mapping.subarray(this.#pos, this.#pos + n));
  }

  /** The walk is over: drops every page, which also ends the addon's read-ahead thread. */
  close(): Promise<void> {
    this.release(this.mapping.length);
    return Promise.resolve();
  }
}

/** Windows of `chunkBytes` over the mapping; the unconsumed tail stays in the next window. */
export class MappedChunkReader implements WindowReader {
  readonly buf: Buffer;
  start = 0;
  end = 0;
  readonly #src: MappedFileSource;
  readonly #chunkBytes: number;
  #skip = 0;

  constructor(src: MappedFileSource, chunkBytes: number) {
    this.#src = src;
    this.buf = src.mapping;
    this.#chunkBytes = Math.max(1, chunkBytes);
  }

  get skipRemaining(): number {
    return this.#skip;
  }

  consume(pos: number): void {
    const size = this.buf.length;
    if (pos > size) {
      this.#skip = pos - size;
      pos = size;
    }
    this.start = pos;
    if (pos > this.end) this.end = pos;
  }

  next(): Promise<boolean> {
    const size = this.buf.length;
    if (this.end >= size) return Promise.resolve(false);
    // The walker's borrow of everything before `start` ended with this call.
    this.#src.release(this.start);
    this.end = Math.min(size, this.end + this.#chunkBytes);
    this.#src.rawBytesRead = this.end;
    return new Promise((resolve) => setImmediate(resolve, true));
  }

  close(): Promise<void> {
    return this.#src.close();
  }
}
