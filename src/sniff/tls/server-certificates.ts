/**
 * The Certificate handshake message of TLS ≤ 1.2 (RFC 5246 §7.4.2), where the server chain still
 * travels in the clear, decoded into CertificateRecords with node:crypto's X509Certificate.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { CertificateRecord } from '../../record/record-types.ts';
import { goIpString } from '../client-ip.ts';
import { ByteReader } from './byte-reader.ts';

/** Most certificates decoded from one chain (real chains hold 2–4). */
export const MAX_CERTIFICATES = 16;
/**
 * Decoded certificates remembered, by SHA-256 of the DER. A sensor sees the same few chains over
 * and over, and X509Certificate costs about 0.3 ms per certificate.
 */
export const MAX_CACHED_CERTIFICATES = 512;

const cache = new Map<string, CertificateRecord>();

export interface CertificatesResult {
  certificates: CertificateRecord[];
  error: string | null;
}

/** Decodes `opaque ASN.1Cert<1..2^24-1>; ASN.1Cert certificate_list<0..2^24-1>`. */
export function parseCertificateMessage(body: Buffer): CertificatesResult {
  const certificates: CertificateRecord[] = [];
  const r = new ByteReader(body);
  const list = r.vec24();
  if (r.truncated() || r.remaining > 0) return { certificates, error: 'bad_certificate_list' };
  let error: string | null = null;
  while (list.remaining > 0) {
    const der = list.vec24();
    if (list.truncated()) return { certificates, error: error ?? 'bad_certificate_list' };
    if (certificates.length === MAX_CERTIFICATES) continue;
    const cert = certificateRecord(der.bytes(der.remaining));
    if (cert === null) error ??= 'bad_certificate';
    else certificates.push(cert);
  }
  return { certificates, error };
}

/** One DER certificate → record (a fresh object each time); null when OpenSSL cannot parse it. */
export function certificateRecord(der: Buffer): CertificateRecord | null {
  const sha256 = createHash('sha256').update(der).digest('hex');
  let cert = cache.get(sha256);
  if (cert === undefined) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch {
      return null;
    }
    cert = {
      subject: rfc2253(x509.subject),
      issuer: rfc2253(x509.issuer),
      sans: subjectAltNames(x509.subjectAltName),
      notBefore: isoTime(x509.validFrom),
      notAfter: isoTime(x509.validTo),
      serial: x509.serialNumber.toLowerCase(),
      sha256,
    };
    // Oldest first out: a Map iterates in insertion order.
    if (cache.size === MAX_CACHED_CERTIFICATES) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(sha256); // re-inserted below as the most recent
  }
  cache.set(sha256, cert);
  return { ...cert, sans: cert.sans.slice() };
}

/**
 * Node prints a name one attribute per line, most significant first, with RFC 2253 escaping
 * (`O=Acme\, Inc.`). RFC 2253 §2.1 writes the RDNs last to first, comma separated — the form of
 * Go's pkix.Name.String() and `openssl -nameopt RFC2253`.
 */
function rfc2253(multiline: string): string {
  return multiline.split('\n').reverse().join(',');
}

/** OpenSSL's `Jan  1 00:00:00 2030 GMT` → RFC 3339 `2030-01-01T00:00:00Z` ('' if unreadable). */
function isoTime(openssl: string): string {
  const ms = Date.parse(openssl);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString().replace('.000Z', 'Z');
}

const SAN_DNS = 'DNS:';
const SAN_IP = 'IP Address:';

/**
 * DNS names and IP addresses from Node's subjectAltName text: `DNS:a, IP Address:10.0.0.1, …`,
 * where a value holding a separator is written as a JSON string (`DNS:"b\u002c c"`).
 */
function subjectAltNames(text: string | null | undefined): string[] {
  const out: string[] = [];
  // Node's typings say string | undefined, but it gives null when OpenSSL cannot print a
  // malformed extension (found by the fuzzer: test/fuzz/crashes/tls-95e6b2829ed42d2f.bin).
  if (text === undefined || text === null) return out;
  let pos = 0;
  while (pos < text.length) {
    const colon = text.indexOf(':', pos);
    if (colon < 0) break;
    const prefix = text.slice(pos, colon + 1);
    let value: string;
    let next: number;
    if (text.charCodeAt(colon + 1) === 0x22 /* " */) {
      const close = closingQuote(text, colon + 2);
      value = decodeJsonString(text.slice(colon + 1, close + 1));
      next = close + 1;
    } else {
      const sep = text.indexOf(', ', colon + 1);
      next = sep < 0 ? text.length : sep;
      value = text.slice(colon + 1, next);
    }
    if (prefix === SAN_DNS) out.push(value);
    // Node prints IPv6 in full, upper case; Go's x509 (and so GOST) the RFC 5952 way.
    else if (prefix === SAN_IP) out.push(goIpString(value) || value);
    pos = next + 2;
  }
  return out;
}

/** Index of the quote closing a JSON string whose body starts at `from` (the last index if none). */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i;
  }
  return text.length - 1;
}

function decodeJsonString(quoted: string): string {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : quoted;
  } catch {
    return quoted;
  }
}
