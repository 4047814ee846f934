/**
 * One direction of an HTTP/1.x connection (RFC 9112) as an explicit state machine. `data()` queues
 * the bytes and runs the loop; each state either makes progress or stops because it needs more
 * bytes, and the next call resumes in that state. Bodies are streamed to the sink as views, never
 * buffered; only an incomplete line is kept between calls.
 *
 *   StartLine ─► HeaderLine ─┬─► (no body) ───────────────────────────────┐
 *                            ├─► Body (Content-Length) ───────────────────┤
 *                            ├─► ChunkSize ─► ChunkData ─► ChunkDataEnd ─┐ │
 *                            │     │  ▲                                   │ │
 *                            │     │  └───────────────────────────────────┘ │
 *                            │     └─(size 0)─► TrailerLine ───────────────┤
 *                            └─► UntilClose ─(end of stream)───────────────┤
 *                                                                          ▼
 *             message end ─► StartLine | Paused | HandedOver (the sink's verdict)
 *
 * Paused holds the bytes that follow an `Upgrade`/`CONNECT` request until the other direction says
 * how to read them (`resume()` or `drain()`). Done and HandedOver are final: the direction ended or
 * lost its framing (malformed input, a limit, a gap outside a body), or switched protocol.
 *
 * Gaps: inside a body of known length (or a chunk's data, or a read-until-close body) the missing
 * bytes are counted against the body and parsing goes on; anywhere else the direction cannot find
 * its next message and stops. A message cut short hands the sink what was parsed of it.
 *
 * Lines are parsed in place: when a line lies within one queued chunk (nearly always), the start
 * line and fields are decoded straight from that chunk's bytes by offset, without a view per line.
 */
import type { HeaderMap } from '../../record/record-types.ts';
import { canonicalHeaderKey } from '../../record/header-map.ts';
import type { SniffContext } from '../sniffer.ts';
import { ChunkQueue } from '../chunk-queue.ts';
import { BodyKind, type Framing, type FramingError } from './http1-framing.ts';
import {
  MAX_CHUNK_LINE_BYTES,
  MAX_HEADER_BYTES,
  MAX_HEADER_LINES,
  MAX_HELD_BYTES,
} from './http1-limits.ts';
import { isHttpVersion, parseRequestLine, parseStatusLine } from './http1-start-line.ts';
import {
  COLON,
  CR,
  indexIn,
  isOws,
  isTchar,
  LF,
  owsTrimmedUtf8,
  parseChunkSize,
  SP,
} from './http1-syntax.ts';
import { latin1, utf8 } from '../buffer-text.ts';
import { AsciiStringCache, fnvStep, FNV_SEED, MAX_CACHED_BYTES } from './ascii-string-cache.ts';

/** Recent field names and values (ascii-string-cache.ts), shared by every parser of the thread. */
const fieldNames = new AsciiStringCache(256);
const fieldValues = new AsciiStringCache(2048);

/**
 * A field value: `line[start, end)` without leading and trailing OWS, decoded as UTF-8 (U+FFFD if
 * invalid). Short ASCII values come from the cache; one pass finds whether they qualify and their
 * hash.
 */
function fieldValue(line: Buffer, start: number, end: number): string {
  while (start < end && isOws(line[start]!)) start++;
  while (end > start && isOws(line[end - 1]!)) end--;
  if (end - start > MAX_CACHED_BYTES) return utf8(line, start, end);
  let hash = FNV_SEED;
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if (c >= ASCII_LIMIT) return utf8(line, start, end);
    hash = fnvStep(hash, c);
  }
  return fieldValues.get(line, start, end, hash);
}

export const MessageKind = { Request: 0, Response: 1 } as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/** A parsed start line and header section. */
export interface MessageHead {
  /** Requests: method and request-target as received; '' for responses. */
  method: string;
  uri: string;
  /** Responses: status code; 0 for requests. */
  status: number;
  /** HTTP-version as received. */
  version: string;
  /** Field lines by canonical name. Requests: `Host` is moved to `host`. */
  header: HeaderMap;
  /** Requests: the first Host value, null without one. */
  host: string | null;
}

