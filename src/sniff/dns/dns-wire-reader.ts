/**
 * A bounds-checked cursor over DNS wire data. A read past `end` does not throw: it records an error
 * code, moves the cursor to `end` and returns a zero value, so a decoder reads its fields in a row
 * and checks `error` once. The first error wins.
 *
 * The same class reads the whole message (`end` = message length, running out = truncation) and one
 * RR's RDATA (`end` = RDATA end, running out = the RDATA lies about its contents).
 */
import type { DnsErrorCode } from './dns-errors.ts';

export class WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  error: DnsErrorCode | null = null;
  /** Where the first error was found. */
  errorAt = -1;
  /** The code a read past `end` records (the message parser switches it per section). */
  shortCode: DnsErrorCode;

  constructor(buf: Buffer, pos: number, end: number, shortCode: DnsErrorCode) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.shortCode = shortCode;
  }

  /** No error so far (a method, so a check after a read is not narrowed away). */
  ok(): boolean {
    return this.error === null;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Records `code` (unless an error is already recorded) and stops all further reads. */
  fail(code: DnsErrorCode): void {
    if (this.error === null) {
      this.error = code;
      this.errorAt = this.pos;
    }
    this.pos = this.end;
  }

  /** Records the short-read code unless `n` bytes remain; true when they do. */
  need(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    this.fail(this.shortCode);
    return false;
  }

  u8(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.pos++]!;
  }

  u16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A view of the next `n` bytes (empty after a short read). Borrowed like the buffer itself. */
  bytes(n: number): Buffer {
    if (!this.need(n)) return this.buf.subarray(0, 0);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A view of everything up to `end`. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }
}
