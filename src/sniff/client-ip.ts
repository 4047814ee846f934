/**
 * Addresses a record takes from HTTP request headers, shared by the HTTP/1 and HTTP/2 sniffers.
 *
 * `clientIP` from proxy headers (x/internal/util/sniffing: GetClientIP; gost-compat §1.1 #12):
 * CF-Connecting-IP, else the first X-Forwarded-For element, else X-Real-Ip. The first of them that
 * is present and non-empty decides; its value is trimmed and parsed as an IP (no fallback to the
 * next header when it does not parse), and printed the way Go's `net.IP.String()` prints it.
 *
 * `hostWithPort`: the record host HTTP/1 builds from the Host header, as GOST does.
 */
import { joinHostPort } from '../record/record-builder.ts';
import { isIP } from 'node:net';
import type { HeaderMap } from '../record/record-types.ts';

/** `::ffff:a.b.c.d` after WHATWG URL serialisation: `::ffff:HHHH:HHHH`. */
const V4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** '' when the deciding header names no valid address. Keys are canonical (header-map.ts). */
export function clientIpFromHeaders(header: HeaderMap): string {
  let candidate = header.get('Cf-Connecting-Ip')?.[0] ?? '';
  if (candidate === '') candidate = header.get('X-Forwarded-For')?.[0]?.split(',')[0] ?? '';
  if (candidate === '') candidate = header.get('X-Real-Ip')?.[0] ?? '';
  return goIpString(candidate.trim());
}

/** `s` as Go's `net.ParseIP(s).String()`, or '' when Go would not parse it. */
export function goIpString(s: string): string {
  const family = isIP(s);
  if (family === 4) return s;
  if (family !== 6 || s.includes('%')) return ''; // Go's ParseIP takes no zone
  // The URL serialiser prints IPv6 the RFC 5952 way, as Go does (lower case, longest zero run).
  const url = URL.parse(`http://[${s}]/`);
  if (url === null) return '';
  const canonical = url.hostname.slice(1, -1);
  const mapped = V4_MAPPED.exec(canonical);
  if (mapped === null) return canonical;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * GOST's record host: `host` unchanged when `net.SplitHostPort` finds a port in it, else
 * `net.JoinHostPort(strings.Trim(host, "[]"), port)`. '' stays '' (no Host header).
 */
export function hostWithPort(host: string, port: number): string {
  if (host === '' || goPortOf(host) !== '') return host;
  const bare = host.replace(/^[[\]]+|[[\]]+$/g, '');
  return joinHostPort(bare, port);
}

/** The port Go's `net.SplitHostPort` returns, '' when it reports an error. */
function goPortOf(hostport: string): string {
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    return close > 0 && hostport[close + 1] === ':' ? hostport.slice(close + 2) : '';
  }
  const colon = hostport.lastIndexOf(':');
  if (colon < 0 || hostport.indexOf(':') !== colon) return ''; // missing port / too many colons
  return hostport.slice(colon + 1);
}
