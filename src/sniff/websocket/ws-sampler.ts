/**
 * Which WebSocket frames get a record: a token bucket per direction, as GOST's
 * `sniffing.websocket.sampleRate` (frames per second). The bucket starts full and holds
 * max(1, floor(rate)) tokens (GOST's burst is floor(rate), which never lets a frame through below
 * 1/s: gost-compat.md §6 #17). A negative rate passes every frame, 0 passes none.
 */
import { nsBetween, type Timestamp } from '../sniffer.ts';

const NS_PER_SECOND = 1e9;

export class FrameSampler {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #last: Timestamp | null = null;

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, Math.floor(ratePerSecond));
    this.#tokens = this.#capacity;
  }

  /** Takes a token for a frame seen at `now`; false when the bucket is empty. */
  take(now: Timestamp): boolean {
    if (this.#rate < 0) return true;
    if (this.#rate === 0) return false;
    const elapsed = this.#last === null ? 0 : nsBetween(this.#last, now);
    // Time that runs backwards (reordered capture timestamps) refills nothing.
    if (this.#last === null || elapsed > 0) {
      this.#tokens = Math.min(
        this.#capacity,
        this.#tokens + (elapsed * this.#rate) / NS_PER_SECOND,
      );
      this.#last = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
