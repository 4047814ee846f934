/**
 * The HTTP/2 frame layer of one direction (RFC 9113 §3.4, §4, §6): bytes in, frame events out.
 *
 * An explicit state machine over a chunk queue (ws receiver): each state either has the bytes it
 * needs or stops the loop, and the next `push` resumes in the same state. DATA payloads, padding
 * and payloads nobody reads (SETTINGS, PING, WINDOW_UPDATE, PRIORITY, unknown types, GOAWAY debug
 * data) are streamed or skipped as they arrive, so a large declared length costs nothing; only
 * header block fragments are copied, up to MAX_HEADER_BLOCK_BYTES.
 *
 *   Preface (client) ─► Header ─┬─ DATA ─────────► [PadLength] ─► DataBody ───────────────┐
 *                               ├─ HEADERS ──────► [PadLength] ─► [PriorityFields] ─► Fragment ─┤
 *                               ├─ PUSH_PROMISE ─► [PadLength] ─► PromisedId ─► Fragment ─┤
 *                               ├─ CONTINUATION ─────────────────────────────► Fragment ─┤
 *                               ├─ RST_STREAM, GOAWAY ─► Control ─────────────────────────┤
 *                               └─ anything else ─────────────────────────────────────────┤
 *                             ◄─ frame done ◄─ Skip (padding, unread payload) ◄───────────┘
 *
 * Connection errors (RFC 9113 §5.4.1) stop the reader for good: the frame boundaries, and with them
 * the HPACK state, can no longer be trusted.
 */
import type { Side } from '../sniffer.ts';
import { ChunkQueue } from '../chunk-queue.ts';
import {
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  GOAWAY_FIXED_BYTES,
  HTTP2_PREFACE,
  PAD_LENGTH_BYTES,
  PING_BYTES,
  PRIORITY_FIELDS_BYTES,
  PROMISED_STREAM_ID_BYTES,
  RST_STREAM_BYTES,
  SETTINGS_ENTRY_BYTES,
  STREAM_ID_MASK,
  WINDOW_UPDATE_BYTES,
} from './frame-constants.ts';
import { HeaderBlockBuilder } from './header-block-builder.ts';
import { MAX_HEADER_BLOCK_BYTES } from './http2-limits.ts';

/** What the frame layer reports. Buffers are borrowed: valid during the call only. */
export interface FrameSink {
  /**
   * A frame outside header blocks started; `frameBytes` = header + payload. Header block frames
   * (HEADERS, PUSH_PROMISE, CONTINUATION) are counted in `headerBlock` instead.
   */
  frame(side: Side, streamId: number, frameBytes: number): void;
  /** DATA payload bytes (padding removed), in order, possibly in several pieces per frame. */
  dataPayload(side: Side, streamId: number, bytes: Buffer): void;
  /** `bytes` DATA payload bytes were lost in a capture gap. */
  dataGap(side: Side, streamId: number, bytes: number): void;
  /** A DATA frame carrying END_STREAM was fully read. */
  endStream(side: Side, streamId: number): void;
  /**
   * A complete header block (END_HEADERS seen). `promisedId` is 0 for HEADERS; `frameBytes` counts
   * the HEADERS/PUSH_PROMISE frame and its CONTINUATIONs.
   */
  headerBlock(
    side: Side,
    streamId: number,
    promisedId: number,
    endStream: boolean,
    block: Buffer,
    frameBytes: number,
  ): void;
  rstStream(side: Side, streamId: number, errorCode: number): void;
  goaway(side: Side, lastStreamId: number, errorCode: number): void;
  /** A connection error; the reader has stopped. `code` is a stable snake_case cause. */
  frameError(side: Side, code: string): void;
}

const St = {
  Preface: 0,
  Header: 1,
  PadLength: 2,
  PriorityFields: 3,
  PromisedId: 4,
  Fragment: 5,
  DataBody: 6,
  Control: 7,
  Skip: 8,
  Stopped: 9,
} as const;
type St = (typeof St)[keyof typeof St];

export class FrameReader {
  readonly #side: Side;
  readonly #sink: FrameSink;
  readonly #queue = new ChunkQueue();
  #state: St;
  /** The server's first frame must be SETTINGS (§3.4). */
  #expectSettings: boolean;

