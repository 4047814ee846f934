/**
 * Client and server hello fingerprints:
 * - JA3 / JA3S (https://github.com/salesforce/ja3): decimal fields joined by `,`, lists by `-`,
 *   GREASE values (RFC 8701) removed; the hash is the MD5 of the string.
 * - JA4 (FoxIO, technical_details/JA4.md): `<a>_<b>_<c>`, e.g. `t13d1516h2_8daaf6152771_02713d6af862`.
 */
import { createHash } from 'node:crypto';
import type { ClientHello } from './client-hello.ts';
import type { ServerHello } from './server-hello.ts';
import { ExtensionType, isGrease, TlsVersion } from './tls-protocol.ts';

/** JA4's first character: TLS over TCP, QUIC. */
export type Ja4Transport = 't' | 'q';

/** JA4 writes an empty list as twelve zeros instead of hashing nothing. */
const JA4_EMPTY_HASH = '000000000000';
const JA4_HASH_CHARS = 12;
/** Counts are two digits, saturating. */
const JA4_MAX_COUNT = 99;

/** `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`. */
export function ja3String(ch: ClientHello): string {
  return [
    ch.legacyVersion,
    joinNoGrease(ch.cipherSuites),
    joinNoGrease(ch.extensions),
    joinNoGrease(ch.supportedGroups),
    ch.ecPointFormats.join('-'),
  ].join(',');
}

/** `SSLVersion,Cipher,Extensions` of the ServerHello. */
export function ja3sString(sh: ServerHello): string {
  return `${sh.legacyVersion},${sh.cipherSuite},${joinNoGrease(sh.extensions)}`;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

export function ja4(ch: ClientHello, transport: Ja4Transport): string {
  const ciphers = ch.cipherSuites.filter((v) => !isGrease(v));
  const extensions = ch.extensions.filter((v) => !isGrease(v));
  const sni = ch.extensions.includes(ExtensionType.ServerName) ? 'd' : 'i';
  const a =
    transport +
    ja4Version(ch) +
    sni +
    twoDigits(ciphers.length) +
    twoDigits(extensions.length) +
    ja4Alpn(ch.alpnFirst);

  const b = ciphers.length === 0 ? JA4_EMPTY_HASH : sha256Prefix(sortedHex(ciphers));

  // SNI and ALPN are already in part a; dropping them keeps part c stable across destinations.
  const hashed = extensions.filter(
    (v) => v !== ExtensionType.ServerName && v !== ExtensionType.Alpn,
  );
  let c = JA4_EMPTY_HASH;
  if (hashed.length > 0) {
    const sigAlgs = ch.signatureAlgorithms.filter((v) => !isGrease(v));
    const text = sortedHex(hashed) + (sigAlgs.length > 0 ? '_' + sigAlgs.map(hex4).join(',') : '');
    c = sha256Prefix(text);
  }
  return `${a}_${b}_${c}`;
}

/** Highest supported_versions entry (GREASE ignored), else legacy_version. */
function ja4Version(ch: ClientHello): string {
  let version = ch.legacyVersion;
  if (ch.extensions.includes(ExtensionType.SupportedVersions)) {
    version = 0;
    for (const v of ch.supportedVersions) if (!isGrease(v) && v > version) version = v;
  }
  switch (version) {
    case TlsVersion.Tls13:
      return '13';
    case TlsVersion.Tls12:
      return '12';
    case TlsVersion.Tls11:
      return '11';
    case TlsVersion.Tls10:
      return '10';
    case TlsVersion.Ssl3:
      return 's3';
    case 0x0002:
      return 's2';
    default:
      return '00';
  }
}

/**
 * First and last character of the first ALPN name; `00` without one. When either end byte is not
 * an ASCII letter or digit, the first and last characters of the name's hex form instead.
 */
function ja4Alpn(first: Buffer | null): string {
  if (first === null || first.length === 0) return '00';
  const head = first[0]!;
  const tail = first[first.length - 1]!;
  if (isAlnum(head) && isAlnum(tail)) return String.fromCharCode(head, tail);
  const hex = first.toString('hex');
  return hex[0]! + hex[hex.length - 1]!;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function twoDigits(n: number): string {
  return String(Math.min(n, JA4_MAX_COUNT)).padStart(2, '0');
}

function hex4(v: number): string {
  return v.toString(16).padStart(4, '0');
}

function sortedHex(values: number[]): string {
  return values
    .slice()
    .sort((x, y) => x - y)
    .map(hex4)
    .join(',');
}

function sha256Prefix(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, JA4_HASH_CHARS);
}

function joinNoGrease(values: number[]): string {
  return values.filter((v) => !isGrease(v)).join('-');
}
