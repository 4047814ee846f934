/**
 * A queue of byte chunks read front to back: the chunk list of ws's receiver, adapted to borrowed
 * input.
 *
 * Invariant: `#chunks` hold `#size` unread bytes; `#chunks[0 .. #owned)` are private copies (or views
 * of them), later chunks may alias memory the caller only lends for the duration of a call. Before
 * that call returns, the owner calls `retain()`, which copies exactly the borrowed bytes still unread,
 * so the common case (a whole message inside one delivered buffer) never copies.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #size = 0;
  #owned = 0;

  /** Unread bytes. */
  get size(): number {
    return this.#size;
  }

  /** Appends `chunk` without copying it; call `retain()` before its memory goes away. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  /**
   * Removes and returns the first `n` bytes; the caller checks `n <= size`. A view when they sit in
   * one chunk (it aliases that chunk, borrowed or not), else one copy.
   */
  consume(n: number): Buffer {
    const head = this.#chunks[0]!;
    this.#size -= n;
    if (head.length > n) {
      this.#chunks[0] = head.subarray(n);
      return head.subarray(0, n);
    }
    if (head.length === n) {
      this.#shift();
      return head;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take === c.length) this.#shift();
      else this.#chunks[0] = c.subarray(take);
    }
    return out;
  }

  /** Copies the unread bytes that may still alias borrowed memory. */
  retain(): void {
    for (let i = this.#owned; i < this.#chunks.length; i++) {
      this.#chunks[i] = Buffer.from(this.#chunks[i]!);
    }
    this.#owned = this.#chunks.length;
  }

  /** Drops every unread byte. */
  clear(): void {
    this.#chunks = [];
    this.#size = 0;
    this.#owned = 0;
  }

  #shift(): void {
    this.#chunks.shift();
    if (this.#owned > 0) this.#owned--;
  }
}
