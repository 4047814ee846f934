/**
 * Collects one header block from the fragments of a HEADERS or PUSH_PROMISE frame and its
 * CONTINUATION frames (RFC 9113 §4.3), copying the borrowed fragment bytes. The buffer grows by
 * doubling as bytes arrive, never from a declared length, up to the cap the caller enforces.
 */

const INITIAL_CAPACITY_BYTES = 1024;

export class HeaderBlockBuilder {
  #buf: Buffer | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  append(fragment: Buffer): void {
    const need = this.#size + fragment.length;
    let buf = this.#buf;
    if (buf === null || buf.length < need) {
      let capacity = buf === null ? INITIAL_CAPACITY_BYTES : buf.length;
      while (capacity < need) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      if (buf !== null) buf.copy(grown, 0, 0, this.#size);
      this.#buf = buf = grown;
    }
    fragment.copy(buf, this.#size);
    this.#size = need;
  }

  /** The collected block (valid until the next `append`); the builder is empty afterwards. */
  take(): Buffer {
    const block = this.#buf === null ? Buffer.alloc(0) : this.#buf.subarray(0, this.#size);
    this.#buf = null;
    this.#size = 0;
    return block;
  }
}
