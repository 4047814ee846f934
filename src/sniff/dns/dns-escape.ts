/**
 * Presentation-format escaping of wire bytes, byte for byte as miekg/dns v1.1.61 prints them.
 * Every function copies: the result never aliases the (borrowed) input.
 *
 * Printable is 0x20–0x7e; everything else becomes `\DDD` (three decimal digits, RFC 1035 §5.1).
 */

const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;

function isPrintable(b: number): boolean {
  return b >= PRINTABLE_MIN && b <= PRINTABLE_MAX;
}

/** `\DDD` for one byte. */
function escapeByte(b: number): string {
  return b < 10 ? `\\00${b}` : b < 100 ? `\\0${b}` : `\\${b}`;
}

/** Bytes a name label escapes with a backslash (miekg `isDomainNameLabelSpecial`). */
function isLabelSpecial(b: number): boolean {
  switch (b) {
    case 0x2e: // .
    case 0x20: // space
    case 0x27: // '
    case 0x40: // @
    case 0x3b: // ;
    case 0x28: // (
    case 0x29: // )
    case 0x22: // "
    case BACKSLASH:
      return true;
    default:
      return false;
  }
}

/** Bytes a character-string escapes with a backslash (inside double quotes). */
function isQuotedSpecial(b: number): boolean {
  return b === 0x22 || b === BACKSLASH;
}

/** Bytes an SvcParam value escapes with a backslash (miekg `svcbParamToStr`). */
function isSvcSpecial(b: number): boolean {
  return b === 0x22 || b === 0x3b || b === 0x20 || b === BACKSLASH;
}

/** Escapes `buf[start, end)`: `special` bytes get a backslash, unprintable ones `\DDD`. */
function escapeRange(
  buf: Buffer,
  start: number,
  end: number,
  special: (b: number) => boolean,
): string {
  let i = start;
  while (i < end && isPrintable(buf[i]!) && !special(buf[i]!)) i++;
  // Common case: nothing to escape, one latin1 decode of the whole range.
  if (i === end) return buf.toString('latin1', start, end);
  const parts: string[] = [buf.toString('latin1', start, i)];
  for (; i < end; i++) {
    const b = buf[i]!;
    if (!isPrintable(b)) parts.push(escapeByte(b));
    else if (special(b)) parts.push('\\', String.fromCharCode(b));
    else parts.push(String.fromCharCode(b));
  }
  return parts.join('');
}

/** One label of a domain name (miekg `UnpackDomainName`). */
export function escapeLabel(buf: Buffer, start: number, end: number): string {
  return escapeRange(buf, start, end, isLabelSpecial);
}

/** The inside of a `"…"` character-string (RFC 1035 §3.3; miekg `unpackString`). */
export function escapeCharString(buf: Buffer, start: number, end: number): string {
  return escapeRange(buf, start, end, isQuotedSpecial);
}

/** A generic SvcParam value (RFC 9460 §2.1; miekg `svcbParamToStr`). */
export function escapeSvcParam(buf: Buffer, start: number, end: number): string {
  return escapeRange(buf, start, end, isSvcSpecial);
}

/**
 * One alpn-id of an `alpn` SvcParam. RFC 9460 §7.1.1 puts a comma-separated list inside a
 * presentation string, so a comma or backslash in an id is escaped twice: miekg writes `\\\044`
 * and `\\\092`.
 */
export function escapeAlpnId(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (!isPrintable(b)) parts.push(escapeByte(b));
    else if (b === 0x2c) parts.push('\\\\\\044');
    else if (b === BACKSLASH) parts.push('\\\\\\092');
    else if (b === 0x22 || b === 0x3b || b === 0x20) parts.push('\\', String.fromCharCode(b));
    else parts.push(String.fromCharCode(b));
  }
  return parts.join('');
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/**
 * A CAA value (RFC 8659 §4.1.1) the way miekg's `sprintTxtOctet` prints the raw bytes: it reads them
 * as if they were already escaped, so `\.` stays, `\DDD` and `\x` collapse to the byte they name and
 * a trailing lone backslash disappears; then `"` and `\` get a backslash and unprintable bytes `\DDD`.
 */
export function escapeOctetString(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  for (let i = start; i < end;) {
    let b = buf[i]!;
    let n = 1;
    if (b === BACKSLASH) {
      const left = end - i;
      if (left === 1) break; // dangling backslash: dropped
      const next = buf[i + 1]!;
      if (next === DOT) {
        parts.push('\\.');
        i += 2;
        continue;
      }
      if (left >= 4 && isDigit(next) && isDigit(buf[i + 2]) && isDigit(buf[i + 3])) {
        // Go computes this in a byte, so it wraps modulo 256.
        b = ((next - 0x30) * 100 + (buf[i + 2]! - 0x30) * 10 + (buf[i + 3]! - 0x30)) & 0xff;
        n = 4;
      } else {
        b = next;
        n = 2;
      }
    }
    if (isQuotedSpecial(b)) parts.push('\\', String.fromCharCode(b));
    else if (!isPrintable(b)) parts.push(escapeByte(b));
    else parts.push(String.fromCharCode(b));
    i += n;
  }
  return parts.join('');
}
