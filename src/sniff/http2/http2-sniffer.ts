/**
 * Passive HTTP/2 sniffer for one cleartext connection (h2c by prior knowledge or after an HTTP/1.1
 * upgrade): one `http` record per stream.
 *
 *   data(client) ─► FrameReader(preface, frames) ─┐                 ┌─► HpackDecoder(client) ─┐
 *   data(server) ─► FrameReader(frames) ──────────┴─► FrameSink ────┴─► HpackDecoder(server) ─┴─► streams
 *                                                      (this class)                                 │
 *                       both sides ended, RST_STREAM, GOAWAY, eviction, connection end ─► ctx.emit ◄┘
 *
 * Invariants:
 * - Every header block of a direction goes through that direction's HPACK decoder in order, also
 *   for streams the sniffer no longer follows: skipping one would corrupt the dynamic table.
 * - HPACK state cannot be recovered (RFC 7541 §2.2): after a gap outside a DATA payload or padding,
 *   a decoding error or a framing error, the sniffer stops both directions and emits every open
 *   stream with the reason as its error. A gap inside DATA only costs body bytes.
 * - At most MAX_OPEN_STREAMS streams and MAX_RETAINED_BYTES of their headers and bodies are held;
 *   past either bound the oldest stream is emitted early.
 */
import { Side, type H2cUpgrade, type SniffContext, type StreamSniffer } from '../sniffer.ts';
import type { HeaderMap } from '../../record/record-types.ts';
import { bodyCaptureLimit } from '../body-capture.ts';
import { errorCodeName, NO_ERROR } from './frame-constants.ts';
import { FrameReader, type FrameSink } from './frame-reader.ts';
import { HeaderBlockFields } from './header-fields.ts';
import { HpackDecoder } from './hpack-decoder.ts';
import { MAX_OPEN_STREAMS, MAX_RETAINED_BYTES } from './http2-limits.ts';
import { Http2Stream, requestFromFields, requestFromUpgrade } from './http2-stream.ts';

export { HTTP2_PREFACE } from './frame-constants.ts';

/**
 * The HTTP/2 sniffer of a connection. `upgrade` is the HTTP/1.1 request that switched to h2c; it
 * becomes stream 1. The client side starts with the connection preface either way.
 */
export function createHttp2Sniffer(ctx: SniffContext, upgrade: H2cUpgrade | null): StreamSniffer {
  return new Http2Sniffer(ctx, upgrade);
}

/** Client-initiated streams are odd, server-initiated (pushed) ones even (RFC 9113 §5.1.1). */
function clientInitiated(streamId: number): boolean {
  return streamId % 2 === 1;
}

/** Appends trailer fields (RFC 9113 §8.1) to a message's header map. */
function mergeHeader(into: HeaderMap, from: HeaderMap): void {
  for (const [key, values] of from) {
    const existing = into.get(key);
    if (existing) existing.push(...values);
    else into.set(key, values);
  }
}

class Http2Sniffer implements StreamSniffer, FrameSink {
  readonly #ctx: SniffContext;
  readonly #readers: readonly [FrameReader, FrameReader];
  readonly #hpack: readonly [HpackDecoder, HpackDecoder] = [new HpackDecoder(), new HpackDecoder()];
  /** Open streams by id, oldest first (Map keeps insertion order). */
  readonly #streams = new Map<number, Http2Stream>();
  readonly #ended = [false, false];
  #stopped = false;
  #retainedBytes = 0;
  /** Stream ids only grow (§5.1.1): the highest opened by the client and promised by the server. */
  #lastClientStreamId = 0;
  #lastPushedStreamId = 0;
  readonly #bodyCapture: boolean;
  readonly #bodyLimit: number;

  constructor(ctx: SniffContext, upgrade: H2cUpgrade | null) {
    this.#ctx = ctx;
    this.#readers = [
      new FrameReader(Side.Client, this, true),
      new FrameReader(Side.Server, this, false),
    ];
    this.#bodyCapture = ctx.config.httpBody;
    this.#bodyLimit = bodyCaptureLimit(ctx.config);
    if (upgrade) {
      // RFC 7540 §3.2: the upgrade request is stream 1, half-closed (local) for the client.
      const s = new Http2Stream(1, requestFromUpgrade(upgrade), upgrade.start, this.#bodyLimit);
      s.clientEnded = true;
      s.inputBytes = upgrade.inputBytes;
      s.outputBytes = upgrade.outputBytes;
      this.#streams.set(1, s);
      this.#lastClientStreamId = 1;
    }
  }

