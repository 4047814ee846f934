/**
 * Received stream bytes not consumed yet: a chunk list with a running byte count (after ws's
 * receiver). `consume(n)` hands out a view when the bytes sit in the first chunk and copies only when
 * they span chunks.
 *
 * Chunks pushed during a `data()` call are borrowed: before the call returns, `ownTail()` copies the
 * part of the last chunk still queued. A sender dribbling one byte per segment would leave a long
 * list of tiny copies, so past MAX_CHUNKS the list is merged into one buffer (sized by bytes that
 * arrived, never by a declared length).
 */

const MAX_CHUNKS = 64;

export class ByteQueue {
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

  /** Big-endian uint16 at the front, consumed. Caller checks `size >= 2`. */
  readU16(): number {
    const head = this.#chunks[0]!;
    if (head.length >= 2) {
      const v = head.readUInt16BE(0);
      this.consume(2);
      return v;
    }
    return this.consume(2).readUInt16BE(0);
  }

  /** The next `n` bytes. Caller checks `size >= n`. A view when one chunk holds them, else a copy. */
  consume(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#size -= n;
    const head = this.#chunks[0]!;
    if (head.length > n) {
      this.#chunks[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    if (head.length === n) {
      this.#chunks.shift();
      return head;
    }
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    return out;
  }

  /** Copies what is left of the last (borrowed) chunk, so the queue owns all it holds. */
  ownTail(): void {
    const last = this.#chunks.length - 1;
    if (last < 0) return;
    if (this.#chunks.length > MAX_CHUNKS) {
      this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
      return;
    }
    this.#chunks[last] = Buffer.from(this.#chunks[last]!);
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
