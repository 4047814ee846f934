/**
 * The WebSocket side of an upgraded HTTP/1.1 connection (RFC 6455). Each direction runs a frame
 * parser; with `sniffing.websocket` on, every frame that passes that direction's sampler becomes a
 * record (gost-compat.md §1.4, §1.7):
 *
 *   client bytes ─► FrameParser ─► FrameRecorder(sampler) ─┐
 *   server bytes ─► FrameParser ─► FrameRecorder(sampler) ─┴─► ctx.emit(frame record)
 *
 * A frame record carries the upgrade's partial `http` object, `inputBytes` = header + payload for a
 * client frame (`outputBytes` for a server frame), and runs from the frame's first byte to its last.
 * The upgrade exchange itself is recorded by the HTTP/1 sniffer when the connection ends.
 */
import type { HttpRecord, RecordUnit, WebSocketRecord } from '../../record/record-types.ts';
import { Side, type SniffContext, type StreamSniffer, type Timestamp } from '../sniffer.ts';
import { BodyCapture, bodyCaptureLimit } from '../body-capture.ts';
import { FrameParser, type FrameHeader, type FrameSink } from './ws-frame-parser.ts';
import { FrameSampler } from './ws-sampler.ts';

/** The upgrade that opened the session, as frame records repeat it. */
export interface WebSocketSession {
  /** Record `host` of the upgrade request (Host plus port). */
  host: string;
  clientIP: string;
  /** The upgrade exchange: host, method, uri, proto, statusCode 101, headers; bodies null. */
  http: HttpRecord;
}

export class WebSocketSniffer implements StreamSniffer {
  readonly #parsers: [FrameParser, FrameParser];

  constructor(ctx: SniffContext, session: WebSocketSession) {
    this.#parsers = [
      new FrameParser(ctx, true, new FrameRecorder(ctx, session, Side.Client)),
      new FrameParser(ctx, false, new FrameRecorder(ctx, session, Side.Server)),
    ];
  }

  data(side: Side, data: Buffer): void {
    this.#parsers[side].data(data);
  }

  gap(side: Side, bytes: number): void {
    this.#parsers[side].gap(bytes);
  }

  end(side: Side): void {
    this.#parsers[side].end();
  }

  wants(side: Side): boolean {
    return !this.#parsers[side].stopped;
  }
}

/** Turns one direction's sampled frames into records. */
class FrameRecorder implements FrameSink {
  readonly #ctx: SniffContext;
  readonly #session: WebSocketSession;
  readonly #side: Side;
  readonly #sampler: FrameSampler;
  readonly #captureLimit: number;
  #start: Timestamp = { sec: 0, nsec: 0 };
  #header: FrameHeader | null = null;
  /** The current frame passed the sampler. */
  #sampled = false;
  #payloadBytes = 0;
  #capture: BodyCapture | null = null;

  constructor(ctx: SniffContext, session: WebSocketSession, side: Side) {
    this.#ctx = ctx;
    this.#session = session;
    this.#side = side;
    this.#sampler = new FrameSampler(ctx.config.websocketSampleRate);
    this.#captureLimit = bodyCaptureLimit(ctx.config);
  }

  frameBegin(): void {
    this.#start = this.#ctx.now();
  }

  frameHeader(header: FrameHeader): void {
    this.#header = header;
    this.#payloadBytes = 0;
    this.#sampled = this.#ctx.config.websocketFrames && this.#sampler.take(this.#start);
    this.#capture =
      this.#sampled && this.#captureLimit > 0 ? new BodyCapture(this.#captureLimit) : null;
  }

  payload(bytes: Buffer): void {
    this.#payloadBytes += bytes.length;
    this.#capture?.add(bytes);
  }

  payloadGap(bytes: number): void {
    this.#payloadBytes += bytes;
    this.#capture?.hole();
  }

  frameEnd(): void {
    this.#emit('');
  }

  frameAbort(err: string): void {
    this.#emit(err);
  }

  #emit(err: string): void {
    const header = this.#header;
    this.#header = null;
    if (header === null || !this.#sampled) return;
    const fromClient = this.#side === Side.Client;
    const websocket: WebSocketRecord = {
      from: fromClient ? 'client' : 'server',
      fin: header.fin,
      rsv1: header.rsv1,
      rsv2: header.rsv2,
      rsv3: header.rsv3,
      opcode: header.opcode,
      masked: header.masked,
      maskKey: header.maskKey,
      length: header.length,
      payload: this.#capture?.result() ?? null,
    };
    const bytes = header.headerBytes + this.#payloadBytes;
    const unit: RecordUnit = {
      proto: 'http',
      scope: 'unit',
      host: this.#session.host,
      clientIP: this.#session.clientIP,
      http: { ...this.#session.http },
      websocket,
      inputBytes: fromClient ? bytes : 0,
      outputBytes: fromClient ? 0 : bytes,
      start: this.#start,
      end: this.#ctx.now(),
      err,
    };
    this.#ctx.emit(unit);
  }
}
