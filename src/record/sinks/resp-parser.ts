/**
 * Incremental RESP2 reply parser (the Redis protocol), as an explicit state machine: `push(chunk)`
 * takes bytes as they arrive, split anywhere, and hands out each complete top-level reply. Nested
 * arrays keep a stack of frames. A declared length beyond MAX_BULK_BYTES or MAX_ARRAY_ITEMS is a
 * protocol error before anything is allocated for it.
 */

export type RespReply = string | number | Buffer | null | RespError | RespReply[];

/** A `-ERR …` reply: a value, not a thrown error (a pipeline carries on after it). */
export class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

export class RespProtocolError extends Error {}

const MAX_BULK_BYTES = 64 * 1024 * 1024;
const MAX_ARRAY_ITEMS = 1024 * 1024;
const MAX_LINE_BYTES = 64 * 1024;
const CR = 0x0d;
const LF = 0x0a;

const St = {
  /** Waiting for a type byte and its line. */
  Line: 0,
  /** Reading `#bulkLeft` bytes of a bulk string, then CRLF. */
  Bulk: 1,
} as const;
type St = (typeof St)[keyof typeof St];

interface ArrayFrame {
  items: RespReply[];
  left: number;
}

export class RespParser {
  #buf: Buffer = Buffer.alloc(0);
  #state: St = St.Line;
  #bulkLeft = 0;
  readonly #stack: ArrayFrame[] = [];
  readonly #onReply: (r: RespReply) => void;

  constructor(onReply: (r: RespReply) => void) {
    this.#onReply = onReply;
  }

  /** Throws RespProtocolError on malformed input (the connection is then unusable). */
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    for (;;) {
      if (this.#state === St.Bulk) {
        if (this.#buf.length - pos < this.#bulkLeft + 2) break;
        const value = Buffer.from(this.#buf.subarray(pos, pos + this.#bulkLeft));
        if (this.#buf[pos + this.#bulkLeft] !== CR || this.#buf[pos + this.#bulkLeft + 1] !== LF) {
          throw new RespProtocolError('bulk string not followed by CRLF');
        }
        pos += this.#bulkLeft + 2;
        this.#state = St.Line;
        this.#value(value);
        continue;
      }
      const lf = this.#buf.indexOf(LF, pos);
      if (lf < 0) {
        if (this.#buf.length - pos > MAX_LINE_BYTES) throw new RespProtocolError('line too long');
        break;
      }
      if (lf === pos || this.#buf[lf - 1] !== CR) throw new RespProtocolError('line without CRLF');
      const type = this.#buf[pos]!;
      const text = this.#buf.toString('latin1', pos + 1, lf - 1);
      pos = lf + 1;
      this.#line(type, text);
    }
    this.#buf = pos === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(pos);
  }

  #line(type: number, text: string): void {
    switch (type) {
      case 0x2b: // + simple string
        this.#value(text);
        return;
      case 0x2d: // - error
        this.#value(new RespError(text));
        return;
      case 0x3a: // : integer
        this.#value(this.#int(text));
        return;
      case 0x24: {
        // $ bulk string
        const n = this.#int(text);
        if (n === -1) {
          this.#value(null);
          return;
        }
        if (n < 0 || n > MAX_BULK_BYTES) throw new RespProtocolError(`bulk length ${text}`);
        this.#bulkLeft = n;
        this.#state = St.Bulk;
        return;
      }
      case 0x2a: {
        // * array
        const n = this.#int(text);
        if (n === -1) {
          this.#value(null);
          return;
        }
        if (n < 0 || n > MAX_ARRAY_ITEMS) throw new RespProtocolError(`array length ${text}`);
        if (n === 0) this.#value([]);
        else this.#stack.push({ items: [], left: n });
        return;
      }
      default:
        throw new RespProtocolError(`unknown reply type 0x${type.toString(16)}`);
    }
  }

  #int(text: string): number {
    if (!/^-?\d{1,15}$/.test(text)) throw new RespProtocolError(`bad integer "${text}"`);
    return Number(text);
  }

  /** A complete value: into the innermost open array, or out as a reply. */
  #value(v: RespReply): void {
    let value = v;
    for (;;) {
      const top = this.#stack.at(-1);
      if (top === undefined) {
        this.#onReply(value);
        return;
      }
      top.items.push(value);
      if (--top.left > 0) return;
      this.#stack.pop();
      value = top.items;
    }
  }
}

/** A command as RESP: an array of bulk strings. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
