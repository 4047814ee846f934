/**
 * A growable byte buffer that JSON text is written into directly as UTF-8, for the record
 * serializer (gost-json.ts). Writing bytes instead of concatenating strings leaves no string ropes
 * behind for the GC, nothing to flatten or to UTF-8-encode again when the line goes to a stream,
 * and the JSONL sink counts bytes as they are written.
 *
 * Escaping is Go `encoding/json`'s, as `quoteJsonString` in gost-json.ts documents it; the tests
 * hold `JsonWriter.str` to that string implementation.
 */
import type { Timestamp } from '../sniff/sniffer.ts';
import { formatRfc3339Nano, formatRfc3339NanoAt, zoneOffsetSeconds } from './rfc3339.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const CHAR_ZERO = 0x30;
const CHAR_U = 0x75;
const ASCII_LIMIT = 0x80;
const TWO_BYTE_LIMIT = 0x800;
const LINE_SEPARATOR = 0x2028;
const PARAGRAPH_SEPARATOR = 0x2029;
const REPLACEMENT_CHAR = 0xfffd;
const HIGH_SURROGATE_MIN = 0xd800;
const HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00;
const LOW_SURROGATE_MAX = 0xdfff;
const SUPPLEMENTARY_BASE = 0x10000;
/** Most bytes one UTF-16 code unit can become: `\u00xx`, `\u2028`, `\ufffd` (6 bytes). */
const MAX_BYTES_PER_UNIT = 6;
/** `-9007199254740991`: the longest safe integer. */
const MAX_INT_BYTES = 17;
const INT32_MAX = 0x7fffffff;
const NS_PER_SEC = 1_000_000_000;
const FRACTION_DIGITS = 9;
const ONE_NS_FRACTION = '.000000001';
const WORD_BYTES = 4;
/**
 * From this length on a string is checked by one regex scan and copied by Buffer#write (native):
 * each native call has a fixed cost (~100 ns) that a JS loop at a few ns per character repays only
 * on longer text (hex dumps, DNS text, long URIs and header values).
 */
const NATIVE_COPY_MIN = 64;

/**
 * Any character Go would not write as it is. Go writes printable ASCII literally except `"` and `\`
 * and, being HTML-safe by default, `<` `>` `&`; DEL (0x7f) stays literal.
 */
export const NEEDS_ESCAPE = /[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7f]/;

/** Escape text per ASCII code; '' when Go writes the byte as it is. */
export const ASCII_ESCAPES: readonly string[] = Array.from({ length: ASCII_LIMIT }, (_, c) => {
  switch (c) {
    // Two-character escapes (`\b`, `\f` since Go 1.22; older Go wrote `\u0008`, `\u000c`).
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    case QUOTE:
      return '\\"';
    case BACKSLASH:
      return '\\\\';
  }
  // Go writes other control bytes and the HTML-unsafe `<` `>` `&` as \u00xx, lowercase hex.
  if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
    return '\\u00' + c.toString(16).padStart(2, '0');
  }
  return '';
});

/** 1 for the ASCII codes Go writes literally (the complement of NEEDS_ESCAPE below 0x80). */
const LITERAL = Uint8Array.from(ASCII_ESCAPES, (e) => (e === '' ? 1 : 0));

/** Lowercase hex digits, for `\uXXXX`. */
const HEX = '0123456789abcdef';

/**
 * Constant JSON text (keys with their punctuation: `,"method":`), encoded once as little-endian
 * 32-bit words: `JsonWriter.lit` stores it four bytes at a time, several times faster than a
 * character loop for the ~60 keys of a record.
 */
export interface Literal {
  readonly text: string;
  readonly words: Int32Array;
}

/** Text a Literal can hold. */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function literal(text: string): Literal {
  if (!PRINTABLE_ASCII.test(text)) {
    throw new RangeError(`json-writer: literal is not printable ASCII: ${text}`);
  }
  const bytes = Buffer.alloc(Math.ceil(text.length / WORD_BYTES) * WORD_BYTES);
  bytes.write(text, 'latin1');
  const words = new Int32Array(bytes.length / WORD_BYTES);
  for (let i = 0; i < words.length; i++) words[i] = bytes.readInt32LE(i * WORD_BYTES);
  return { text, words };
}

/** `literal` of each value: `literals({ host: '{"host":' }).host`. */
export function literals<T extends Record<string, string>>(texts: T): Record<keyof T, Literal> {
  const out = {} as Record<keyof T, Literal>;
  for (const [key, text] of Object.entries(texts)) out[key as keyof T] = literal(text);
  return out;
}

const TRUE = literal('true');
const FALSE = literal('false');
const NULL = literal('null');

/**
 * The RFC 3339 text around the fraction depends only on the second and the zone offset: it is
 * formatted once per second and kept in a small cache indexed by the low bits of the second. A
 * record's `time`, `flow.firstSeen` and `flow.lastSeen` (often two different seconds on a long
 * connection) and the records after it mostly hit. The offset is part of the key and is resolved
 * for every time as formatRfc3339Nano does, so a change of the local zone is seen exactly as there.
 */
