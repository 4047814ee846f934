/**
 * Keeps the first bytes of a body (an HTTP/1 body, an HTTP/2 stream's DATA, a WebSocket payload)
 * as GOST records them: at most `http.maxBodySize` bytes, capped at MAX_BODY_SIZE_CAP, and nothing
 * when body capture is off. The bytes are copied (they arrive as borrowed views); the buffer grows
 * with the bytes that actually arrive, never from a declared length. A capture gap stops the
 * capture: later bytes would land at the wrong offset.
 */
import { MAX_BODY_SIZE_CAP, type SniffConfig } from './sniffer.ts';

/** Bytes to keep per body under `config` (0 = capture off). */
export function bodyCaptureLimit(config: SniffConfig): number {
  if (!config.httpBody) return 0;
  return Math.max(0, Math.min(Math.floor(config.httpMaxBodySize), MAX_BODY_SIZE_CAP));
}

export class BodyCapture {
  readonly #limit: number;
  #buf: Buffer | null = null;
  #kept = 0;
  /** Body bytes seen or lost in holes, kept or not. */
  #seen = 0;
  /** A hole was seen: later bytes would land at the wrong offset, so capture stops there. */
  #holed = false;

  /** `limit`: bytes to keep (0 = capture off). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Body bytes seen (passed to `add`) or lost (passed to `hole`), whether kept or not. */
  get seen(): number {
    return this.#seen;
  }

  /** Copies what still fits of `bytes` (a borrowed view); returns the number of bytes newly kept. */
  add(bytes: Uint8Array): number {
    this.#seen += bytes.length;
    const room = this.#limit - this.#kept;
    if (room <= 0 || this.#holed || bytes.length === 0) return 0;
    const take = Math.min(room, bytes.length);
    const need = this.#kept + take;
    if (this.#buf === null || this.#buf.length < need) {
      // Exactly the first piece (often the whole body), then doubling up to the limit.
      const size =
        this.#buf === null ? need : Math.min(this.#limit, Math.max(need, this.#buf.length * 2));
      const grown = Buffer.allocUnsafe(size);
      this.#buf?.copy(grown, 0, 0, this.#kept);
      this.#buf = grown;
    }
    this.#buf.set(take === bytes.length ? bytes : bytes.subarray(0, take), this.#kept);
    this.#kept = need;
    return take;
  }

  /** `bytes` body bytes were never seen (a capture gap): nothing after them is kept. */
  hole(bytes = 0): void {
    this.#seen += bytes;
    this.#holed = true;
  }

  /** The kept bytes, or null when none. */
  result(): Buffer | null {
    if (this.#buf === null || this.#kept === 0) return null;
    return this.#buf.subarray(0, this.#kept);
  }
}
