/**
 * Message body length (RFC 9112 §6.3) and the `contentLength` GOST records, which is Go's
 * `net/http` value: the Content-Length header, -1 for chunked or read-until-close bodies, 0 for a
 * request without either and for responses that cannot have a body.
 *
 * Also applies the header edits Go makes while reading the framing, so the recorded header map is
 * the one GOST sees: `Transfer-Encoding` removed, `Content-Length` removed when Transfer-Encoding
 * is present, repeated identical Content-Length lines collapsed into one.
 */
import type { HeaderMap } from '../../record/record-types.ts';
import { listMembers } from './http1-syntax.ts';

export const BodyKind = {
  /** No body: the message ends with its head. */
  None: 0,
  /** Content-Length bytes. */
  Length: 1,
  /** Transfer-Encoding chunked (RFC 9112 §7.1). */
  Chunked: 2,
  /** Everything until the server closes (responses only). */
  UntilClose: 3,
} as const;
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind];

export interface Framing {
  kind: BodyKind;
  /** Body bytes for `Length`. */
  length: number;
  /** What GOST records as `contentLength` (before body capture overwrites it). */
  contentLength: number;
}

/** A framing that cannot be trusted: a stable parse-error code. */
export type FramingError = 'bad_content_length' | 'bad_transfer_encoding';

const CONTENT_LENGTH = 'Content-Length';
const TRANSFER_ENCODING = 'Transfer-Encoding';
/** Digits accepted in a Content-Length: up to 2^53 − 1 stays exact in a double. */
const MAX_CONTENT_LENGTH_DIGITS = 15;
const ABSENT = -1;
const INVALID = -2;

/** Framing of a request body (RFC 9112 §6.3 items 4–6). */
export function requestFraming(
  header: HeaderMap,
  onError: (code: string) => void,
): Framing | FramingError {
  const chunked = takeTransferEncoding(header, onError);
  if (chunked === false) return 'bad_transfer_encoding'; // §6.3 (4): final coding not chunked
  if (chunked) return { kind: BodyKind.Chunked, length: 0, contentLength: -1 };
  const n = contentLength(header);
  if (n === INVALID) return 'bad_content_length'; // §6.3 (5): unrecoverable
  if (n === ABSENT) return { kind: BodyKind.None, length: 0, contentLength: 0 }; // §6.3 (6)
  return { kind: n === 0 ? BodyKind.None : BodyKind.Length, length: n, contentLength: n };
}

/** Framing of a response to a `method` request (RFC 9112 §6.3 items 1–7). */
export function responseFraming(
  header: HeaderMap,
  status: number,
  method: string,
  onError: (code: string) => void,
): Framing | FramingError {
  const chunked = takeTransferEncoding(header, onError);
  // §6.3 (1): HEAD, 1xx, 204 and 304 responses end with their head. Go still reports a HEAD
  // response's Content-Length, and 0 for the others.
  if (method === 'HEAD') {
    const n = chunked === null ? contentLength(header) : ABSENT;
    return { kind: BodyKind.None, length: 0, contentLength: n < 0 ? -1 : n };
  }
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    return { kind: BodyKind.None, length: 0, contentLength: 0 };
  }
  // §6.3 (2): a 2xx to CONNECT switches to a tunnel; its Content-Length is to be ignored
  // (RFC 9110 §9.3.6).
  if (method === 'CONNECT' && status >= 200 && status < 300) {
    return { kind: BodyKind.None, length: 0, contentLength: 0 };
  }
  if (chunked) return { kind: BodyKind.Chunked, length: 0, contentLength: -1 };
  // §6.3 (3): another final coding: the body runs until the connection closes.
  if (chunked === false) return { kind: BodyKind.UntilClose, length: 0, contentLength: -1 };
  const n = contentLength(header);
  if (n === INVALID) return 'bad_content_length';
  if (n === ABSENT) return { kind: BodyKind.UntilClose, length: 0, contentLength: -1 }; // §6.3 (7)
  return { kind: n === 0 ? BodyKind.None : BodyKind.Length, length: n, contentLength: n };
}

/**
 * Removes Transfer-Encoding (and a Content-Length beside it, RFC 9112 §6.3 (3)) from `header`.
 * Returns null when there was none, true when the final coding is chunked, false otherwise.
 */
function takeTransferEncoding(header: HeaderMap, onError: (code: string) => void): boolean | null {
  const values = header.get(TRANSFER_ENCODING);
  if (values === undefined) return null;
  header.delete(TRANSFER_ENCODING);
  if (header.delete(CONTENT_LENGTH)) onError('te_with_content_length'); // smuggling sign (§6.3 (3))
  const codings = listMembers(values);
  return codings.length > 0 && codings[codings.length - 1] === 'chunked';
}

/**
 * The Content-Length value, ABSENT, or INVALID when a value is not 1*DIGIT or the values differ
 * (RFC 9110 §8.6 lets a recipient accept a list of identical values). Identical lines are
 * collapsed to one in `header`, as Go does.
 */
function contentLength(header: HeaderMap): number {
  const values = header.get(CONTENT_LENGTH);
  if (values === undefined) return ABSENT;
  // The common case, one line of bare digits, without splitting and trimming.
  if (values.length === 1) {
    const n = bareDigits(values[0]!);
    if (n !== INVALID) return n;
  }
  let result = ABSENT;
  for (const v of values) {
    for (const member of v.split(',')) {
      const n = parseDigits(member.trim());
      if (n === INVALID || (result !== ABSENT && n !== result)) return INVALID;
      result = n;
    }
  }
  if (values.length > 1) header.set(CONTENT_LENGTH, [values[0]!.trim()]);
  return result;
}

/** `s` when it is 1..15 ASCII digits and nothing else, else INVALID (the caller looks closer). */
function bareDigits(s: string): number {
  const len = s.length;
  if (len === 0 || len > MAX_CONTENT_LENGTH_DIGITS) return INVALID;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return INVALID;
    n = n * 10 + d;
  }
  return n;
}

function parseDigits(s: string): number {
  if (s.length === 0 || s.length > MAX_CONTENT_LENGTH_DIGITS || !/^\d+$/.test(s)) return INVALID;
  return Number(s);
}
