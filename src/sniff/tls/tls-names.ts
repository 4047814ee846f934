/**
 * The names GOST writes for TLS versions and cipher suites (gost-compat.md §1.5).
 */
import { CIPHER_SUITE_NAMES } from './cipher-suite-names.ts';
import { TlsVersion } from './tls-protocol.ts';

/** `sslv3`, `tls1.0` … `tls1.3`; any other value as a decimal string. */
export function tlsVersionName(version: number): string {
  switch (version) {
    case TlsVersion.Ssl3:
      return 'sslv3';
    case TlsVersion.Tls10:
      return 'tls1.0';
    case TlsVersion.Tls11:
      return 'tls1.1';
    case TlsVersion.Tls12:
      return 'tls1.2';
    case TlsVersion.Tls13:
      return 'tls1.3';
    default:
      return String(version);
  }
}

/** The IANA (= Go) name of a cipher suite; unknown ids as a decimal string. */
export function cipherSuiteName(id: number): string {
  return CIPHER_SUITE_NAMES.get(id) ?? String(id);
}