const TIME_CACHE_SIZE = 64; // a power of two: a minute of seconds
const timeSecs = new Float64Array(TIME_CACHE_SIZE).fill(Number.NaN);
const timeOffsets = new Float64Array(TIME_CACHE_SIZE).fill(Number.NaN); // seconds east of UTC
const timePrefixes = new Array<Literal>(TIME_CACHE_SIZE).fill(NULL); // `"YYYY-MM-DDTHH:MM:SS`
const timeZones = new Array<Literal>(TIME_CACHE_SIZE).fill(NULL); // `Z"` or `±HH:MM"`

export class JsonWriter {
  readonly #initialCapacity: number;
  #buf: Buffer;
  /** Over #buf, for the word stores of `lit`. */
  #view: DataView;
  /** Bytes written so far: `[0, pos)`. A caller may move it back to drop what it wrote after. */
  pos = 0;

  constructor(capacity: number) {
    this.#initialCapacity = capacity;
    this.#buf = Buffer.allocUnsafe(capacity);
    this.#view = viewOf(this.#buf);
  }

  get capacity(): number {
    return this.#buf.length;
  }

  /** The bytes written, decoded as UTF-8. */
  text(): string {
    return this.#buf.toString('utf8', 0, this.pos);
  }

  /**
   * The bytes written, handed over (the caller may keep them, e.g. queued in a stream); writing
   * goes on at position 0 of a new buffer.
   */
  take(): Buffer {
    const bytes = this.#buf.subarray(0, this.pos);
    this.#buf = Buffer.allocUnsafe(this.#initialCapacity);
    this.#view = viewOf(this.#buf);
    this.pos = 0;
    return bytes;
  }

  /** A copy of the bytes written from `start` on (small copies come from Node's buffer pool). */
  copyFrom(start: number): Buffer {
    const out = Buffer.allocUnsafe(this.pos - start);
    this.#buf.copy(out, 0, start, this.pos);
    return out;
  }

  /** Makes room for `n` more bytes, moving what was written into a larger buffer if needed. */
  ensure(n: number): void {
    if (this.pos + n > this.#buf.length) this.#grow(n);
  }

  #grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.pos + n));
    this.#buf.copy(next, 0, 0, this.pos);
    this.#buf = next;
    this.#view = viewOf(next);
  }

  /**
   * Constant text. Whole words are stored: the last may run up to 3 bytes past the text, into
   * room that `ensure` reserved and the next write overwrites.
   */
  lit(k: Literal): void {
    const words = k.words;
    this.ensure(words.length * WORD_BYTES);
    const view = this.#view;
    const pos = this.pos;
    for (let i = 0; i < words.length; i++) view.setInt32(pos + i * WORD_BYTES, words[i]!, true);
    this.pos = pos + k.text.length;
  }

  /** One ASCII character (punctuation). */
  char(c: number): void {
    this.ensure(1);
    this.#buf[this.pos++] = c;
  }

