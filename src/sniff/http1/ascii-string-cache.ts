/**
 * Strings for short ASCII byte runs that recur: HTTP/1 field names and most field values
 * (`Server: nginx`, `Connection: keep-alive`, a client's `User-Agent`) repeat message after message.
 * Decoding each occurrence costs a native call and a new string; a hit here costs a comparison of
 * the cached string with the bytes, and hands back a string whose hash V8 already knows (Map
 * lookups by it skip hashing).
 *
 * Direct-mapped: the caller's hash of the bytes picks one slot, a miss overwrites it. Memory is
 * bounded by slots × MAX_CACHED_BYTES whatever the traffic; an attacker cycling through distinct
 * values only turns hits into misses.
 */
import { latin1 } from '../buffer-text.ts';

/** Longer runs are decoded every time (long cookies and URLs rarely repeat byte for byte). */
export const MAX_CACHED_BYTES = 96;

/** FNV-1a step: `h = fnvStep(h, byte)` over the bytes, starting from FNV_SEED. */
export const FNV_SEED = 0x811c9dc5 | 0;
export function fnvStep(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

export class AsciiStringCache {
  readonly #strings: string[];
  readonly #mask: number;

  /** `slots` must be a power of two. */
  constructor(slots: number) {
    if (slots <= 0 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`ascii-string-cache: slots must be a power of two: ${slots}`);
    }
    this.#strings = new Array<string>(slots).fill('');
    this.#mask = slots - 1;
  }

  /**
   * `bytes[start, end)`, all below 0x80 and at most MAX_CACHED_BYTES long, as a string; `hash` is
   * the FNV-1a hash of exactly those bytes.
   */
  get(bytes: Buffer, start: number, end: number, hash: number): string {
    const slot = hash & this.#mask;
    const cached = this.#strings[slot]!;
    const n = end - start;
    if (cached.length === n) {
      let i = 0;
      while (i < n && cached.charCodeAt(i) === bytes[start + i]) i++;
      if (i === n) return cached;
    }
    const fresh = latin1(bytes, start, end);
    this.#strings[slot] = fresh;
    return fresh;
  }
}
