/**
 * Keeps the first bytes of a body (or WebSocket payload) as GOST records them: at most
 * `http.maxBodySize` bytes, capped at MAX_BODY_SIZE_CAP, and nothing when body capture is off.
 * The buffer grows with the bytes that actually arrive, never from a declared length.
 */
import { MAX_BODY_SIZE_CAP, type SniffConfig } from '../sniffer.ts';

/** Bytes to keep per body under `config` (0 = capture off). */
export function bodyCaptureLimit(config: SniffConfig): number {
  if (!config.httpBody) return 0;
  return Math.max(0, Math.min(Math.floor(config.httpMaxBodySize), MAX_BODY_SIZE_CAP));
}

export class BodyCapture {
  readonly #limit: number;
  #buf: Buffer | null = null;
  #kept = 0;
  /** A hole was seen: later bytes would land at the wrong offset, so capture stops there. */
  #holed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Copies what still fits of `bytes` (a borrowed view). */
  add(bytes: Uint8Array): void {
    const room = this.#limit - this.#kept;
    if (room <= 0 || this.#holed || bytes.length === 0) return;
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
  }

  /** Bytes that were never seen (a capture gap): nothing after them is kept. */
  hole(): void {
    this.#holed = true;
  }

  /** The kept bytes, or null when none. */
  result(): Buffer | null {
    if (this.#buf === null || this.#kept === 0) return null;
    return this.#buf.subarray(0, this.#kept);
  }
}