  /** Text known to be printable ASCII needing no escapes (digits, base64, times), as it is. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.#buf;
    if (n >= NATIVE_COPY_MIN) {
      this.pos += buf.write(s, this.pos, 'latin1');
      return;
    }
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /**
   * `s` as a Go JSON string literal, quotes included. Fast path: the characters Go writes as they
   * are (printable ASCII but `"` `\` `<` `>` `&`) are one byte each, copied while checked; the first
   * other character hands the rest over to #strSlow.
   */
  str(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    const buf = this.#buf;
    let pos = this.pos;
    buf[pos++] = QUOTE;
    if (n >= NATIVE_COPY_MIN && !NEEDS_ESCAPE.test(s)) {
      pos += buf.write(s, pos, 'latin1');
    } else {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < ASCII_LIMIT && LITERAL[c] === 1) {
          buf[pos++] = c;
        } else {
          this.pos = pos;
          this.#strSlow(s, i);
          return;
        }
      }
    }
    buf[pos++] = QUOTE;
    this.pos = pos;
  }

  /**
   * The rest of `s` from index `from` on, escaped as Go does, and the closing quote.
   *
   * U+FFFD is written as `\ufffd`: by the record convention a U+FFFD in a decoded string stands for
   * an invalid byte on the wire, which Go escapes that way. A lone surrogate (no UTF-8 form) becomes
   * `\ufffd` as well; a surrogate pair is written as its 4-byte UTF-8 character.
   */
  #strSlow(s: string, from: number): void {
    const n = s.length;
    this.ensure((n - from) * MAX_BYTES_PER_UNIT + 1);
    const buf = this.#buf;
    let pos = this.pos;
    for (let i = from; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < ASCII_LIMIT) {
        const esc = ASCII_ESCAPES[c]!;
        if (esc === '') {
          buf[pos++] = c;
        } else {
          for (let k = 0; k < esc.length; k++) buf[pos++] = esc.charCodeAt(k);
        }
      } else if (c < TWO_BYTE_LIMIT) {
        buf[pos++] = 0xc0 | (c >> 6);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else if (c === LINE_SEPARATOR || c === PARAGRAPH_SEPARATOR || c === REPLACEMENT_CHAR) {
        pos = writeUnicodeEscape(buf, pos, c);
      } else if (c >= HIGH_SURROGATE_MIN && c <= LOW_SURROGATE_MAX) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= HIGH_SURROGATE_MAX && next >= LOW_SURROGATE_MIN && next <= LOW_SURROGATE_MAX) {
          const cp =
            SUPPLEMENTARY_BASE + ((c - HIGH_SURROGATE_MIN) << 10) + (next - LOW_SURROGATE_MIN);
          buf[pos++] = 0xf0 | (cp >> 18);
          buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[pos++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          pos = writeUnicodeEscape(buf, pos, REPLACEMENT_CHAR);
        }
      } else {
        buf[pos++] = 0xe0 | (c >> 12);
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
        buf[pos++] = 0x80 | (c & 0x3f);
      }
    }
    buf[pos++] = QUOTE;
    this.pos = pos;
  }

  /** Decimal text of an integer field; a non-integer is a bug upstream (Go could not emit it). */
  int(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`gost-json: not an integer: ${n}`);
    this.ensure(MAX_INT_BYTES);
    const buf = this.#buf;
    let pos = this.pos;
    if (n < 0) {
      buf[pos++] = MINUS;
      n = -n;
    }
    // -0 is not below 0 and comes out as `0`, as String(-0) and Go's int do.
    let digits = 1;
    for (let power = 10; power <= n; power *= 10) digits++; // powers of 10 are exact doubles
    pos += digits;
    let i = pos;
    // Digits from the last: float division while above int32, then `| 0` integer division.
    for (; n > INT32_MAX; n = Math.floor(n / 10)) buf[--i] = CHAR_ZERO + (n % 10);
    do {
      const q = (n / 10) | 0;
      buf[--i] = CHAR_ZERO + n - q * 10;
      n = q;
    } while (n !== 0);
    this.pos = pos;
  }

  bool(b: boolean): void {
    this.lit(b ? TRUE : FALSE);
  }

  null(): void {
    this.lit(NULL);
  }

  /** Bytes as padded standard base64 in quotes, `null` for null. */
  bytes(b: Uint8Array | null): void {
    if (b === null) {
      this.lit(NULL);
      return;
    }
    // Buffers, and the Uint8Arrays records become after crossing threads (structured clone).
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.char(QUOTE);
    this.ascii(buf.toString('base64'));
    this.char(QUOTE);
  }

  /**
   * `ts` in quotes, as `formatRfc3339Nano(ts, offsetMinutes)` writes it: the text around the
   * fraction from the per-second cache, the nanoseconds as digits here.
   */
  time(ts: Timestamp, offsetMinutes: number | undefined): void {
    const sec = ts.sec;
    const nsec = ts.nsec;
    if (!Number.isSafeInteger(sec) || !Number.isInteger(nsec) || nsec < 0 || nsec >= NS_PER_SEC) {
      // Unnormalized or odd values: the general formatter (its output is ASCII).
      this.ascii('"' + formatRfc3339Nano(ts, offsetMinutes) + '"');
      return;
    }
    const offsetSec = zoneOffsetSeconds(sec, offsetMinutes);
    const slot = sec & (TIME_CACHE_SIZE - 1);
    if (timeSecs[slot] !== sec || timeOffsets[slot] !== offsetSec) {
      // Only the fraction depends on the nanoseconds: cut the text of nanosecond 1 around it.
      const text = formatRfc3339NanoAt(sec, 1, offsetSec);
      const at = text.indexOf(ONE_NS_FRACTION);
      timePrefixes[slot] = literal('"' + text.slice(0, at));
      timeZones[slot] = literal(text.slice(at + ONE_NS_FRACTION.length) + '"');
      timeSecs[slot] = sec;
      timeOffsets[slot] = offsetSec;
    }
    this.lit(timePrefixes[slot]!);
    if (nsec !== 0) {
      // `.fffffffff` with trailing zeros trimmed (Go's `.999999999` layout element); nsec is below
      // 2^31, so `| 0` keeps the division in int32.
      this.ensure(FRACTION_DIGITS + 1);
      const buf = this.#buf;
      const dot = this.pos;
      buf[dot] = DOT;
      let v = nsec;
      for (let i = dot + FRACTION_DIGITS; i > dot; i--) {
        const q = (v / 10) | 0;
        buf[i] = CHAR_ZERO + v - q * 10;
        v = q;
      }
      let end = dot + FRACTION_DIGITS + 1;
      while (buf[end - 1] === CHAR_ZERO) end--;
      this.pos = end;
    }
    this.lit(timeZones[slot]!);
  }
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** `\uXXXX` with lowercase hex at `pos`; returns the position after it. */
function writeUnicodeEscape(buf: Buffer, pos: number, c: number): number {
  buf[pos++] = BACKSLASH;
  buf[pos++] = CHAR_U;
  buf[pos++] = HEX.charCodeAt(c >> 12);
  buf[pos++] = HEX.charCodeAt((c >> 8) & 0xf);
  buf[pos++] = HEX.charCodeAt((c >> 4) & 0xf);
  buf[pos++] = HEX.charCodeAt(c & 0xf);
  return pos;
}