  // ── StreamSniffer ──────────────────────────────────────────────────────────────────────────

  data(side: Side, data: Buffer): void {
    if (!this.#stopped) this.#readers[side].push(data);
  }

  gap(side: Side, bytes: number): void {
    if (this.#stopped || bytes <= 0) return;
    if (!this.#readers[side].gap(bytes)) this.#loseHpack('gap');
  }

  end(side: Side): void {
    this.#ended[side] = true;
    if (!this.#ended[Side.Client] || !this.#ended[Side.Server]) return;
    this.#stopped = true;
    this.#closeAll('connection closed before stream end');
  }

  wants(): boolean {
    return !this.#stopped;
  }

  // ── FrameSink ──────────────────────────────────────────────────────────────────────────────

  frame(side: Side, streamId: number, frameBytes: number): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    if (side === Side.Client) s.inputBytes += frameBytes;
    else s.outputBytes += frameBytes;
  }

  dataPayload(side: Side, streamId: number, bytes: Buffer): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    const kept = (side === Side.Client ? s.requestBody : s.responseBody).add(bytes);
    if (kept > 0) this.#retain(s, kept);
  }

  dataGap(side: Side, streamId: number, bytes: number): void {
    const s = this.#streams.get(streamId);
    if (s) (side === Side.Client ? s.requestBody : s.responseBody).hole(bytes);
  }

  endStream(side: Side, streamId: number): void {
    const s = this.#streams.get(streamId);
    if (s) this.#endSide(s, side);
  }

  headerBlock(
    side: Side,
    streamId: number,
    promisedId: number,
    endStream: boolean,
    block: Buffer,
    frameBytes: number,
  ): void {
    const fields = new HeaderBlockFields();
    if (!this.#hpack[side].decode(block, fields)) {
      this.#ctx.parseError('http2', 'hpack_error');
      this.#loseHpack('error');
      return;
    }
    if (fields.truncated) this.#ctx.parseError('http2', 'header_list_too_large');
    if (side === Side.Client) {
      if (promisedId !== 0)
        this.#ctx.parseError('http2', 'bad_push_promise'); // §8.4: server only
      else this.#clientBlock(streamId, endStream, fields, frameBytes);
    } else if (promisedId !== 0) this.#pushPromise(streamId, promisedId, fields, frameBytes);
    else this.#serverBlock(streamId, endStream, fields, frameBytes);
  }

  rstStream(side: Side, streamId: number, errorCode: number): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    // §8.1: after a complete response a server may stop the request with RST_STREAM(NO_ERROR);
    // the exchange itself succeeded.
    const benign = errorCode === NO_ERROR && side === Side.Server && s.serverEnded;
    this.#close(s, benign ? '' : `stream reset: ${errorCodeName(errorCode)}`);
  }

  goaway(side: Side, lastStreamId: number, errorCode: number): void {
    // §6.8: streams the receiver initiated above last-stream-id were not (and will not be)
    // processed by the sender of the GOAWAY.
    const receiverIsClient = side === Side.Server;
    const err = `refused by GOAWAY: ${errorCodeName(errorCode)}`;
    for (const s of this.#streams.values()) {
      if (s.id > lastStreamId && clientInitiated(s.id) === receiverIsClient) this.#close(s, err);
    }
  }

  frameError(_side: Side, code: string): void {
    this.#ctx.parseError('http2', code);
    this.#fail(`http2 protocol error: ${code}`);
  }

  // ── streams ────────────────────────────────────────────────────────────────────────────────

  #clientBlock(
    streamId: number,
    endStream: boolean,
    fields: HeaderBlockFields,
    frameBytes: number,
  ): void {
    let s = this.#streams.get(streamId);
    if (s) {
      mergeHeader(s.request.header, fields.header); // trailers
    } else {
      if (!clientInitiated(streamId)) {
        this.#ctx.parseError('http2', 'bad_stream_id');
        return;
      }
      // A lower id is a stream already emitted (reset, evicted): a late block, nothing to record.
      if (streamId <= this.#lastClientStreamId) return;
      this.#lastClientStreamId = streamId;
      s = this.#open(streamId, fields);
    }
    s.inputBytes += frameBytes;
    this.#retain(s, fields.bytes);
    if (endStream) this.#endSide(s, Side.Client);
  }

  #pushPromise(
    streamId: number,
    promisedId: number,
    fields: HeaderBlockFields,
    frameBytes: number,
  ): void {
    const parent = this.#streams.get(streamId);
    if (parent) parent.outputBytes += frameBytes;
    // §6.6, §5.1.1: a promised stream is new and server-initiated.
    if (promisedId === 0 || clientInitiated(promisedId) || promisedId <= this.#lastPushedStreamId) {
      this.#ctx.parseError('http2', 'bad_stream_id');
      return;
    }
    this.#lastPushedStreamId = promisedId;
    const s = this.#open(promisedId, fields);
    // §8.4: a promised stream is reserved (remote); the client never sends on it.
    s.clientEnded = true;
    this.#retain(s, fields.bytes);
  }

