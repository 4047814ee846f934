/**
 * Opens Initial packets of one direction: removes header protection (RFC 9001 §5.4, AES-based,
 * §5.4.3) and decrypts the payload with AEAD_AES_128_GCM (§5.3). The datagram is only read; the
 * unprotected header is rebuilt in a small copy that serves as the AEAD's associated data.
 */
import { createCipheriv, createDecipheriv, type Cipher } from 'node:crypto';
import type { InitialPacketKeys } from './quic-initial-keys.ts';
import type { LongHeader } from './quic-long-header.ts';

/** The header protection sample is 16 bytes, taken 4 bytes after the Packet Number starts. */
const SAMPLE_BYTES = 16;
const SAMPLE_OFFSET = 4;
const TAG_BYTES = 16;
/** Long header: the low 4 bits of the first byte are protected (§5.4.1). */
const LONG_HEADER_PROTECTED_BITS = 0x0f;
/** Reserved Bits, which must be 0 once protection is removed (RFC 9000 §17.2). */
const RESERVED_BITS = 0x0c;
const PN_LENGTH_BITS = 0x03;

export type OpenResult =
  { ok: true; payload: Buffer; packetNumber: number } | { ok: false; error: string };

export class InitialOpener {
  readonly #key: Buffer;
  readonly #iv: Buffer;
  /** AES-128-ECB over one block at a time: reusable for every packet. */
  readonly #hp: Cipher;

  constructor(keys: InitialPacketKeys) {
    this.#key = keys.key;
    this.#iv = keys.iv;
    this.#hp = createCipheriv('aes-128-ecb', keys.hp, null).setAutoPadding(false);
  }

  /** `largestPn`: the largest packet number opened so far in this direction, -1 for none. */
  open(datagram: Buffer, h: LongHeader, largestPn: number): OpenResult {
    const sampleAt = h.pnOffset + SAMPLE_OFFSET;
    if (sampleAt + SAMPLE_BYTES > h.end) return { ok: false, error: 'packet_too_short' };
    const mask = this.#hp.update(datagram.subarray(sampleAt, sampleAt + SAMPLE_BYTES));
    const first = datagram[h.start]! ^ (mask[0]! & LONG_HEADER_PROTECTED_BITS);
    const pnLength = (first & PN_LENGTH_BITS) + 1;
    const payloadAt = h.pnOffset + pnLength;
    if (payloadAt + TAG_BYTES > h.end) return { ok: false, error: 'packet_too_short' };

    const header = Buffer.from(datagram.subarray(h.start, payloadAt));
    header[0] = first;
    const pnAt = h.pnOffset - h.start;
    let truncatedPn = 0;
    for (let i = 0; i < pnLength; i++) {
      const b = header[pnAt + i]! ^ mask[1 + i]!;
      header[pnAt + i] = b;
      truncatedPn = truncatedPn * 256 + b;
    }
    const packetNumber = decodePacketNumber(largestPn, truncatedPn, pnLength * 8);

    const decipher = createDecipheriv('aes-128-gcm', this.#key, this.#nonce(packetNumber));
    decipher.setAAD(header);
    decipher.setAuthTag(datagram.subarray(h.end - TAG_BYTES, h.end));
    let payload: Buffer;
    try {
      payload = decipher.update(datagram.subarray(payloadAt, h.end - TAG_BYTES));
      decipher.final(); // throws when the tag does not match
    } catch {
      return { ok: false, error: 'decrypt_failed' };
    }
    if ((first & RESERVED_BITS) !== 0) return { ok: false, error: 'reserved_bits_set' };
    return { ok: true, payload, packetNumber };
  }

  /** The IV with the packet number XORed into its low bytes, left-padded (RFC 9001 §5.3). */
  #nonce(pn: number): Buffer {
    const nonce = Buffer.from(this.#iv);
    const end = nonce.length;
    const low = pn % 2 ** 32;
    const high = Math.floor(pn / 2 ** 32);
    nonce.writeUInt32BE((nonce.readUInt32BE(end - 4) ^ low) >>> 0, end - 4);
    nonce.writeUInt32BE((nonce.readUInt32BE(end - 8) ^ high) >>> 0, end - 8);
    return nonce;
  }
}

/**
 * The full packet number closest to the next expected one (RFC 9000 Appendix A.3). Plain arithmetic
 * instead of bit operations: packet numbers exceed 32 bits.
 */
export function decodePacketNumber(largestPn: number, truncatedPn: number, bits: number): number {
  const expected = largestPn + 1;
  const win = 2 ** bits;
  const halfWin = win / 2;
  const candidate = expected - (expected % win) + truncatedPn;
  if (candidate <= expected - halfWin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + halfWin && candidate >= win) return candidate - win;
  return candidate;
}
