/**
 * A bounds-checked cursor over one complete message (a handshake body, a decrypted QUIC payload).
 *
 * Reading past the end never throws: it returns zeros / empty views and latches `truncated`, so a
 * decoder reads a whole structure and checks once (gopacket's "truncated is not malformed": the
 * caller decides which code to count). Views alias the underlying buffer; decode or copy what you
 * keep.
 */
export class ByteReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #end: number;
  #truncated = false;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  /** Bytes left before the end of this reader's window. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Offset of the cursor in the underlying buffer. */
  get offset(): number {
    return this.#pos;
  }

  /** A read went past the end (the structure is cut short). */
  truncated(): boolean {
    return this.#truncated;
  }

  u8(): number {
    if (!this.#need(1)) return 0;
    return this.#buf[this.#pos++]!;
  }

  u16(): number {
    if (!this.#need(2)) return 0;
    const v = this.#buf.readUInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  u24(): number {
    if (!this.#need(3)) return 0;
    const v = this.#buf.readUIntBE(this.#pos, 3);
    this.#pos += 3;
    return v;
  }

  u32(): number {
    if (!this.#need(4)) return 0;
    const v = this.#buf.readUInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  /**
   * A QUIC variable-length integer (RFC 9000 §16): the two high bits of the first byte give its
   * length (1, 2, 4 or 8 bytes). Values above 2^53 lose precision; callers cap far below that.
   */
  varint(): number {
    if (!this.#need(1)) return 0;
    const first = this.#buf[this.#pos]!;
    const len = 1 << (first >> 6);
    if (!this.#need(len)) return 0;
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.#buf[this.#pos + i]!;
    this.#pos += len;
    return v;
  }

  /** The next `n` bytes as a view (empty when fewer remain). */
  bytes(n: number): Buffer {
    if (!this.#need(n)) return this.#buf.subarray(0, 0);
    const v = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  skip(n: number): void {
    if (this.#need(n)) this.#pos += n;
  }

  /** A reader over a vector with a 1-byte length prefix (RFC 8446 §3.4), advancing past it. */
  vec8(): ByteReader {
    return this.#sub(this.u8());
  }

  /** A reader over a vector with a 2-byte length prefix. */
  vec16(): ByteReader {
    return this.#sub(this.u16());
  }

  /** A reader over a vector with a 3-byte length prefix. */
  vec24(): ByteReader {
    return this.#sub(this.u24());
  }

  #sub(n: number): ByteReader {
    if (this.#truncated || !this.#need(n)) return new ByteReader(this.#buf, 0, 0);
    const r = new ByteReader(this.#buf, this.#pos, this.#pos + n);
    this.#pos += n;
    return r;
  }

  #need(n: number): boolean {
    if (this.#end - this.#pos >= n) return true;
    this.#truncated = true;
    // Nothing after a short read is meaningful: park the cursor at the end.
    this.#pos = this.#end;
    return false;
  }
}
