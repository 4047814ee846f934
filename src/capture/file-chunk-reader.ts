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
 * Reading the next chunk while the walker runs on the current one (two buffers) was measured and
 * dropped: on a 2-vCPU host the copy from the page cache competes with parsing for memory bandwidth
 * and the pipeline got no faster.
 */
import type { ByteSource } from './file-byte-source.ts';

/** Default read size: large reads keep syscalls and drains rare (2–4 MiB measured best). */
export const DEFAULT_CHUNK_BYTES = 4 << 20;
/** Default room for a carried tail: a maximal classic pcap record (16 + 256 KiB) with margin. */
export const DEFAULT_HEADROOM_BYTES = 512 << 10;

export class ChunkReader {
  /** Current window: `buf[start, end)`. Borrowed by the walker until the next call to `next()`. */
  buf: Buffer;
  start: number;
  end: number;
  readonly #src: ByteSource;
  readonly #chunkBytes: number;
  #headroom: number;
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
    const tail = this.end - this.start;
    if (tail > this.#headroom) this.#grow(tail);
    // Park the tail right before the read position (memmove-safe when the ranges overlap).
    const h = this.#headroom;
    this.buf.copyWithin(h - tail, this.start, this.end);
    this.start = h - tail;
    this.end = h;
    while (!this.#eof) {
      const n = await this.#src.read(this.buf, h, this.#chunkBytes);
      if (n === 0) {
        this.#eof = true;
        break;
      }
      if (this.#skip === 0) {
        this.end = h + n;
        return true;
      }
      // Skipping: the window is empty, so the kept bytes can start anywhere; move them to h.
      const k = Math.min(this.#skip, n);
      this.#skip -= k;
      if (k < n) {
        this.buf.copyWithin(h, h + k, h + n);
        this.end = h + n - k;
        return true;
      }
    }
    return false;
  }

  /** Closes the source. */
  close(): Promise<void> {
    return this.#src.close();
  }

  /** The tail does not fit the headroom: a larger buffer, the tail copied to its start. */
  #grow(tail: number): void {
    let h = Math.max(1024, this.#headroom * 2);
    while (h < tail) h *= 2;
    const bigger = Buffer.allocUnsafe(h + this.#chunkBytes);
    this.buf.copy(bigger, 0, this.start, this.end);
    this.buf = bigger;
    this.start = 0;
    this.end = tail;
    this.#headroom = h;
  }
}
