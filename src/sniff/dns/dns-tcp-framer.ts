/**
 * DNS over TCP framing for one direction (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded
 * by its length as a 2-byte big-endian number. Several messages may share a segment and one
 * message may span many.
 *
 * State machine (ws receiver style): `Length` needs 2 bytes, `Message` needs `length` bytes; the
 * loop stops when the current state lacks bytes and the next `push` resumes there. `Stopped` is
 * final (a gap, or the end of the stream): the framing cannot be recovered once bytes are missing.
 * At most one unfinished message (≤ 65535 bytes) is ever held.
 */
import { ChunkQueue } from '../chunk-queue.ts';

const St = { Length: 0, Message: 1, Stopped: 2 } as const;
type St = (typeof St)[keyof typeof St];

const LENGTH_PREFIX_BYTES = 2;

/** Receives each message (a view valid during the call only) and its size on the wire. */
export type DnsMessageHandler = (message: Buffer, wireBytes: number) => void;

export class DnsTcpFramer {
  #state: St = St.Length;
  #messageLength = 0;
  readonly #queue = new ChunkQueue();
  readonly #onMessage: DnsMessageHandler;

  constructor(onMessage: DnsMessageHandler) {
    this.#onMessage = onMessage;
  }

  get stopped(): boolean {
    return this.#state === St.Stopped;
  }

  /** True while part of a message (or of its length) has arrived but not the rest. */
  get midMessage(): boolean {
    return this.#state === St.Message || this.#queue.size > 0;
  }

  /** Stream bytes in order; `data` is borrowed for the call. */
  push(data: Buffer): void {
    if (this.#state === St.Stopped || data.length === 0) return;
    this.#queue.push(data);
    this.#run();
    this.#queue.retain();
  }

  /** No more bytes will be parsed; whatever is held is dropped. */
  stop(): void {
    this.#state = St.Stopped;
    this.#queue.clear();
  }

  #run(): void {
    const q = this.#queue;
    for (;;) {
      switch (this.#state) {
        case St.Length:
          if (q.size < LENGTH_PREFIX_BYTES) return;
          this.#messageLength = q.readU16BE();
          this.#state = St.Message;
          break;
        case St.Message: {
          if (q.size < this.#messageLength) return;
          const message = q.consume(this.#messageLength);
          this.#state = St.Length;
          this.#onMessage(message, LENGTH_PREFIX_BYTES + message.length);
          break;
        }
        case St.Stopped:
          return;
      }
    }
  }
}
