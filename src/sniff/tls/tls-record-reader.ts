/**
 * The TLS record layer of one direction (RFC 8446 §5.1, RFC 5246 §6.2.1) as a pull parser.
 *
 *   push(bytes) ─► [Header: 5 bytes] ─► [Body: length bytes] ─► next() === true, fields set
 *                        ▲                                         │
 *                        └─────────────────────────────────────────┘
 *
 * `next()` runs the state machine until a whole record is buffered (true) or the current state needs
 * more bytes (false; the next `push` resumes exactly there). A bad header latches `error` and the
 * reader stops for good: without a trusted length there is no way back to a record boundary.
 */
import { ChunkQueue } from '../chunk-queue.ts';
import { ContentType, MAX_RECORD_BODY_BYTES, RECORD_HEADER_BYTES } from './tls-protocol.ts';

const State = { Header: 0, Body: 1, Stopped: 2 } as const;
type State = (typeof State)[keyof typeof State];

/** SSL 2.0 CLIENT-HELLO message type, the third byte after a 2-byte record header. */
const SSL2_CLIENT_HELLO = 1;
const EMPTY = Buffer.alloc(0);

export class TlsRecordReader {
  readonly #queue = new ChunkQueue();
  #state: State = State.Header;
  #records = 0;
  #contentType = 0;
  #version = 0;
  #length = 0;
  #fragment: Buffer = EMPTY;
  #error: string | null = null;

  /** Content type of the record `next()` returned. */
  get contentType(): number {
    return this.#contentType;
  }

  /** Its body: borrowed, valid until the next `push`, `next` or `retain`. */
  get fragment(): Buffer {
    return this.#fragment;
  }

  /** Records returned so far (1 while handling the first). */
  get records(): number {
    return this.#records;
  }

  /** Why reading stopped; null while healthy. */
  get error(): string | null {
    return this.#error;
  }

  /** Bytes buffered towards a record not yet complete. */
  get buffered(): number {
    return this.#queue.size;
  }

  /** Queues borrowed bytes; `retain()` before the caller's buffer goes away. */
  push(data: Buffer): void {
    if (this.#state !== State.Stopped) this.#queue.push(data);
  }

  next(): boolean {
    for (;;) {
      switch (this.#state) {
        case State.Header: {
          if (this.#queue.size < RECORD_HEADER_BYTES) return false;
          const header = this.#queue.consume(RECORD_HEADER_BYTES);
          const error = this.#checkHeader(header);
          if (error !== null) {
            this.#error = error;
            this.stop();
            return false;
          }
          this.#contentType = header[0]!;
          this.#version = header.readUInt16BE(1);
          this.#length = header.readUInt16BE(3);
          this.#state = State.Body;
          break;
        }
        case State.Body:
          if (this.#queue.size < this.#length) return false;
          this.#fragment = this.#length === 0 ? EMPTY : this.#queue.consume(this.#length);
          this.#state = State.Header;
          this.#records++;
          return true;
        case State.Stopped:
          return false;
      }
    }
  }

  /** Copies buffered bytes that still alias the caller's memory. */
  retain(): void {
    this.#queue.retain();
    this.#fragment = EMPTY;
  }

  /** Stops for good and releases the buffer. */
  stop(): void {
    this.#state = State.Stopped;
    this.#queue.clear();
    this.#fragment = EMPTY;
  }

  /** The 5 header bytes of the current record, rebuilt from its fields, as hex. */
  headerHex(): string {
    const h = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    h[0] = this.#contentType;
    h.writeUInt16BE(this.#version, 1);
    h.writeUInt16BE(this.#fragment.length, 3);
    return h.toString('hex');
  }

  #checkHeader(h: Buffer): string | null {
    // An SSL 2.0-compatible CLIENT-HELLO (RFC 5246 Appendix E.2): 2-byte length with the high bit
    // set, then message type 1. Only meaningful as a connection's very first bytes.
    if (this.#records === 0 && (h[0]! & 0x80) !== 0 && h[2] === SSL2_CLIENT_HELLO) {
      return 'sslv2_client_hello';
    }
    if (h[0]! < ContentType.ChangeCipherSpec || h[0]! > ContentType.Heartbeat) {
      return 'bad_record_type';
    }
    // Every version from SSL 3.0 on has major version 3.
    if (h[1] !== 3) return 'bad_record_version';
    if (h.readUInt16BE(3) > MAX_RECORD_BODY_BYTES) return 'record_too_long';
    return null;
  }
}
