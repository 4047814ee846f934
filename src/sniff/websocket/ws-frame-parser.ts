/**
 * One direction of a WebSocket connection: RFC 6455 §5.2 base framing as an explicit state machine
 * (after websockets/ws `Receiver`). Payloads are streamed to the sink as views, never buffered.
 *
 *   Header ─┬─────────────┬─┬──────┬─► Payload ─► Header …
 *           ├─► Len16 ────┤ └─► Mask┘
 *           └─► Len64 ────┘
 *
 * Protocol violations that leave the framing intact (a reserved opcode, an unmasked client frame,
 * a fragmented control frame, …) are counted and parsing goes on, so the records show what was on
 * the wire. A length past 2^53 − 1 cannot be followed: the direction stops, as after a gap outside a
 * payload.
 */
import type { SniffContext } from '../sniffer.ts';
import { ChunkQueue } from '../chunk-queue.ts';

/** A frame header (RFC 6455 §5.2). */
export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** The 4 mask bytes read as a little-endian uint32 (GOST's `maskKey`); 0 when unmasked. */
  maskKey: number;
  /** Payload length from the header. */
  length: number;
  /** Header bytes on the wire (2 to 14). */
  headerBytes: number;
}

/** Receives one direction's frames. Views passed in are valid during the call only. */
export interface FrameSink {
  /** The first byte of a frame arrived. */
  frameBegin(): void;
  frameHeader(header: FrameHeader): void;
  /** Payload bytes as on the wire (still masked). */
  payload(bytes: Buffer): void;
  /** `bytes` payload bytes were lost in a capture gap. */
  payloadGap(bytes: number): void;
  /** The frame is complete; `closeCode` is a Close frame's status code, else -1. */
  frameEnd(closeCode: number): void;
  /** The frame was cut short (gap in its header, end of stream). */
  frameAbort(err: string): void;
}

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

const FIN = 0x80;
const RSV1 = 0x40;
const RSV2 = 0x20;
const RSV3 = 0x10;
const OPCODE_MASK = 0x0f;
/** Opcodes with this bit set are control frames (RFC 6455 §5.5). */
const CONTROL_BIT = 0x8;
const MASK_BIT = 0x80;
const LEN7_MASK = 0x7f;
const LEN16_MARKER = 126;
const LEN64_MARKER = 127;
/** RFC 6455 §5.5: control frames carry at most 125 payload bytes. */
const MAX_CONTROL_PAYLOAD = 125;
/** High 32 bits of a 64-bit length above this make it exceed 2^53 − 1. */
const MAX_LENGTH_HIGH_WORD = 0x1fffff;
const TWO_POW_32 = 2 ** 32;
const NO_CLOSE_CODE = -1;

const St = { Header: 0, Len16: 1, Len64: 2, Mask: 3, Payload: 4, Done: 5 } as const;
type St = (typeof St)[keyof typeof St];

const ERR_GAP = 'gap in stream';
const ERR_EOF = 'unexpected EOF';
const ERR_TOO_LONG = 'frame too long';

export class FrameParser {
  readonly #ctx: SniffContext;
  /** Client frames must be masked, server frames must not (RFC 6455 §5.1). */
  readonly #fromClient: boolean;
  readonly #sink: FrameSink;
  readonly #queue = new ChunkQueue();
  #state: St = St.Header;
  #inFrame = false;
  /** Header of the frame being read; its fields are filled state by state. */
  #frame: FrameHeader = emptyHeader();
  #remaining = 0;
  /** Payload bytes read of the current frame (to find the close code's two bytes). */
  #offset = 0;
  #closeCode = NO_CLOSE_CODE;
  /** A fragmented data message is in progress (RFC 6455 §5.4). */
  #inMessage = false;
  /** This direction sent a Close frame (RFC 6455 §5.5.1: nothing may follow). */
  #closed = false;

