/**
 * Proxy authentication: username/password pairs from `auth` / `auther` (gost-compat.md §5.3).
 * Comparisons run over SHA-256 digests with timingSafeEqual, against every configured user, so the
 * time taken says nothing about which part of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Credentials } from './gateway-config.ts';

function digest(username: string, password: string): Buffer {
  return createHash('sha256').update(`${username}\u0000${password}`, 'utf8').digest();
}

/** True when the pair is one of `users`. */
export function authenticate(
  users: readonly Credentials[],
  username: string,
  password: string,
): boolean {
  const given = digest(username, password);
  let ok = false;
  for (const u of users) if (timingSafeEqual(given, digest(u.username, u.password))) ok = true;
  return ok;
}

/**
 * The user of an HTTP `Proxy-Authorization: Basic …` value (RFC 7617) when it names one of
 * `users`; null otherwise (absent, another scheme, malformed, wrong password).
 */
export function basicProxyUser(
  users: readonly Credentials[],
  values: readonly string[] | undefined,
): string | null {
  const value = values?.[0];
  if (value === undefined) return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (m === null) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const username = decoded.slice(0, colon);
  return authenticate(users, username, decoded.slice(colon + 1)) ? username : null;
}
