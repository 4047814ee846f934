/**
 * Byte-level grammar pieces of RFC 9110 / RFC 9112 shared by the start-line and field parsers.
 */
import { utf8 } from '../buffer-text.ts';

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
const HTAB = 0x09;
export const COLON = 0x3a;

/** RFC 9110 §5.6.2: tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Is `byte` a tchar? */
export function isTchar(byte: number): boolean {
  return TCHAR[byte] === 1;
}

/** RFC 9110 §5.6.2: token = 1*tchar, over `bytes[start, end)`. */
export function isToken(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (TCHAR[bytes[i]!] !== 1) return false;
  return true;
}

/** RFC 9110 §5.6.3: OWS = *( SP / HTAB ). */
export function isOws(byte: number): boolean {
  return byte === SP || byte === HTAB;
}

/** `bytes[start, end)` with leading and trailing OWS removed, decoded as UTF-8 (U+FFFD if invalid). */
export function owsTrimmedUtf8(bytes: Buffer, start: number, end: number): string {
  while (start < end && isOws(bytes[start]!)) start++;
  while (end > start && isOws(bytes[end - 1]!)) end--;
  return utf8(bytes, start, end);
}

/** Offset of the first `byte` in `bytes[start, end)`, or -1 (never looks past `end`). */
export function indexIn(bytes: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (bytes[i] === byte) return i;
  return -1;
}

/** Comma-separated list members (RFC 9110 §5.6.1), trimmed and lower-cased, empty ones dropped. */
export function listMembers(values: readonly string[] | undefined): string[] {
  const out: string[] = [];
  if (values === undefined) return out;
  for (const v of values) {
    for (const member of v.split(',')) {
      const m = member.trim().toLowerCase();
      if (m !== '') out.push(m);
    }
  }
  return out;
}

const SEMICOLON = 0x3b;
/** Above this a chunk size would pass 2^53 − 1 with one more hex digit. */
const MAX_CHUNK_SIZE_BEFORE_DIGIT = (Number.MAX_SAFE_INTEGER - 15) / 16;

/**
 * RFC 9112 §7.1: `chunk-size [ chunk-ext ]` in `line[start, end)` (line ending removed). Extensions
 * are skipped: after the hex digits only BWS and a `;` may follow. Returns -1 when malformed or
 * past 2^53 − 1.
 */
export function parseChunkSize(line: Uint8Array, start = 0, end = line.length): number {
  let size = 0;
  let i = start;
  for (; i < end; i++) {
    const digit = hexValue(line[i]!);
    if (digit < 0) break;
    if (size > MAX_CHUNK_SIZE_BEFORE_DIGIT) return -1;
    size = size * 16 + digit;
  }
  if (i === start) return -1;
  while (i < end && isOws(line[i]!)) i++; // BWS before a chunk-ext (§7.1.1)
  return i === end || line[i] === SEMICOLON ? size : -1;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
