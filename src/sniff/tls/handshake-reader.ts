/**
 * Reassembles handshake messages from the bodies of consecutive handshake records (RFC 8446 §5.1:
 * a message may span records, and a record may hold several messages), as a pull parser with the
 * same shape as TlsRecordReader: [Header: 4 bytes] ─► [Body: length bytes] ─► `next()` === true.
 *
 * A message is buffered whole before it is returned, so `maxMessageBytes` bounds the memory; a
 * header declaring more latches `error` before any of those bytes are awaited.
 */
import { ChunkQueue } from '../chunk-queue.ts';
import { HANDSHAKE_HEADER_BYTES } from './tls-protocol.ts';

const State = { Header: 0, Body: 1, Stopped: 2 } as const;
type State = (typeof State)[keyof typeof State];

const EMPTY = Buffer.alloc(0);

export class HandshakeReader {
  readonly #queue = new ChunkQueue();
  readonly #maxMessageBytes: number;
  #state: State = State.Header;
  #msgType = 0;
  #length = 0;
  #body: Buffer = EMPTY;
  #error: string | null = null;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** HandshakeType of the message `next()` returned. */
  get msgType(): number {
    return this.#msgType;
  }

  /** Its body (after the 4-byte header): borrowed, valid until the next `push`/`next`/`retain`. */
  get body(): Buffer {
    return this.#body;
  }

  get error(): string | null {
    return this.#error;
  }

  /** Part of a message is buffered (a record of another type now would interleave, §5.1). */
  get partial(): boolean {
    return this.#state === State.Body || this.#queue.size > 0;
  }

  /** Queues a borrowed record body. */
  push(fragment: Buffer): void {
    if (this.#state !== State.Stopped) this.#queue.push(fragment);
  }

  next(): boolean {
    for (;;) {
      switch (this.#state) {
        case State.Header: {
          if (this.#queue.size < HANDSHAKE_HEADER_BYTES) return false;
          const header = this.#queue.consume(HANDSHAKE_HEADER_BYTES);
          this.#msgType = header[0]!;
          this.#length = header.readUIntBE(1, 3);
          if (this.#length > this.#maxMessageBytes) {
            this.#error = 'handshake_too_long';
            this.stop();
            return false;
          }
          this.#state = State.Body;
          break;
        }
        case State.Body:
          if (this.#queue.size < this.#length) return false;
          this.#body = this.#length === 0 ? EMPTY : this.#queue.consume(this.#length);
          this.#state = State.Header;
          return true;
        case State.Stopped:
          return false;
      }
    }
  }

  /** Copies buffered bytes that still alias the caller's memory. */
  retain(): void {
    this.#queue.retain();
    this.#body = EMPTY;
  }

  /** Stops for good and releases the buffer. */
  stop(): void {
    this.#state = State.Stopped;
    this.#queue.clear();
    this.#body = EMPTY;
  }
}
