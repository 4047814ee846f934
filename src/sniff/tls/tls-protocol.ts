/**
 * TLS wire constants the sniffers need (RFC 8446, RFC 5246, IANA TLS registries), and the small
 * predicates on them.
 */

/** Record content types (RFC 8446 §5.1). */
export const ContentType = {
  ChangeCipherSpec: 20,
  Alert: 21,
  Handshake: 22,
  ApplicationData: 23,
  /** RFC 6520. */
  Heartbeat: 24,
} as const;

/** Handshake message types (RFC 8446 §4, RFC 5246 §7.4). */
export const HandshakeType = {
  ClientHello: 1,
  ServerHello: 2,
  Certificate: 11,
  ServerHelloDone: 14,
} as const;

/** Extension types (IANA "TLS ExtensionType Values"). */
export const ExtensionType = {
  ServerName: 0,
  SupportedGroups: 10,
  EcPointFormats: 11,
  SignatureAlgorithms: 13,
  Alpn: 16,
  SupportedVersions: 43,
  KeyShare: 51,
} as const;

/** Protocol versions on the wire. */
export const TlsVersion = {
  Ssl3: 0x0300,
  Tls10: 0x0301,
  Tls11: 0x0302,
  Tls12: 0x0303,
  Tls13: 0x0304,
} as const;

/** TLSPlaintext header: type (1), legacy_record_version (2), length (2). */
export const RECORD_HEADER_BYTES = 5;
/** Handshake header: msg_type (1), length (3). */
export const HANDSHAKE_HEADER_BYTES = 4;
/** Largest record body accepted: TLSCiphertext.length ≤ 2^14 + 2048 (RFC 5246 §6.2.3). */
export const MAX_RECORD_BODY_BYTES = 16384 + 2048;

/**
 * ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
 */
export const HELLO_RETRY_REQUEST_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

/**
 * GREASE values (RFC 8701 §2): 0x0a0a, 0x1a1a, … 0xfafa — both bytes equal, low nibble 0xa.
 * Used for cipher suites, extensions, groups, versions and signature algorithms alike.
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}
