/**
 * The Initial-level CRYPTO stream of one direction (RFC 9000 §19.6): frames carry (offset, bytes)
 * pieces that may arrive out of order, overlap, repeat, and spread over several packets and
 * datagrams (Chrome splits and shuffles its ClientHello on purpose). The sniffer only needs the
 * first handshake message, so pieces are kept until it is complete, then copied out once.
 *
 * Bounds: offsets + lengths ≤ MAX_CRYPTO_BYTES, at most MAX_FRAGMENTS pieces and MAX_CRYPTO_BYTES
 * stored bytes. Pieces are views into decrypted payloads (already private copies).
 */
import { HANDSHAKE_HEADER_BYTES } from '../tls/tls-protocol.ts';

export const MAX_CRYPTO_BYTES = 64 * 1024;
export const MAX_FRAGMENTS = 64;

interface Fragment {
  offset: number;
  data: Buffer;
}

export interface HandshakeMessage {
  msgType: number;
  /** Body after the 4-byte handshake header (a private copy). */
  body: Buffer;
}

export class CryptoStream {
  /** Sorted by offset. */
  readonly #fragments: Fragment[] = [];
  #storedBytes = 0;

  /** Adds one CRYPTO frame's data; returns an error code when a bound is hit (data dropped). */
  insert(offset: number, data: Buffer): string | null {
    if (offset + data.length > MAX_CRYPTO_BYTES) return 'crypto_offset_too_large';
    if (data.length === 0) return null;
    if (
      this.#fragments.length === MAX_FRAGMENTS ||
      this.#storedBytes + data.length > MAX_CRYPTO_BYTES
    ) {
      return 'crypto_buffer_full';
    }
    let at = this.#fragments.length;
    while (at > 0 && this.#fragments[at - 1]!.offset > offset) at--;
    this.#fragments.splice(at, 0, { offset, data });
    this.#storedBytes += data.length;
    return null;
  }

  /**
   * The first handshake message once all its bytes are in; null until then. A declared length
   * past MAX_CRYPTO_BYTES returns the code `handshake_too_long` instead.
   */
  firstMessage(): HandshakeMessage | string | null {
    const contiguous = this.#contiguousBytes();
    if (contiguous < HANDSHAKE_HEADER_BYTES) return null;
    const header = this.#copyPrefix(HANDSHAKE_HEADER_BYTES);
    const total = HANDSHAKE_HEADER_BYTES + header.readUIntBE(1, 3);
    if (total > MAX_CRYPTO_BYTES) return 'handshake_too_long';
    if (contiguous < total) return null;
    return { msgType: header[0]!, body: this.#copyPrefix(total).subarray(HANDSHAKE_HEADER_BYTES) };
  }

  /** How many bytes from offset 0 on are covered without a hole. */
  #contiguousBytes(): number {
    let end = 0;
    for (const f of this.#fragments) {
      if (f.offset > end) break;
      end = Math.max(end, f.offset + f.data.length);
    }
    return end;
  }

  /** Copies stream bytes [0, n); the caller checks they are all present. */
  #copyPrefix(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (const f of this.#fragments) {
      if (f.offset >= n) break;
      f.data.copy(out, f.offset, 0, Math.min(f.data.length, n - f.offset));
    }
    return out;
  }
}
