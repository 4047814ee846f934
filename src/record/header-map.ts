/**
 * Header maps as GOST records them: Go's canonical MIME keys, one value per header line.
 */
import type { HeaderMap } from './record-types.ts';

// RFC 9110 §5.6.2 token characters.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

const HYPHEN = 0x2d;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const LOWER_A = 0x61;
const LOWER_Z = 0x7a;
const CASE_BIT = 0x20;

/**
 * Non-canonical names seen recently → their canonical form. HTTP/2 names arrive lower-case
 * (`content-type`), so the same few dozen are converted over and over. Bounded: emptied when full,
 * so a peer sending endless new names costs a rebuild now and then, not memory.
 */
const canonicalCache = new Map<string, string>();
const CANONICAL_CACHE_MAX = 512;

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: when `name` is a valid token, upper-case the first letter
 * and every letter after `-`, lower-case the rest (`sec-websocket-key` → `Sec-Websocket-Key`).
 * Names with invalid bytes are returned unchanged.
 */
export function canonicalHeaderKey(name: string): string {
  // Fast path: a valid token already in canonical form (the usual HTTP/1 name) is returned as it
  // is after one scan; the first letter in the wrong case hands over to the cache or the rewrite.
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) return name;
    if (upper ? c >= LOWER_A && c <= LOWER_Z : c >= UPPER_A && c <= UPPER_Z) {
      let key = canonicalCache.get(name);
      if (key === undefined) {
        key = rewriteCanonical(name);
        if (canonicalCache.size >= CANONICAL_CACHE_MAX) canonicalCache.clear();
        canonicalCache.set(name, key);
      }
      return key;
    }
    upper = c === HYPHEN;
  }
  return name;
}

/** The canonical form of a name with at least one letter in the wrong case; unchanged if invalid. */
function rewriteCanonical(name: string): string {
  let upper = true;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) return name;
    let o = c;
    if (upper && c >= LOWER_A && c <= LOWER_Z) o = c - CASE_BIT;
    else if (!upper && c >= UPPER_A && c <= UPPER_Z) o = c + CASE_BIT;
    out += String.fromCharCode(o);
    upper = c === HYPHEN;
  }
  return out;
}

/** Adds one header line under its canonical key, and returns that key. */
export function addHeader(map: HeaderMap, name: string, value: string): string {
  const key = canonicalHeaderKey(name);
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
  return key;
}