/** What follows a message. */
export const After = {
  /** The next message of the same protocol. */
  Next: 0,
  /** Hold the following bytes until `resume()` or `drain()` (Upgrade / CONNECT request). */
  Pause: 1,
  /** The connection switches protocol right after this message's head. */
  HandOver: 2,
} as const;
export type After = (typeof After)[keyof typeof After];

export interface HeadVerdict {
  framing: Framing | FramingError;
  after: After;
}

/** Receives one direction's messages. Views passed in are valid during the call only. */
export interface MessageSink {
  /** The first byte of a message arrived. */
  messageBegin(): void;
  /** The head is complete (`wireBytes` so far): how is the body framed, and what comes next? */
  head(head: MessageHead, wireBytes: number): HeadVerdict;
  /** Body bytes, de-chunked (a borrowed view). */
  body(bytes: Buffer): void;
  /** `bytes` body bytes were lost in a capture gap. */
  bodyGap(bytes: number): void;
  /** The message whose head was delivered ended (`err` '') or was cut short (`err` says why). */
  messageEnd(wireBytes: number, err: string): void;
  /** A message cut short before its head was complete: the part that could be parsed. */
  truncatedHead(head: MessageHead, wireBytes: number, err: string): void;
  /** The direction stopped for good (`err` '' at a clean end of stream). */
  stopped(err: string): void;
}

/** Error texts recorded in `err`. */
const ERR_GAP = 'gap in stream';
const ERR_EOF = 'unexpected EOF';
const ERR_HEADER_TOO_LARGE = 'header too large';
const ERR_MALFORMED_START = 'malformed start line';
const ERR_CHUNKED = 'malformed chunked encoding';
const ERR_HELD = 'too many bytes before the upgrade answer';
const FRAMING_ERR: Record<FramingError, string> = {
  bad_content_length: 'invalid Content-Length',
  bad_transfer_encoding: 'unsupported Transfer-Encoding',
};

const St = {
  StartLine: 0,
  HeaderLine: 1,
  Body: 2,
  ChunkSize: 3,
  ChunkData: 4,
  ChunkDataEnd: 5,
  TrailerLine: 6,
  UntilClose: 7,
  Paused: 8,
  /** Lost: malformed input, a limit, a gap outside a body, or the end of the stream. */
  Done: 9,
  /** The connection switched protocol; the bytes went to another sniffer. */
  HandedOver: 10,
} as const;
type St = (typeof St)[keyof typeof St];

const HOST = 'Host';

/** What `#line()` found. */
const Line = {
  /** The line ending has not arrived yet. */
  Incomplete: 0,
  /** A line, in `#lineBuf[#lineStart, #lineEnd)`. */
  Ready: 1,
  /** No line ending within the limit. */
  TooLong: 2,
} as const;
type Line = (typeof Line)[keyof typeof Line];

const EMPTY = Buffer.alloc(0);
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const LOWER_A = 0x61;
const LOWER_Z = 0x7a;
const HYPHEN = 0x2d;
const ASCII_LIMIT = 0x80;

export class MessageParser {
  readonly #ctx: SniffContext;
  readonly #kind: MessageKind;
  readonly #sink: MessageSink;
  readonly #queue = new ChunkQueue();
  #state: St = St.StartLine;
  /** The current message's first byte was seen. */
  #inMessage = false;
  /** Bytes of the current message so far: head, chunk framing, body, trailers, absorbed gaps. */
  #wire = 0;
  /** Start line parsed; header lines being added. */
  #head: MessageHead | null = null;
  #headDone = false;
  /** Field lines so far (header section, then trailer section). */
  #lines = 0;
  /** `#wire` where the trailer section began. */
  #trailerStart = 0;
  /** Name of the last field line, for obsolete line folding; '' when there is none. */
  #lastField = '';
  /** Bytes left in the Content-Length body or the current chunk. */
  #remaining = 0;
  #after: After = After.Next;
  /** `end()` came while Paused. */
  #endedWhilePaused = false;
  /**
   * The line `#line()` consumed, without its line ending: `#lineBuf[#lineStart, #lineEnd)`. The
   * buffer is a queued chunk (or a copy when the line spanned chunks): valid until the next read.
   */
  #lineBuf: Buffer = EMPTY;
  #lineStart = 0;
  #lineEnd = 0;

