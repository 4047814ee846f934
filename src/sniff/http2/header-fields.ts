/**
 * The fields of one decoded header block: pseudo-headers (RFC 9113 §8.3) picked out, regular fields
 * in a GOST header map (canonical keys, one value per field, arrival order).
 */
import { addHeader } from '../../record/header-map.ts';
import type { HeaderMap } from '../../record/record-types.ts';
import { MAX_HEADER_LIST_BYTES } from './http2-limits.ts';

/** Per-field overhead in the header list size (RFC 9113 §6.5.2, RFC 7541 §4.1). */
const FIELD_OVERHEAD_BYTES = 32;

/** hpack.js returns one char per wire octet; anything above ASCII needs a UTF-8 decode. */
const NON_ASCII = /[\x80-\xff]/;

/** Wire octets (one per char) as UTF-8 text, invalid sequences as U+FFFD. */
function utf8(octets: string): string {
  return NON_ASCII.test(octets) ? Buffer.from(octets, 'latin1').toString('utf8') : octets;
}

export class HeaderBlockFields {
  method = '';
  scheme = '';
  authority: string | null = null;
  path: string | null = null;
  /** `:status` as sent ('' when absent). */
  status = '';
  /** The first `host` field: the request host when `:authority` is absent (RFC 9113 §8.3.1). */
  host: string | null = null;
  /** Regular fields; `host` and `transfer-encoding` are left out, as GOST records them (§1.2). */
  readonly header: HeaderMap = new Map();
  /** Header list size of the fields kept. */
  bytes = 0;
  /** Fields past MAX_HEADER_LIST_BYTES were dropped. */
  truncated = false;

  /** Adds one decoded field; `name` and `value` hold wire octets, one per char. */
  add(rawName: string, rawValue: string): void {
    const size = rawName.length + rawValue.length + FIELD_OVERHEAD_BYTES;
    if (this.truncated || this.bytes + size > MAX_HEADER_LIST_BYTES) {
      this.truncated = true;
      return;
    }
    this.bytes += size;
    const name = utf8(rawName);
    const value = utf8(rawValue);
    if (name.startsWith(':')) {
      switch (name) {
        case ':method':
          this.method = value;
          break;
        case ':scheme':
          this.scheme = value;
          break;
        case ':authority':
          this.authority = value;
          break;
        case ':path':
          this.path = value;
          break;
        case ':status':
          this.status = value;
          break;
        // Others (`:protocol`, RFC 8441) have no place in the record.
      }
      return;
    }
    if (name === 'host') this.host ??= value;
    else if (name !== 'transfer-encoding') addHeader(this.header, name, value);
  }

  /** `:status` as a number, 0 when absent or not three digits. */
  statusCode(): number {
    return /^\d{3}$/.test(this.status) ? Number(this.status) : 0;
  }
}
