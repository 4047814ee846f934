/**
 * Request and status lines (RFC 9112 §3, §4), read leniently the way a passive sensor must: the
 * method has to be a token, the rest is taken as sent and judged separately (`isHttpVersion`), so a
 * request like `GET /HTTP/1.1` or `OPTIONS` still yields a record that a server may well answer.
 */
import { latin1, utf8 } from '../buffer-text.ts';
import { indexIn, isToken, SP } from './http1-syntax.ts';

export interface RequestLine {
  method: string;
  /** Request-target as received (may be '' when the line has no target). */
  uri: string;
  /** HTTP-version as received ('' when the line has none). */
  version: string;
}

export interface StatusLine {
  version: string;
  status: number;
}

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const UNDERSCORE = 0x5f;
const HYPHEN = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** `HTTP/` */
const HTTP_NAME = Buffer.from('HTTP/', 'latin1');
const HTTP_NAME_LENGTH = HTTP_NAME.length;

/**
 * `line[start, end)` is the request line without its line ending (parsed in place: `line` may be
 * a whole chunk). Returns null when it cannot be a request: the method is not a token, or a line
 * without any space is not an upper-case method name alone (tshark and servers treat a bare
 * `OPTIONS` as a request; a bare `abc` is more likely noise).
 */
export function parseRequestLine(line: Buffer, start = 0, end = line.length): RequestLine | null {
  const sp1 = indexIn(line, SP, start, end);
  if (sp1 < 0) {
    if (!isUpperMethod(line, start, end)) return null;
    return { method: latin1(line, start, end), uri: '', version: '' };
  }
  if (!isToken(line, start, sp1)) return null;
  const method = latin1(line, start, sp1);
  const sp2 = indexIn(line, SP, sp1 + 1, end);
  if (sp2 < 0) return { method, uri: utf8(line, sp1 + 1, end), version: '' };
  return {
    method,
    uri: utf8(line, sp1 + 1, sp2),
    version: latin1(line, sp2 + 1, end),
  };
}

/**
 * `line[start, end)` is the status line without its line ending: `HTTP/x.y SP 3DIGIT [SP reason]`.
 * The version is only required to start with `HTTP/`; the reason phrase may be missing (RFC 9112 §4
 * allows an empty one, and some servers drop the space too).
 */
export function parseStatusLine(line: Buffer, start = 0, end = line.length): StatusLine | null {
  if (end - start < HTTP_NAME_LENGTH) return null;
  for (let i = 0; i < HTTP_NAME_LENGTH; i++) {
    if (line[start + i] !== HTTP_NAME[i]) return null;
  }
  const sp = indexIn(line, SP, start, end);
  if (sp < 0 || end < sp + 4) return null;
  let status = 0;
  for (let i = sp + 1; i < sp + 4; i++) {
    const c = line[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) return null;
    status = status * 10 + (c - DIGIT_0);
  }
  if (end > sp + 4 && line[sp + 4] !== SP) return null;
  return { version: latin1(line, start, sp), status };
}

/** RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT. */
export function isHttpVersion(version: string): boolean {
  return /^HTTP\/\d\.\d$/.test(version);
}

function isUpperMethod(line: Buffer, start: number, end: number): boolean {
  if (end === start) return false;
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if ((c < UPPER_A || c > UPPER_Z) && c !== UNDERSCORE && c !== HYPHEN) return false;
  }
  return true;
}