  constructor(ctx: SniffContext, kind: MessageKind, sink: MessageSink) {
    this.#ctx = ctx;
    this.#kind = kind;
    this.#sink = sink;
  }

  /** This direction lost its framing or ended: nothing more will be parsed from it. */
  get stopped(): boolean {
    return this.#state === St.Done;
  }

  /** In-order bytes (borrowed). */
  data(bytes: Buffer): void {
    if (this.#state === St.Done || this.#state === St.HandedOver) return;
    this.#queue.push(bytes);
    this.#run();
    this.#queue.retain();
    this.#lineBuf = EMPTY; // may be the borrowed chunk: not kept past the call
  }

  /** `bytes` bytes will never arrive. */
  gap(bytes: number): void {
    let left = bytes;
    while (left > 0 && this.#state !== St.Done && this.#state !== St.HandedOver) {
      const inChunk = this.#state === St.Body || this.#state === St.ChunkData;
      if (inChunk && this.#queue.size === 0) {
        const take = Math.min(left, this.#remaining);
        this.#remaining -= take;
        this.#wire += take;
        left -= take;
        this.#sink.bodyGap(take);
        if (this.#remaining === 0) {
          if (this.#state === St.Body) this.#endMessage();
          else this.#state = St.ChunkDataEnd;
        }
      } else if (this.#state === St.UntilClose) {
        this.#wire += left;
        this.#sink.bodyGap(left);
        left = 0;
      } else {
        this.#abandon(ERR_GAP);
      }
    }
  }

  /** End of stream: a read-until-close body ends here, anything else in progress is cut short. */
  end(): void {
    if (this.#state === St.Done || this.#state === St.HandedOver) return;
    if (this.#state === St.Paused) {
      // The held bytes wait for the other direction's verdict; the end applies after it.
      this.#endedWhilePaused = true;
      return;
    }
    if (this.#state === St.UntilClose) this.#endMessage(); // RFC 9112 §6.3 (8)
    // A peer that closes after empty lines ends cleanly.
    if (this.#headDone || this.#head !== null || this.#queue.size > 0) {
      this.#abandon(ERR_EOF);
      return;
    }
    this.#stop('');
  }

  /** Leaves Paused: the held bytes are read as HTTP/1 again. */
  resume(): void {
    if (this.#state !== St.Paused) return;
    this.#state = St.StartLine;
    this.#run();
    this.#queue.retain();
    if (this.#endedWhilePaused) {
      this.#endedWhilePaused = false;
      this.end();
    }
  }

  /** Hands the queued bytes over to another protocol's parser; this direction is done. */
  drain(): Buffer[] {
    this.#state = St.HandedOver;
    return this.#queue.drain();
  }

  /** Gives up on this direction: what was parsed of the current message goes to the sink. */
  abandon(err: string): void {
    if (this.#state !== St.Done && this.#state !== St.HandedOver) this.#abandon(err);
  }

  #run(): void {
    for (;;) {
      let progressed: boolean;
      switch (this.#state) {
        case St.StartLine:
          progressed = this.#readStartLine();
          break;
        case St.HeaderLine:
          progressed = this.#readHeaderLine();
          break;
        case St.Body:
        case St.ChunkData:
          progressed = this.#readBody();
          break;
        case St.ChunkSize:
          progressed = this.#readChunkSize();
          break;
        case St.ChunkDataEnd:
          progressed = this.#readChunkDataEnd();
          break;
        case St.TrailerLine:
          progressed = this.#readTrailerLine();
          break;
        case St.UntilClose:
          progressed = this.#readUntilClose();
          break;
        case St.Paused:
          if (this.#queue.size > MAX_HELD_BYTES) this.#fail('held_bytes_overflow', ERR_HELD);
          return;
        case St.Done:
        case St.HandedOver:
          return;
      }
      if (!progressed) return;
    }
  }

  #readStartLine(): boolean {
    if (this.#queue.size === 0) return false;
    if (!this.#inMessage) {
      this.#inMessage = true;
      this.#sink.messageBegin();
    }
    const found = this.#line(MAX_HEADER_BYTES - this.#wire);
    if (found === Line.Incomplete) return false;
    if (found === Line.TooLong) return this.#fail('header_too_large', ERR_HEADER_TOO_LARGE);
    // RFC 9112 §2.2: empty lines before a start line are ignored
    if (this.#lineEnd === this.#lineStart) return true;
    const head = this.#parseStartLine(this.#lineBuf, this.#lineStart, this.#lineEnd);
    if (head === null) {
      const code = this.#kind === MessageKind.Request ? 'bad_request_line' : 'bad_status_line';
      return this.#fail(code, ERR_MALFORMED_START);
    }
    if (!isHttpVersion(head.version)) {
      this.#ctx.parseError('http', head.version === '' ? 'missing_version' : 'bad_version');
    }
    this.#head = head;
    this.#state = St.HeaderLine;
    return true;
  }

  #readHeaderLine(): boolean {
    const found = this.#line(MAX_HEADER_BYTES - this.#wire);
    if (found === Line.Incomplete) return false;
    const empty = this.#lineEnd === this.#lineStart;
    if (found === Line.TooLong || (!empty && ++this.#lines > MAX_HEADER_LINES)) {
      return this.#fail('header_too_large', ERR_HEADER_TOO_LARGE);
    }
    if (empty) return this.#headComplete();
    this.#addField(this.#lineBuf, this.#lineStart, this.#lineEnd, this.#head!.header);
    return true;
  }

  #headComplete(): boolean {
    const head = this.#head!;
    this.#headDone = true;
    if (this.#kind === MessageKind.Request) {
      head.host = head.header.get(HOST)?.[0] ?? null;
      head.header.delete(HOST); // GOST records Host apart from the header map
    }
    const verdict = this.#sink.head(head, this.#wire);
    this.#after = verdict.after;
    const framing = verdict.framing;
    if (typeof framing === 'string') return this.#fail(framing, FRAMING_ERR[framing]);
    if (verdict.after === After.HandOver) return this.#endMessage();
    switch (framing.kind) {
      case BodyKind.None:
        return this.#endMessage();
      case BodyKind.Length:
        this.#remaining = framing.length;
        this.#state = St.Body;
        return true;
      case BodyKind.Chunked:
        this.#state = St.ChunkSize;
        return true;
      case BodyKind.UntilClose:
        this.#state = St.UntilClose;
        return true;
    }
  }

  /** Body bytes of a Content-Length body or of one chunk. */
  #readBody(): boolean {
    if (this.#queue.size === 0) return false;
    const view = this.#queue.consumeView(this.#remaining);
    this.#remaining -= view.length;
    this.#wire += view.length;
    this.#sink.body(view);
    if (this.#remaining > 0) return true;
    if (this.#state === St.Body) return this.#endMessage();
    this.#state = St.ChunkDataEnd;
    return true;
  }

  #readChunkSize(): boolean {
    const found = this.#line(MAX_CHUNK_LINE_BYTES);
    if (found === Line.Incomplete) return false;
    if (found === Line.TooLong) return this.#fail('chunk_line_too_long', ERR_CHUNKED);
    const size = parseChunkSize(this.#lineBuf, this.#lineStart, this.#lineEnd);
    if (size < 0) return this.#fail('bad_chunk_size', ERR_CHUNKED);
    if (size === 0) {
      // last-chunk: the trailer section follows (RFC 9112 §7.1.2)
      this.#state = St.TrailerLine;
      this.#trailerStart = this.#wire;
      this.#lines = 0;
      return true;
    }
    this.#remaining = size;
    this.#state = St.ChunkData;
    return true;
  }

  /** The CRLF closing a chunk's data (RFC 9112 §7.1; a bare LF is accepted, §2.2). */
  #readChunkDataEnd(): boolean {
    if (this.#queue.size === 0) return false;
    const first = this.#queue.byteAt(0);
    let n = 1;
    if (first === CR) {
      if (this.#queue.size < 2) return false;
      n = 2;
      if (this.#queue.byteAt(1) !== LF) return this.#fail('bad_chunk_terminator', ERR_CHUNKED);
    } else if (first !== LF) {
      return this.#fail('bad_chunk_terminator', ERR_CHUNKED);
    }
    this.#queue.skip(n);
    this.#wire += n;
    this.#state = St.ChunkSize;
    return true;
  }

  /** Trailer fields are counted against the limits but not recorded (Go keeps them apart too). */
  #readTrailerLine(): boolean {
    const found = this.#line(MAX_HEADER_BYTES - (this.#wire - this.#trailerStart));
    if (found === Line.Incomplete) return false;
    const empty = this.#lineEnd === this.#lineStart;
    if (found === Line.TooLong || (!empty && ++this.#lines > MAX_HEADER_LINES)) {
      return this.#fail('trailer_too_large', ERR_CHUNKED);
    }
    return empty ? this.#endMessage() : true;
  }

  #readUntilClose(): boolean {
    if (this.#queue.size === 0) return false;
    const view = this.#queue.consumeView(this.#queue.size);
    this.#wire += view.length;
    this.#sink.body(view);
    return true;
  }

  /**
   * Consumes the next line if its LF lies within `limit` bytes and sets `#lineBuf` / `#lineStart` /
   * `#lineEnd` to it without CR LF (Ready); Incomplete when it has not fully arrived; TooLong when
   * `limit` bytes hold no LF. A line inside the first queued chunk is left in that chunk (no view,
   * no copy); one that spans chunks is copied out.
   */
  #line(limit: number): Line {
    const queue = this.#queue;
    const lf = queue.indexOf(LF, limit);
    if (lf < 0) return queue.size >= limit ? Line.TooLong : Line.Incomplete;
    const chunk = queue.headChunk;
    const offset = queue.headOffset;
    let buf: Buffer;
    let start: number;
    if (lf < chunk.length - offset) {
      buf = chunk;
      start = offset;
      queue.skip(lf + 1); // moves an offset; the chunk's bytes stay as they are
    } else {
      buf = queue.consume(lf + 1);
      start = 0;
    }
    this.#wire += lf + 1;
    const end = start + lf;
    this.#lineBuf = buf;
    this.#lineStart = start;
    this.#lineEnd = lf > 0 && buf[end - 1] === CR ? end - 1 : end;
    return Line.Ready;
  }

  /** The start line in `line[start, end)`. */
  #parseStartLine(line: Buffer, start: number, end: number): MessageHead | null {
    if (this.#kind === MessageKind.Request) {
      const r = parseRequestLine(line, start, end);
      if (r === null) return null;
      return {
        method: r.method,
        uri: r.uri,
        status: 0,
        version: r.version,
        header: new Map(),
        host: null,
      };
    }
    const s = parseStatusLine(line, start, end);
    if (s === null) return null;
    return {
      method: '',
      uri: '',
      status: s.status,
      version: s.version,
      header: new Map(),
      host: null,
    };
  }

  /**
   * One field line (RFC 9112 §5) in `line[start, end)` (non-empty): `name ":" OWS value OWS`, or an
   * obs-fold continuation. Added under its canonical key, one value per line (header-map.ts).
   */
  #addField(line: Buffer, start: number, end: number, header: HeaderMap): void {
    if (isOws(line[start]!)) {
      // RFC 9112 §5.2: obs-fold; the recipient replaces it with SP and appends to the field value.
      const values = this.#lastField === '' ? undefined : header.get(this.#lastField);
      if (values === undefined) {
        this.#ctx.parseError('http', 'bad_header_line');
        return;
      }
      values[values.length - 1] =
        `${values[values.length - 1]!} ${owsTrimmedUtf8(line, start, end)}`;
      return;
    }
    // RFC 9112 §5.1: the name is a token and no whitespace precedes the colon. The tchar run ends
    // at the first colon exactly when everything before that colon is a token. On the way, note
    // whether the name is already in Go's canonical form (header-map.ts: a letter is upper-case
    // first and after '-', lower-case elsewhere): most senders write it so, and then
    // canonicalHeaderKey would return it unchanged.
    let colon = start;
    let canonical = true;
    let upper = true;
    let hash = FNV_SEED;
    for (; colon < end; colon++) {
      const c = line[colon]!;
      if (!isTchar(c)) break;
      if (upper ? c >= LOWER_A && c <= LOWER_Z : c >= UPPER_A && c <= UPPER_Z) canonical = false;
      upper = c === HYPHEN;
      hash = fnvStep(hash, c);
    }
    if (colon === start || colon === end || line[colon] !== COLON) {
      this.#ctx.parseError('http', 'bad_header_line');
      this.#lastField = '';
      return;
    }
    // tchars are ASCII: the name can always come from the cache.
    const name =
      colon - start <= MAX_CACHED_BYTES
        ? fieldNames.get(line, start, colon, hash)
        : latin1(line, start, colon);
    const key = canonical ? name : canonicalHeaderKey(name);
    const value = fieldValue(line, colon + 1, end);
    const values = header.get(key);
    if (values === undefined) header.set(key, [value]);
    else values.push(value);
    this.#lastField = key;
  }

  #endMessage(): boolean {
    const wire = this.#wire;
    this.#resetMessage();
    this.#state =
      this.#after === After.Pause
        ? St.Paused
        : this.#after === After.HandOver
          ? St.HandedOver
          : St.StartLine;
    this.#after = After.Next;
    this.#sink.messageEnd(wire, '');
    return true;
  }

  #fail(code: string, err: string): boolean {
    this.#ctx.parseError('http', code);
    this.#abandon(err, false);
    return false;
  }

  /**
   * The stream is cut here (`truncated`: by a gap or its end, rather than by bad input): hand the
   * sink what was parsed of the current message, then stop.
   */
  #abandon(err: string, truncated = true): void {
    // Bytes held while paused belong to whatever follows the upgrade: nothing of HTTP/1 in them.
    if (this.#state !== St.Paused) this.#deliverPartial(err, truncated);
    this.#stop(err);
  }

  #deliverPartial(err: string, truncated: boolean): void {
    if (this.#headDone) {
      this.#sink.messageEnd(this.#wire, err);
      return;
    }
    if (!this.#inMessage && this.#queue.size === 0) return;
    // A start line cut short is worth reading; one that broke a limit or the grammar is not.
    const head = this.#head ?? (truncated ? this.#salvageStartLine() : null);
    if (head !== null) this.#sink.truncatedHead(head, this.#wire + this.#queue.size, err);
  }

  /**
   * The start line of a message cut before its line ending (a gap, the end of the stream, a
   * snaplen): parsed from the buffered bytes when they already hold a method and a target, or a
   * version and a status code.
   */
  #salvageStartLine(): MessageHead | null {
    const n = Math.min(this.#queue.size, MAX_HEADER_BYTES);
    if (n === 0) return null;
    const line = this.#queue.consume(n);
    this.#wire += n;
    let start = 0;
    while (start < line.length && (line[start] === CR || line[start] === LF)) start++;
    let end = indexIn(line, LF, start, line.length);
    if (end < 0) end = line.length;
    if (end > start && line[end - 1] === CR) end--;
    if (this.#kind === MessageKind.Request && indexIn(line, SP, start, end) < 0) return null;
    return this.#parseStartLine(line, start, end);
  }

  #stop(err: string): void {
    this.#resetMessage();
    this.#state = St.Done;
    this.#queue.clear();
    this.#sink.stopped(err);
  }

  #resetMessage(): void {
    this.#inMessage = false;
    this.#wire = 0;
    this.#head = null;
    this.#headDone = false;
    this.#lines = 0;
    this.#lastField = '';
    this.#remaining = 0;
  }
}