  #serverBlock(
    streamId: number,
    endStream: boolean,
    fields: HeaderBlockFields,
    frameBytes: number,
  ): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    s.outputBytes += frameBytes;
    if (s.response) {
      mergeHeader(s.response.header, fields.header); // trailers
    } else {
      // §8.1: informational (1xx) heads precede the final one and are not recorded.
      const status = fields.statusCode();
      if (status >= 100 && status < 200) return;
      s.response = fields;
    }
    this.#retain(s, fields.bytes);
    if (endStream) this.#endSide(s, Side.Server);
  }

  #open(streamId: number, fields: HeaderBlockFields): Http2Stream {
    if (this.#streams.size >= MAX_OPEN_STREAMS) {
      this.#ctx.parseError('http2', 'stream_table_full');
      this.#closeOldest('stream evicted: too many open streams');
    }
    const s = new Http2Stream(
      streamId,
      requestFromFields(fields),
      this.#ctx.now(),
      this.#bodyLimit,
    );
    this.#streams.set(streamId, s);
    return s;
  }

  /** Adds bytes a stream now holds; beyond the connection budget the oldest streams go. */
  #retain(s: Http2Stream, bytes: number): void {
    s.retainedBytes += bytes;
    this.#retainedBytes += bytes;
    while (this.#retainedBytes > MAX_RETAINED_BYTES) {
      this.#ctx.parseError('http2', 'retained_bytes_limit');
      this.#closeOldest('stream evicted: retained bytes limit');
    }
  }

  #endSide(s: Http2Stream, side: Side): void {
    if (side === Side.Client) s.clientEnded = true;
    else s.serverEnded = true;
    if (s.clientEnded && s.serverEnded) this.#close(s, '');
  }

  #close(s: Http2Stream, err: string): void {
    // A stream can be evicted while a caller still holds it: emit once.
    if (this.#streams.get(s.id) !== s) return;
    this.#streams.delete(s.id);
    this.#retainedBytes -= s.retainedBytes;
    const ctx = this.#ctx;
    ctx.emit(s.toRecord(ctx.now(), err, ctx.endpoints.serverPort, this.#bodyCapture));
  }

  #closeOldest(err: string): void {
    const oldest = this.#streams.values().next();
    if (!oldest.done) this.#close(oldest.value, err);
  }

  #closeAll(err: string): void {
    for (const s of this.#streams.values()) this.#close(s, err);
  }

  /** The dynamic table of a direction is unknown from here on (RFC 7541 §2.2). */
  #loseHpack(reason: 'gap' | 'error'): void {
    this.#ctx.parseError('http2', 'hpack_desync');
    this.#fail(`hpack state lost after ${reason}`);
  }

  #fail(err: string): void {
    this.#stopped = true;
    this.#readers[Side.Client].stop();
    this.#readers[Side.Server].stop();
    this.#closeAll(err);
  }
}
