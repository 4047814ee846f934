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

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: when `name` is a valid token, upper-case the first letter
 * and every letter after `-`, lower-case the rest (`sec-websocket-key` → `Sec-Websocket-Key`).
 * Names with invalid bytes are returned unchanged.
 */
export function canonicalHeaderKey(name: string): string {
  let upper = true;
  let out = '';
  let changed = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) return name;
    let o = c;
    if (upper && c >= 0x61 && c <= 0x7a) o = c - 32;
    else if (!upper && c >= 0x41 && c <= 0x5a) o = c + 32;
    if (o !== c) changed = true;
    out += String.fromCharCode(o);
    upper = c === 0x2d;
  }
  return changed ? out : name;
}

/** Adds one header line under its canonical key. */
export function addHeader(map: HeaderMap, name: string, value: string): void {
  const key = canonicalHeaderKey(name);
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}
