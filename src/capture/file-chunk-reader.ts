/**
 * Presents a `ByteSource` to the record walkers as a sequence of windows of contiguous bytes.
 *
 * Layout: one buffer of `headroom + chunkBytes` bytes, reused for the whole input. Each read lands at
 * offset `headroom`; the unconsumed tail of the previous window (a record that straddles the chunk
 * boundary) is first moved just in front of it, so the new window `[start, end)` is contiguous and
 * only the tail is ever copied:
 *
 *   before next():  [ headroom     | ......chunk k.......|tail ]    window = chunk k
 *   after next():   [      |tail   | chunk k+1                 ]    window = tail + chunk k+1
 *
 * Invariants: `start <= end`; a carried tail always fits the headroom (a record longer than the
 * headroom, i.e. a big pcapng block or a tiny test chunk size, grows the buffer). A walker may consume
 * past `end` (a block it does not want buffered): those bytes are discarded from the next reads.
 *
 * Read-ahead: two such buffers alternate. While the walker (and the whole pipeline behind it) works
 * on one window, the next chunk is already being read into the other buffer on the libuv pool, so
 * the kernel's page-cache copy overlaps parsing instead of adding to it. The previous window's
 * buffer is reused only after `next()` was called, which is when the walker's borrow ends. At most
 * one read is outstanding, as `ByteSource` requires.
 */
import type { ByteSource } from './file-byte-source.ts';

/** Default read size: large reads keep syscalls and drains rare (2–4 MiB measured best). */
export const DEFAULT_CHUNK_BYTES = 4 << 20;
/** Default room for a carried tail: a maximal classic pcap record (16 + 256 KiB) with margin. */
export const DEFAULT_HEADROOM_BYTES = 512 << 10;

/** What the run loop needs of a reader: a window `buf[start, end)` that `next()` moves forward. */
export interface WindowReader {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  /** Input bytes consumed past the end of the input when it ended. */
  readonly skipRemaining: number;
  consume(pos: number): void;
  next(): Promise<boolean>;
  close(): Promise<void>;
}

export class ChunkReader implements WindowReader {
  /** Current window: `buf[start, end)`. Borrowed by the walker until the next call to `next()`. */
  buf: Buffer;
  start: number;
  end: number;
  readonly #src: ByteSource;
  readonly #chunkBytes: number;
  #headroom: number;
  /** The buffer that is not the current window: target of the read-ahead. */
  #spare: Buffer;
  /** Read-ahead into `#spare` at `#headroom`, resolving to the bytes read (0 at the end). */
  #ahead: Promise<number> | null = null;
  /** Input bytes still to discard (consumed past `end`). */
  #skip = 0;
  #eof = false;

  constructor(
    src: ByteSource,
    chunkBytes = DEFAULT_CHUNK_BYTES,
    headroomBytes = DEFAULT_HEADROOM_BYTES,
  ) {
    this.#src = src;
    this.#chunkBytes = Math.max(1, chunkBytes);
    this.#headroom = Math.max(0, headroomBytes);
    this.buf = Buffer.allocUnsafe(this.#headroom + this.#chunkBytes);
    this.#spare = Buffer.allocUnsafe(this.#headroom + this.#chunkBytes);
    this.start = this.#headroom;
    this.end = this.#headroom;
  }

  /** Bytes consumed past the end of the input when it ended (a skipped block cut short). */
  get skipRemaining(): number {
    return this.#skip;
  }

  /** Marks the window consumed up to `pos`; past `end` means skip input not read yet. */
  consume(pos: number): void {
    if (pos > this.end) {
      this.#skip += pos - this.end;
      this.start = this.end;
    } else {
      this.start = pos;
    }
  }

  /**
   * Moves to the next window: the unconsumed tail followed by the next chunk. Resolves false at the end
   * of the input, leaving the unconsumed tail as the window.
   */
  async next(): Promise<boolean> {
    while (!this.#eof) {
      const n = await (this.#ahead ?? this.#readAhead());
      this.#ahead = null;
      if (n === 0) {
        this.#eof = true;
        break;
      }
      let from = 0;
      if (this.#skip > 0) {
        // Skipping: the window is empty, so only the bytes past the skipped ones are kept.
        from = Math.min(this.#skip, n);
        this.#skip -= from;
        if (from === n) continue;
      }
      this.#swapIn(from, n);
      this.#ahead = this.#readAhead();
      return true;
    }
    // End of input: the tail stays the window, where it is.
    return false;
  }

  /**
   * Closes the source. A read-ahead may still be waiting on a quiet pipe: closing the source is
   * what settles it, so close first, then let the read-ahead finish before returning.
   */
  async close(): Promise<void> {
    const closing = this.#src.close();
    await this.#ahead?.catch(() => 0);
    this.#ahead = null;
    await closing;
  }

  #readAhead(): Promise<number> {
    return this.#src.read(this.#spare, this.#headroom, this.#chunkBytes);
  }

  /**
   * Makes the spare buffer the window: the current tail parked right before its fresh bytes
   * `[headroom + from, headroom + n)`, then the old window's buffer becomes the spare.
   */
  #swapIn(from: number, n: number): void {
    const h = this.#headroom;
    const tail = this.end - this.start;
    const old = this.buf;
    const dataLen = n - from;
    let next = this.#spare;
    let spare = old;
    let dataStart = h + from;
    if (tail > dataStart) {
      // The tail does not fit in front of the data: larger buffers (rare: a huge pcapng block).
      let room = Math.max(1024, h * 2);
      while (room < tail) room *= 2;
      const bigger = Buffer.allocUnsafe(room + this.#chunkBytes);
      next.copy(bigger, room, dataStart, dataStart + dataLen);
      next = bigger;
      spare = Buffer.allocUnsafe(room + this.#chunkBytes);
      dataStart = room;
      this.#headroom = room;
    }
    old.copy(next, dataStart - tail, this.start, this.end);
    this.#spare = spare;
    this.buf = next;
    this.start = dataStart - tail;
    this.end = dataStart + dataLen;
  }
}