  // The frame being read.
  #type = 0;
  #flags = 0;
  #streamId = 0;
  /** Payload bytes of the current frame not consumed yet. */
  #left = 0;
  /** Trailing padding of the current frame (included in #left). */
  #padLength = 0;

  // The header block being collected (HEADERS/PUSH_PROMISE until END_HEADERS).
  #blockOpen = false;
  #blockStreamId = 0;
  #blockPromisedId = 0;
  #blockEndStream = false;
  #blockFrameBytes = 0;
  readonly #block = new HeaderBlockBuilder();

  /** The client side starts with the connection preface, the server side with SETTINGS. */
  constructor(side: Side, sink: FrameSink, client: boolean) {
    this.#side = side;
    this.#sink = sink;
    this.#state = client ? St.Preface : St.Header;
    this.#expectSettings = !client;
  }

  /** Parses what `chunk` completes. `chunk` is borrowed; leftovers are copied before returning. */
  push(chunk: Buffer): void {
    if (this.#state === St.Stopped) return;
    this.#queue.push(chunk);
    // #step returns false once stopped (also when a sink callback stopped the reader).
    while (this.#step());
    this.#queue.retain();
  }

  /**
   * `bytes` of this direction are missing. Absorbed (true) when the hole lies inside a payload the
   * reader streams or skips, so the next frame header is still where it is expected; otherwise the
   * frame layer has lost its place (false) and the caller gives up on the connection.
   */
  gap(bytes: number): boolean {
    if (this.#queue.size > 0 || bytes > this.#left) return false;
    if (this.#state === St.DataBody) {
      const bodyBytes = Math.min(bytes, this.#left - this.#padLength);
      this.#left -= bytes;
      if (this.#left <= this.#padLength) this.#state = St.Skip;
      this.#sink.dataGap(this.#side, this.#streamId, bodyBytes);
      if (this.#state === St.Skip && this.#left === 0) this.#frameDone();
      return true;
    }
    if (this.#state === St.Skip) {
      this.#left -= bytes;
      if (this.#left === 0) this.#frameDone();
      return true;
    }
    return false;
  }

  /** Stops for good (the connection gave up); drops what is buffered. */
  stop(): void {
    this.#state = St.Stopped;
    this.#queue.clear();
    this.#block.take();
  }

  /** Runs the current state; false when it needs bytes that have not arrived. */
  #step(): boolean {
    const q = this.#queue;
    switch (this.#state) {
      case St.Preface: {
        if (q.size < HTTP2_PREFACE.length) return false;
        if (!q.consume(HTTP2_PREFACE.length).equals(HTTP2_PREFACE))
          return this.#fail('bad_preface');
        this.#state = St.Header;
        return true;
      }
      case St.Header:
        if (q.size < FRAME_HEADER_BYTES) return false;
        return this.#onHeader(q.consume(FRAME_HEADER_BYTES));
      case St.PadLength:
        if (q.size < PAD_LENGTH_BYTES) return false;
        return this.#onPadLength(q.consume(PAD_LENGTH_BYTES)[0]!);
      case St.PriorityFields:
        // Stream dependency and weight (§6.2): deprecated (§5.3.2) and of no use to a record.
        if (q.size < PRIORITY_FIELDS_BYTES) return false;
        q.skip(PRIORITY_FIELDS_BYTES);
        this.#left -= PRIORITY_FIELDS_BYTES;
        return this.#enterFragment();
      case St.PromisedId:
        if (q.size < PROMISED_STREAM_ID_BYTES) return false;
        this.#blockPromisedId =
          q.consume(PROMISED_STREAM_ID_BYTES).readUInt32BE(0) & STREAM_ID_MASK;
        this.#left -= PROMISED_STREAM_ID_BYTES;
        return this.#enterFragment();
      case St.Fragment:
        return this.#onFragment();
      case St.DataBody: {
        const bodyLeft = this.#left - this.#padLength;
        if (bodyLeft > 0) {
          if (q.size === 0) return false;
          const piece = q.consumeView(bodyLeft);
          this.#left -= piece.length;
          if (piece.length === bodyLeft) this.#state = St.Skip;
          this.#sink.dataPayload(this.#side, this.#streamId, piece);
        } else this.#state = St.Skip;
        return true;
      }
      case St.Control:
        return this.#onControl();
      case St.Skip:
        if (this.#left > 0) {
          if (q.size === 0) return false;
          this.#left -= q.skip(this.#left);
          if (this.#left > 0) return false;
        }
        this.#frameDone();
        return true;
      default:
        return false;
    }
  }

  #onHeader(h: Buffer): boolean {
    const length = h.readUIntBE(0, 3);
    const type = h[3]!;
    const flags = h[4]!;
    const streamId = h.readUInt32BE(5) & STREAM_ID_MASK;
    this.#type = type;
    this.#flags = flags;
    this.#streamId = streamId;
    this.#left = length;
    this.#padLength = 0;
    const frameBytes = FRAME_HEADER_BYTES + length;
    const padded = (flags & Flag.Padded) !== 0;

    // §6.10: a header block is a contiguous sequence of frames on one stream.
    if (this.#blockOpen && (type !== FrameType.Continuation || streamId !== this.#blockStreamId)) {
      return this.#fail('continuation_expected');
    }
    // §3.4: the server connection preface is a SETTINGS frame.
    if (this.#expectSettings && type !== FrameType.Settings) return this.#fail('bad_preface');
    this.#expectSettings = false;

    switch (type) {
      case FrameType.Data:
        if (streamId === 0) return this.#fail('bad_stream_id'); // §6.1
        if (padded && length < PAD_LENGTH_BYTES) return this.#fail('bad_frame_size');
        this.#sink.frame(this.#side, streamId, frameBytes);
        this.#state = padded ? St.PadLength : St.DataBody;
        return true;
      case FrameType.Headers: {
        if (streamId === 0) return this.#fail('bad_stream_id'); // §6.2
        const priority = (flags & Flag.Priority) !== 0;
        const fixed = (padded ? PAD_LENGTH_BYTES : 0) + (priority ? PRIORITY_FIELDS_BYTES : 0);
        if (length < fixed) return this.#fail('bad_frame_size');
        this.#openBlock(streamId, (flags & Flag.EndStream) !== 0, frameBytes);
        if (padded) this.#state = St.PadLength;
        else if (priority) this.#state = St.PriorityFields;
        else return this.#enterFragment();
        return true;
      }
      case FrameType.PushPromise: {
        if (streamId === 0) return this.#fail('bad_stream_id'); // §6.6
        const fixed = (padded ? PAD_LENGTH_BYTES : 0) + PROMISED_STREAM_ID_BYTES;
        if (length < fixed) return this.#fail('bad_frame_size');
        this.#openBlock(streamId, false, frameBytes);
        this.#state = padded ? St.PadLength : St.PromisedId;
        return true;
      }
      case FrameType.Continuation:
        if (!this.#blockOpen) return this.#fail('unexpected_continuation'); // §6.10
        this.#blockFrameBytes += frameBytes;
        return this.#enterFragment();
      case FrameType.RstStream:
        if (streamId === 0) return this.#fail('bad_stream_id'); // §6.4
        if (length !== RST_STREAM_BYTES) return this.#fail('bad_frame_size');
        this.#sink.frame(this.#side, streamId, frameBytes);
        this.#state = St.Control;
        return true;
      case FrameType.Goaway:
        if (streamId !== 0) return this.#fail('bad_stream_id'); // §6.8
        if (length < GOAWAY_FIXED_BYTES) return this.#fail('bad_frame_size');
        this.#state = St.Control;
        return true;
      case FrameType.Settings:
        if (streamId !== 0) return this.#fail('bad_stream_id'); // §6.5
        // §6.5: an ACK carries nothing; otherwise whole 6-byte parameters.
        if ((flags & Flag.Ack) !== 0 ? length !== 0 : length % SETTINGS_ENTRY_BYTES !== 0) {
          return this.#fail('bad_frame_size');
        }
        // Parameters are not needed: the encoders announce table size changes in-band (RFC 7541
        // §4.2) and frame sizes are taken from the frames themselves.
        this.#state = St.Skip;
        return true;
      case FrameType.Ping:
        if (streamId !== 0) return this.#fail('bad_stream_id'); // §6.7
        if (length !== PING_BYTES) return this.#fail('bad_frame_size');
        this.#state = St.Skip;
        return true;
      case FrameType.WindowUpdate:
        if (length !== WINDOW_UPDATE_BYTES) return this.#fail('bad_frame_size'); // §6.9
        this.#sink.frame(this.#side, streamId, frameBytes);
        this.#state = St.Skip;
        return true;
      default:
        // PRIORITY (§6.3: its problems are stream errors only) and unknown types, which §4.1
        // says to ignore.
        this.#sink.frame(this.#side, streamId, frameBytes);
        this.#state = St.Skip;
        return true;
    }
  }

  #openBlock(streamId: number, endStream: boolean, frameBytes: number): void {
    this.#blockOpen = true;
    this.#blockStreamId = streamId;
    this.#blockPromisedId = 0;
    this.#blockEndStream = endStream;
    this.#blockFrameBytes = frameBytes;
  }

  #onPadLength(padLength: number): boolean {
    this.#left -= PAD_LENGTH_BYTES;
    let fixed = 0;
    if (this.#type === FrameType.Headers && (this.#flags & Flag.Priority) !== 0) {
      fixed = PRIORITY_FIELDS_BYTES;
    } else if (this.#type === FrameType.PushPromise) fixed = PROMISED_STREAM_ID_BYTES;
    // §6.1, §6.2, §6.6: padding that reaches the end of the payload is a connection error.
    if (padLength > this.#left - fixed) return this.#fail('bad_padding');
    this.#padLength = padLength;
    switch (this.#type) {
      case FrameType.Data:
        this.#state = St.DataBody;
        return true;
      case FrameType.PushPromise:
        this.#state = St.PromisedId;
        return true;
      default:
        if (fixed > 0) {
          this.#state = St.PriorityFields;
          return true;
        }
        return this.#enterFragment();
    }
  }

  #enterFragment(): boolean {
    if (this.#block.size + this.#left - this.#padLength > MAX_HEADER_BLOCK_BYTES) {
      return this.#fail('header_block_too_large');
    }
    this.#state = St.Fragment;
    return true;
  }

  #onFragment(): boolean {
    const q = this.#queue;
    const fragmentLeft = this.#left - this.#padLength;
    const endHeaders = (this.#flags & Flag.EndHeaders) !== 0;
    if (fragmentLeft > 0) {
      if (endHeaders && this.#block.size === 0 && q.size >= fragmentLeft) {
        // The whole block is here in one piece: decode it in place.
        this.#left -= fragmentLeft;
        this.#deliverBlock(q.consume(fragmentLeft));
        return true;
      }
      if (q.size === 0) return false;
      const piece = q.consumeView(fragmentLeft);
      this.#block.append(piece);
      this.#left -= piece.length;
      if (piece.length < fragmentLeft) return true;
    }
    if (endHeaders) this.#deliverBlock(this.#block.take());
    else this.#state = St.Skip;
    return true;
  }

  #deliverBlock(block: Buffer): void {
    this.#blockOpen = false;
    this.#state = St.Skip;
    this.#sink.headerBlock(
      this.#side,
      this.#blockStreamId,
      this.#blockPromisedId,
      this.#blockEndStream,
      block,
      this.#blockFrameBytes,
    );
  }

  #onControl(): boolean {
    const n = this.#type === FrameType.RstStream ? RST_STREAM_BYTES : GOAWAY_FIXED_BYTES;
    if (this.#queue.size < n) return false;
    const p = this.#queue.consume(n);
    this.#left -= n;
    this.#state = St.Skip;
    if (this.#type === FrameType.RstStream) {
      this.#sink.rstStream(this.#side, this.#streamId, p.readUInt32BE(0));
    } else {
      this.#sink.goaway(this.#side, p.readUInt32BE(0) & STREAM_ID_MASK, p.readUInt32BE(4));
    }
    return true;
  }

  #frameDone(): void {
    this.#state = St.Header;
    if (this.#type === FrameType.Data && (this.#flags & Flag.EndStream) !== 0) {
      this.#sink.endStream(this.#side, this.#streamId);
    }
  }

  #fail(code: string): false {
    this.stop();
    this.#sink.frameError(this.#side, code);
    return false;
  }
}
