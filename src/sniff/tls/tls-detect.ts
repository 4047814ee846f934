/**
 * Content detection for the dispatcher: do a connection's first client bytes open a TLS handshake?
 */
import { ContentType, HandshakeType, MAX_RECORD_BODY_BYTES, TlsVersion } from './tls-protocol.ts';

/** Bytes needed before an answer can be true: content type and record version. */
const MIN_DETECT_BYTES = 3;

/**
 * True when `data` starts like a TLS record carrying a ClientHello: content type 22, record version
 * 0x0300–0x0304, and — when those bytes are present — a plausible length and handshake type 1.
 * (GOST's own detector requires 0x0301–0x0304, so it misses SSLv3 clients; gost-compat.md §2.2.)
 * An SSL 2.0-compatible hello is not recognised.
 */
export function looksLikeTlsClientHello(data: Buffer): boolean {
  if (data.length < MIN_DETECT_BYTES) return false;
  if (data[0] !== ContentType.Handshake || data[1] !== 3 || data[2]! > (TlsVersion.Tls13 & 0xff)) {
    return false;
  }
  if (data.length >= 5) {
    const length = data.readUInt16BE(3);
    if (length === 0 || length > MAX_RECORD_BODY_BYTES) return false;
  }
  return data.length < 6 || data[5] === HandshakeType.ClientHello;
}