  constructor(ctx: SniffContext, fromClient: boolean, sink: FrameSink) {
    this.#ctx = ctx;
    this.#fromClient = fromClient;
    this.#sink = sink;
  }

  get stopped(): boolean {
    return this.#state === St.Done;
  }

  /** In-order bytes (borrowed). */
  data(bytes: Buffer): void {
    if (this.#state === St.Done) return;
    this.#queue.push(bytes);
    this.#run();
    this.#queue.retain();
  }

  /** `bytes` bytes will never arrive: absorbed inside a payload, fatal anywhere else. */
  gap(bytes: number): void {
    let left = bytes;
    while (left > 0 && this.#state !== St.Done) {
      if (this.#state === St.Payload && this.#queue.size === 0) {
        const take = Math.min(left, this.#remaining);
        this.#remaining -= take;
        this.#offset += take;
        left -= take;
        this.#sink.payloadGap(take);
        if (this.#remaining === 0) this.#endFrame();
      } else {
        this.#stop(ERR_GAP);
      }
    }
  }

  end(): void {
    if (this.#state !== St.Done) this.#stop(ERR_EOF);
  }

  #run(): void {
    for (;;) {
      let progressed: boolean;
      switch (this.#state) {
        case St.Header:
          progressed = this.#readHeader();
          break;
        case St.Len16:
          progressed = this.#readLen16();
          break;
        case St.Len64:
          progressed = this.#readLen64();
          break;
        case St.Mask:
          progressed = this.#readMask();
          break;
        case St.Payload:
          progressed = this.#readPayload();
          break;
        case St.Done:
          return;
      }
      if (!progressed) return;
    }
  }

  #readHeader(): boolean {
    if (this.#queue.size === 0) return false;
    if (!this.#inFrame) {
      this.#inFrame = true;
      this.#sink.frameBegin();
    }
    if (this.#queue.size < 2) return false;
    const b = this.#queue.consume(2);
    const f = this.#frame;
    f.fin = (b[0]! & FIN) !== 0;
    f.rsv1 = (b[0]! & RSV1) !== 0;
    f.rsv2 = (b[0]! & RSV2) !== 0;
    f.rsv3 = (b[0]! & RSV3) !== 0;
    f.opcode = b[0]! & OPCODE_MASK;
    f.masked = (b[1]! & MASK_BIT) !== 0;
    f.maskKey = 0;
    f.headerBytes = 2;
    const len7 = b[1]! & LEN7_MASK;
    if (len7 === LEN16_MARKER) this.#state = St.Len16;
    else if (len7 === LEN64_MARKER) this.#state = St.Len64;
    else return this.#lengthKnown(len7);
    return true;
  }

  #readLen16(): boolean {
    if (this.#queue.size < 2) return false;
    const length = this.#queue.consume(2).readUInt16BE(0);
    this.#frame.headerBytes += 2;
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length"
    if (length <= MAX_CONTROL_PAYLOAD) this.#ctx.parseError('websocket', 'non_minimal_length');
    return this.#lengthKnown(length);
  }

  #readLen64(): boolean {
    if (this.#queue.size < 8) return false;
    const b = this.#queue.consume(8);
    this.#frame.headerBytes += 8;
    const high = b.readUInt32BE(0);
    // RFC 6455 §5.2: the most significant bit MUST be 0; beyond 2^53 − 1 a double is inexact.
    if (high > MAX_LENGTH_HIGH_WORD) {
      this.#ctx.parseError('websocket', 'frame_too_long');
      this.#stop(ERR_TOO_LONG);
      return false;
    }
    const length = high * TWO_POW_32 + b.readUInt32BE(4);
    if (length <= 0xffff) this.#ctx.parseError('websocket', 'non_minimal_length');
    return this.#lengthKnown(length);
  }

  #lengthKnown(length: number): boolean {
    this.#frame.length = length;
    this.#state = this.#frame.masked ? St.Mask : St.Payload;
    if (!this.#frame.masked) this.#headerComplete();
    return true;
  }

  #readMask(): boolean {
    if (this.#queue.size < 4) return false;
    this.#frame.maskKey = this.#queue.consume(4).readUInt32LE(0);
    this.#frame.headerBytes += 4;
    this.#state = St.Payload;
    this.#headerComplete();
    return true;
  }

  #headerComplete(): void {
    const f = this.#frame;
    this.#validate(f);
    this.#remaining = f.length;
    this.#offset = 0;
    this.#closeCode = NO_CLOSE_CODE;
    this.#sink.frameHeader(f);
    if (f.length === 0) this.#endFrame();
  }

  /** Violations that leave the framing intact: counted, the frame is still reported. */
  #validate(f: FrameHeader): void {
    if (f.masked !== this.#fromClient)
      this.#error(this.#fromClient ? 'unmasked_client_frame' : 'masked_server_frame');
    if (this.#closed) this.#error('frame_after_close');
    const control = (f.opcode & CONTROL_BIT) !== 0;
    if (control) {
      // RFC 6455 §5.5: control frames are not fragmented and carry at most 125 bytes.
      if (!f.fin || f.length > MAX_CONTROL_PAYLOAD) this.#error('bad_control_frame');
      if (f.opcode > Opcode.Pong) this.#error('bad_opcode');
      if (f.opcode === Opcode.Close) {
        this.#closed = true;
        if (f.length === 1) this.#error('bad_close_payload'); // §5.5.1: a body starts with a 2-byte code
      }
      return;
    }
    if (f.opcode > Opcode.Binary) {
      this.#error('bad_opcode');
      return;
    }
    // RFC 6455 §5.4: continuation frames follow a non-final data frame, and only then.
    if (f.opcode === Opcode.Continuation && !this.#inMessage)
      this.#error('unexpected_continuation');
    if (f.opcode !== Opcode.Continuation && this.#inMessage) this.#error('expected_continuation');
    this.#inMessage = !f.fin;
  }

  #error(code: string): void {
    this.#ctx.parseError('websocket', code);
  }

  #readPayload(): boolean {
    if (this.#queue.size === 0) return false;
    const view = this.#queue.consumeView(this.#remaining);
    if (this.#frame.opcode === Opcode.Close && this.#offset < 2) this.#readCloseCode(view);
    this.#remaining -= view.length;
    this.#offset += view.length;
    this.#sink.payload(view);
    if (this.#remaining === 0) this.#endFrame();
    return true;
  }

  /** Unmasks the status code that opens a Close frame's payload (RFC 6455 §5.5.1). */
  #readCloseCode(view: Buffer): void {
    const key = this.#frame.maskKey;
    for (let i = 0; i < view.length && this.#offset + i < 2; i++) {
      const at = this.#offset + i;
      const byte = view[i]! ^ ((key >>> (8 * at)) & 0xff); // key byte `at`, little-endian
      this.#closeCode = at === 0 ? byte << 8 : this.#closeCode | byte;
    }
  }

  #endFrame(): void {
    let closeCode = NO_CLOSE_CODE;
    if (this.#frame.opcode === Opcode.Close && this.#frame.length >= 2) {
      closeCode = this.#closeCode;
      if (!isValidCloseCode(closeCode)) this.#ctx.parseError('websocket', 'bad_close_status');
    }
    this.#inFrame = false;
    this.#frame = emptyHeader();
    this.#state = St.Header;
    this.#sink.frameEnd(closeCode);
  }

  #stop(err: string): void {
    if (this.#inFrame) this.#sink.frameAbort(err);
    this.#inFrame = false;
    this.#state = St.Done;
    this.#queue.clear();
  }
}

/** RFC 6455 §7.4.1 and the IANA registry: codes an endpoint may send in a Close frame. */
function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

function emptyHeader(): FrameHeader {
  return {
    fin: false,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 0,
    masked: false,
    maskKey: 0,
    length: 0,
    headerBytes: 0,
  };
}
