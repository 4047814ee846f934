/**
 * Domain names on the wire (RFC 1035 §3.1, §4.1.4): labels, and compression pointers that name an
 * earlier offset of the message. The result is the presentation form miekg prints: labels joined by
 * dots with a trailing dot, special bytes escaped, `.` for the root.
 *
 * Hostile names are cut short, never followed forever:
 * - every pointer must point strictly before the start of the labels it was reached from (the
 *   name's own start, then the previous pointer's target), so each hop moves backwards and a loop
 *   or a forward pointer is impossible (`bad_pointer`);
 * - at most MAX_POINTER_HOPS pointers per name (`too_many_pointers`);
 * - at most 255 wire octets (`name_too_long`); this also bounds the labels to 128 (127 one-byte
 *   labels and the root), so no separate label count is needed.
 */
import type { DnsErrorCode } from './dns-errors.ts';
import { escapeLabel } from './dns-escape.ts';
import type { WireReader } from './dns-wire-reader.ts';

/** RFC 1035 §2.3.4: names are 255 octets or less, length bytes and root included. */
const MAX_NAME_WIRE_OCTETS = 255;
/** Pointers one name may follow. A real compressor needs one. */
export const MAX_POINTER_HOPS = 64;

const LABEL_KIND_MASK = 0xc0;
const LABEL_LITERAL = 0x00;
const LABEL_POINTER = 0xc0;
const POINTER_OFFSET_MASK = 0x3fff;

/**
 * Reads the name at `r.pos` and leaves `r.pos` after it (after the first pointer when compressed).
 * Labels and pointer targets must lie before `r.end`: inside RDATA a name cannot leave the RDATA
 * (miekg reads RDATA from a message cut at its end). On error returns '' with `r.error` set.
 */
export function readName(r: WireReader): string {
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  /** Start of the labels being read: a pointer must aim before it. */
  let runStart = pos;
  /** Where the reader continues: after the first pointer, or after the root label. */
  let resume = -1;
  let hops = 0;
  let wireOctets = 1; // the root label
  const labels: string[] = [];
  for (;;) {
    if (pos >= end) return stop(r, pos, r.shortCode);
    const c = buf[pos]!;
    const kind = c & LABEL_KIND_MASK;
    if (kind === LABEL_LITERAL) {
      if (c === 0) {
        pos++;
        break;
      }
      wireOctets += c + 1;
      if (wireOctets > MAX_NAME_WIRE_OCTETS) return stop(r, pos, 'name_too_long');
      if (pos + 1 + c > end) return stop(r, pos, r.shortCode);
      labels.push(escapeLabel(buf, pos + 1, pos + 1 + c));
      pos += 1 + c;
    } else if (kind === LABEL_POINTER) {
      if (pos + 2 > end) return stop(r, pos, r.shortCode);
      const target = buf.readUInt16BE(pos) & POINTER_OFFSET_MASK;
      // RFC 1035 §4.1.4: a pointer names a *prior* occurrence of the name's tail.
      if (target >= runStart) return stop(r, pos, 'bad_pointer');
      if (++hops > MAX_POINTER_HOPS) return stop(r, pos, 'too_many_pointers');
      if (resume < 0) resume = pos + 2;
      pos = runStart = target;
    } else {
      return stop(r, pos, 'bad_label_type');
    }
  }
  r.pos = resume >= 0 ? resume : pos;
  return labels.length === 0 ? '.' : labels.join('.') + '.';
}

/** Records `code` at `pos` (the offending label or pointer) and gives up on the name. */
function stop(r: WireReader, pos: number, code: DnsErrorCode): string {
  r.pos = pos;
  r.fail(code);
  return '';
}
