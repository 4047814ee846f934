/**
 * The client address a proxy or CDN put into request headers, as GOST picks it (gost-compat §1.1
 * #12): the first non-empty of `CF-Connecting-IP`, the first `X-Forwarded-For` element and
 * `X-Real-Ip`, used only when it parses as an IP address.
 */
import { isIP } from 'node:net';
import type { HeaderMap } from '../../record/record-types.ts';

/** '' when no header names a valid address. Keys are canonical (header-map.ts). */
export function clientIpFromHeader(header: HeaderMap): string {
  let ip = header.get('Cf-Connecting-Ip')?.[0]?.trim() ?? '';
  if (ip === '') ip = header.get('X-Forwarded-For')?.[0]?.split(',')[0]?.trim() ?? '';
  if (ip === '') ip = header.get('X-Real-Ip')?.[0]?.trim() ?? '';
  return isIP(ip) !== 0 ? ip : '';
}
