/**
 * Bytes received but not yet parsed, as a list of chunks with a running byte count (ws receiver).
 *
 * Chunks pushed during a `data()` call are borrowed; before the call returns the owner calls
 * `retain()`, which copies what is left into memory the queue owns. Parsers keep at most a frame
 * header's worth of bytes waiting, so that copy stays small.
 */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /** Caller checks `size >= n`. A view when one chunk holds the bytes, else one copy. */
  consume(n: number): Buffer {
    const head = this.#chunks[0]!;
    if (head.length > n) {
      this.#chunks[0] = head.subarray(n);
      this.#size -= n;
      return head.subarray(0, n);
    }
    if (head.length === n) {
      this.#chunks.shift();
      this.#size -= n;
      return head;
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const piece = this.consumeHead(n - off);
      piece.copy(out, off);
      off += piece.length;
    }
    return out;
  }

  /** A view of the next 1..`max` bytes, never more than the first chunk holds. Caller checks size > 0. */
  consumeHead(max: number): Buffer {
    const head = this.#chunks[0]!;
    if (head.length > max) {
      this.#chunks[0] = head.subarray(max);
      this.#size -= max;
      return head.subarray(0, max);
    }
    this.#chunks.shift();
    this.#size -= head.length;
    return head;
  }

  /** Drops up to `n` bytes; returns how many were dropped. */
  skip(n: number): number {
    let left = Math.min(n, this.#size);
    const dropped = left;
    while (left > 0) left -= this.consumeHead(left).length;
    return dropped;
  }

  /** Replaces the (borrowed) chunks still queued by one owned copy. */
  retain(): void {
    if (this.#size === 0) return;
    const copy = Buffer.allocUnsafe(this.#size);
    let off = 0;
    for (const c of this.#chunks) off += c.copy(copy, off);
    this.#chunks = [copy];
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
